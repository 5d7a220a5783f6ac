"""Encrypted backups: the database and registry, and separately the onion keys."""
