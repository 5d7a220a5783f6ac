"""Database engine, sessions, migrations and the sealed-item store.

Modules:

- ``db.py``       Engines and sessions, set up so that a commit means "on stable storage"
- ``items.py``    Write and read sealed items' ciphertext, in pieces, durably
- ``migrate.py``  Run Alembic migrations programmatically (the CLI's ``aryz db upgrade`` and the
                  tests)
- ``quota.py``    Room for new uploads: bounds per case, per upload and in total, and a free-
                  space reserve, none of which identifies anyone (attack review F4, audit F-16)
"""
