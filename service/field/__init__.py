"""The online laptop of a courier or an intermediary: ``aryz-field`` (``submit``, ``status``,
``courier pull/push``).

Modules:

- ``cli.py``          ``aryz-field`` (and ``aryz submit``, ``aryz status``, ``aryz courier …``):
                      the tools of the courier's or an intermediary's online laptop
- ``client.py``       Submit a case and check it through the JSON API, as a lawyer or field
                      monitor would
- ``courier.py``      The courier's online machine: fetch the coalition's bundle, deliver its
                      outbox
- ``courier_cli.py``  ``aryz courier pull`` and ``aryz courier push``: the courier's online
                      machine
- ``trust.py``        Which coalition keys this client seals to: only ones the coalition itself
                      signed
"""
