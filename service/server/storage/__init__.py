"""Database engine, sessions, migrations and the sealed-item store."""
