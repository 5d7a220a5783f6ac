"""The coalition registry: who receives complaints from which country, and their keys.

Modules:

- ``logic.py``    Load, validate and query the coalition registry
- ``schemas.py``  The registry file's shape (TOML), validated strictly: unknown keys are errors
"""
