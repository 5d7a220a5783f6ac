"""The desk's command line: ``aryz-desk …`` (also ``aryz desk …``).

Modules:

- ``common.py``    What every ``aryz desk`` command shares: the folder option, output to the
                   terminal (untrusted text escaped by :func:`safe`), the passphrase prompts and
                   the warning for a desk wrapped with test limits, and opening the desk
- ``couriers.py``  ``aryz desk courier …`` and ``aryz desk rotate --signing``: what the
                   coalition changes in the server's registry itself
                   (``service.desk.store.couriers``)
- ``main.py``      ``aryz-desk …`` (also ``aryz desk …``): the coalition's air-gapped desk on
                   the command line
- ``session.py``   Unlock once: a session agent holds one desk's keys for one terminal, for a
                   while
- ``spare.py``     ``aryz desk spare …``: a second laptop kept in step with the working desk by
                   backups
- ``stats.py``     ``aryz desk outcome …``, ``aryz desk stats`` and ``aryz desk report``
- ``transfer.py``  ``aryz desk coalition …`` and ``aryz desk transfer``: passing a case to
                   another coalition
"""
