"""The coalition's air-gapped desk: key ceremony, import, triage, signed answers.

It must run on an offline laptop without the server's settings or web stack:
``tests/desk/test_desk_imports.py`` asserts what it does not import.

- :mod:`service.desk.casework.desk`       the Python API (``init_desk``, ``open_desk`` → ``Desk``)
- :mod:`service.desk.cli.main`         ``aryz desk …``
- :mod:`service.desk.store.keys`        key ceremony, unlock, rotation, registry snippet
- :mod:`service.desk.store.couriers`    courier credentials, signing-key rotation (registry changes)
- :mod:`service.common.passphrase`  passphrase rules and 7-word suggestions (``words.json``)
- :mod:`service.desk.store.database`       the encrypted SQLite store; what is in clear and why
- :mod:`service.desk.casework.cases`       decrypted rows: cases, items, notes, outgoing records
- :mod:`service.desk.inbox.importer`    bundle import: idempotent, quarantine, reply-key checks
- :mod:`service.desk.casework.export`      signed outbox with per-case sequence numbers
- :mod:`service.desk.inbox.strip`       metadata-stripped copies (Pillow, pikepdf)
- :mod:`service.common.files`       private, durable files (0600, fsync, atomic replace)
- :mod:`service.desk.errors`      the desk's fixed-message errors
"""
