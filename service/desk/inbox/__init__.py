"""What comes into the desk: bundle import with quarantine, and safe copies of attachments made
in a cage.

Modules:

- ``importer.py``  Import a bundle: decrypt every new item and store it, encrypted, in the desk
                   store
- ``rebuild.py``   What runs inside the cage (:mod:`service.desk.inbox.sandbox`): recognise a
                   file by its first bytes and redraw it as a new file from its pixels (the
                   rules are in :mod:`service.desk.inbox.strip`)
- ``sandbox.py``   The cage: submitted files are parsed in a separate, short-lived process
- ``strip.py``     Safe copies of attachments: pixels only, rebuilt as a new file, made in a
                   cage
"""
