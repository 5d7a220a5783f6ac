"""Everything in Aryz that talks to tor, through ``stem``. Only this package imports stem.

Modules:

- ``balance.py``   Onionbalance (v3): one public intake address in front of several ``aryz
                   serve`` backends
- ``cli.py``       ``aryz onion …``: the operator's view of the onion services
- ``clients.py``   v3 client authorisation for the staff onion: one X25519 key per coalition
                   courier
- ``control.py``   A connected, authenticated tor controller, and the few things Aryz asks of it
- ``errors.py``    Failures of the tor layer, one small class each, with fixed messages
- ``keeper.py``    Keep Aryz's onion services published for as long as ``aryz serve`` runs
- ``keys.py``      Onion service keys on disk, in tor's own ``HiddenServiceDir`` layout
- ``launch.py``    Start a tor process for Aryz, after ``check_torrc`` has passed its
                   configuration
- ``settings.py``  The slice of the settings that tor handling needs (``ARYZ_`` variables):
                   where the onion keys live and how to reach tor
- ``torrc.py``     torrc text that Aryz writes or accepts, and the check that keeps tor off
                   networks it must not reach
"""
