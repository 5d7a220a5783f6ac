"""JSON API v1 for intermediaries: items sealed on the client, resumable uploads, status."""
