"""The courier side of the server: bundles out, signed outboxes in, for each coalition.

- ``routes.py`` — the courier API v1 (its own app: ``service.server.app.create_courier_app``)
- ``auth.py`` — one-time challenges and signed requests (``deps.py`` wires them in)
- ``bundles.py`` — prepare a coalition's bundle, stream it resumably
- ``outboxes.py`` — apply a signed outbox, all or nothing
- ``client.py``, ``credential.py``, ``cli.py`` — ``aryz courier pull/push`` on the
  courier's online machine
- ``errors.py`` — the failures, each with a fixed message
"""
