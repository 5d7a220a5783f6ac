"""The coalition registry: who receives complaints from which country, and their keys.

Modules:

- ``changes.py``  Apply the coalitions' signed registry changes on top of ``registry.toml``
- ``entries.py``  A coalition as the registry describes it, validated and decoded: its keys,
                  couriers, duty keys and signing-key history
- ``logic.py``    Load, validate and query the coalition registry
- ``reload.py``   Read the registry again without a restart: on SIGHUP, and when its files
                  change
- ``schemas.py``  The registry file's shape (TOML), validated strictly: unknown keys are errors
"""
