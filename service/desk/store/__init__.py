"""The desk's encrypted store, its keys, backups and recovery shares.

Modules:

- ``backup.py``     Desk backups: the whole desk in one encrypted, authenticated file, and its
                    restore
- ``coalitions.py`` Other coalitions this desk may pass cases to, and the keys it seals them to
- ``couriers.py``   Courier credentials and the signing key, changed from the desk (issue 16)
- ``database.py``   The desk's own store: one SQLite file, every sensitive value encrypted with
                    the store key
- ``keys.py``       The desk's keys: made at the key ceremony, unlocked once per command,
                    rotated by epoch
- ``recovery.py``   Recovery shares: any M of N paper shares open the desk's backups without the
                    passphrase
- ``spare.py``      A spare desk: a second laptop kept in step with the working desk by its
                    backups
- ``statement.py``  ``aryz desk statement``: sign the coalition's key statement for the registry
                    (F-02)
"""
