"""JSON API v1 for intermediaries: items sealed on the client, resumable uploads, status.

Modules:

- ``logic.py``    Resumable uploads of items sealed on the client
- ``routes.py``   JSON API v1
- ``schemas.py``  API request and response bodies
"""
