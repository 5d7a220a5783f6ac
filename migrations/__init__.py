"""Alembic migrations of the server's database (chained; each with upgrade and downgrade).

Modules:

- ``env.py``     Alembic environment
- ``versions/``  The Alembic revisions, ``0001`` onwards
"""
