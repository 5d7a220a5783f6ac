"""Aryz: one room per machine (``server``, ``field``, ``desk``) and the shared room ``common``;
``cli.py`` is the ``aryz`` dispatcher.

Modules:

- ``__main__.py``
- ``cli.py``       ``aryz``: one name for every machine's commands, for an operator who has them
                   all
- ``common/``      What every machine speaks: the shared contract
- ``desk/``        The coalition's air-gapped desk: key ceremony, import, triage, signed
                   answers, statistics
- ``field/``       The online laptop of a courier or an intermediary: ``aryz-field``
                   (``submit``, ``status``, ``courier pull/push``)
- ``server/``      The server (onion + database): the intake site, the API, the courier API,
                   storage, registry, backups
"""
