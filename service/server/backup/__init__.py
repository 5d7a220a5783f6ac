"""Encrypted backups: the database and registry, and separately the onion keys.

Modules:

- ``archive.py``   The backup archive: named members in one envelope-v1 item, written and read
                   as streams
- ``cli.py``       ``aryz backup …``: encrypted backups of the database and, separately, the
                   onion keys
- ``database.py``  Consistent database snapshots in, and restores out, for SQLite and PostgreSQL
- ``errors.py``    Every failure ``aryz backup`` reports, one small class each
- ``files.py``     Backup files on disk: created 0600, streamed, fsync'd, then given their name
- ``keys.py``      The operator's backup key pair: X25519, the private half wrapped under a
                   passphrase
- ``logic.py``     Make and restore encrypted backups (the work behind ``aryz backup``)
- ``signing.py``   Backups the server cannot forge (audit F-03): the operator's offline key
                   signs them
"""
