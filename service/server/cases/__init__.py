"""Cases and their sealed items: the server's whole knowledge of a complaint.

Modules:

- ``limits.py``  Bounds on what anyone can create without a server-side key derivation (audit
                 F-16)
- ``logic.py``   Create cases, find them by token-derived key, add items
"""
