"""The coalition's air-gapped desk: key ceremony, import, triage, signed answers.

It must run on an offline laptop without the server's settings or web stack:
``tests/desk/test_desk_imports.py`` asserts what it does not import.

- :mod:`service.desk.logic`       the Python API (``init_desk``, ``open_desk`` → ``Desk``)
- :mod:`service.desk.cli`         ``aryz desk …``
- :mod:`service.desk.keys`        key ceremony, unlock, rotation, registry snippet
- :mod:`service.desk.passphrase`  passphrase rules and 7-word suggestions (``words.json``)
- :mod:`service.desk.store`       the encrypted SQLite store; what is in clear and why
- :mod:`service.desk.cases`       decrypted rows: cases, items, notes, outgoing records
- :mod:`service.desk.importer`    bundle import: idempotent, quarantine, reply-key checks
- :mod:`service.desk.export`      signed outbox with per-case sequence numbers
- :mod:`service.desk.strip`       metadata-stripped copies (Pillow, pikepdf)
- :mod:`service.desk.files`       private, durable files (0600, fsync, atomic replace)
- :mod:`service.desk.errors`      the desk's fixed-message errors
"""
