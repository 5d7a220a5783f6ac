"""The online laptop of a courier or an intermediary: ``aryz-field`` (``submit``, ``status``,
``courier pull/push``).

Modules:

- ``cli.py``          ``aryz-field`` (and ``aryz submit``, ``aryz status``, ``aryz courier …``,
                      ``aryz duty …``): the tools of the courier's, an intermediary's or the
                      duty officer's online laptop
- ``client.py``       Submit a case and check it through the JSON API, as a lawyer or field
                      monitor would
- ``courier.py``      The courier's online machine: fetch the coalition's bundle, deliver its
                      outbox
- ``courier_cli.py``  ``aryz courier pull`` and ``aryz courier push``: the courier's online
                      machine
- ``duty.py``         The duty officer's side of the urgent lane, on the courier machine
- ``duty_cli.py``     ``aryz duty keygen/watch/list/show/ack``: the duty officer on the courier
                      machine
- ``polling.py``      How often the duty watch asks the staff onion for urgent records (``aryz
                      duty watch``)
- ``trust.py``        Which coalition keys this client seals to: only ones the coalition itself
                      signed
"""
