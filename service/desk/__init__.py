"""The coalition's air-gapped desk: key ceremony, import, triage, signed answers, statistics.

It must run on an offline laptop with only its own dependencies (``requirements-desk.lock``):
``tests/test_import_rules.py`` states what it may import and ``tests/test_desk_alone.py``
runs it in such an install.

Modules:

- ``casework/``  The desk's casework: the ``Desk`` facade its two front ends (CLI, local web
                 app) share, case records, signed outboxes
- ``cli/``       The desk's command line: ``aryz-desk …`` (also ``aryz desk …``)
- ``errors.py``  Every failure the desk reports, one small class each
- ``inbox/``     What comes into the desk: bundle import with quarantine, and safe copies of
                 attachments made in a cage
- ``stats/``     Statistics and the legal path: coded facts per questionnaire version, tables
                 with small-cell suppression, charts, published reports
- ``store/``     The desk's encrypted store, its keys, backups and recovery shares
- ``web/``       The desk's pages: triage in a browser, on the air-gapped laptop, on 127.0.0.1
                 only
"""
