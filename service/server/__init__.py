"""The server (onion + database): the intake site, the API, the courier API, storage, registry,
backups.

Modules:

- ``api/``         JSON API v1 for intermediaries: items sealed on the client, resumable
                   uploads, status
- ``app.py``       ``create_app()`` wires the intake web app and its API;
                   ``create_courier_app()`` the courier API, a separate app on its own listener
                   (for the staff onion)
- ``backup/``      Encrypted backups: the database and registry, and separately the onion keys
- ``cases/``       Cases and their sealed items: the server's whole knowledge of a complaint
- ``cli/``         The ``aryz`` command line
- ``courier/``     The courier side of the server: bundles out, signed outboxes in, for each
                   coalition
- ``deps.py``      What a request handler needs, built once in ``create_app`` and reached
                   through ``Annotated``
- ``intake/``      The intake web site for victims and relatives: server-rendered, works without
                   JavaScript
- ``models/``      ORM tables
- ``registry/``    The coalition registry: who receives complaints from which country, and their
                   keys
- ``settings.py``  One ``Settings`` object for the whole server, read from ``ARYZ_*``
                   environment variables
- ``storage/``     Database engine, sessions, migrations and the sealed-item store
- ``web/``         The web layer: HTTP plumbing shared by the public and staff sites
"""
