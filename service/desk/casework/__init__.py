"""The desk's casework: the ``Desk`` facade its two front ends (CLI, local web app) share, case
records, signed outboxes.

Modules:

- ``cases.py``         Rows of the desk store, decrypted: cases, items, entries and outgoing
                       records
- ``completeness.py``  Is a case whole? What the items' signed positions say about the server's
                       handling
- ``desk.py``          The desk's Python API: what the ``aryz desk`` commands and the desk web
                       app call
- ``export.py``        Write an outbox: every pending status change and reply, and
                       acknowledgements
- ``resync.py``        Receipts and resynchronisation: the desk learns what the server applied,
                       per record
- ``staff.py``         Named staff: who may open the desk, and the names written on its notes
                       and history
- ``transfer.py``      Pass a case to another coalition: re-sealed on this desk, sent in the
                       outbox
"""
