"""The courier side of the server: bundles out, signed outboxes in, for each coalition.

Modules:

- ``auth.py``       Courier authentication: one-time challenges and signed requests
- ``bundles.py``    Prepare a coalition's bundle and stream it, resumably
- ``deps.py``       The authenticated courier, as a FastAPI dependency that also hands over the
                    body
- ``errors.py``     The courier API's failures, one small class each (they extend the tree in
                    ``service.common.errors``; the outbox's own format errors are
                    ``service.common.contract.outbox.OutboxError``)
- ``outboxes.py``   Apply a coalition's signed outbox: all of it in one transaction, or none of
                    it
- ``retention.py``  What the server keeps after the desk imported an item, and for how long
- ``routes.py``     Courier API v1, served only by the courier listener (``create_courier_app``)
- ``schemas.py``    Courier API request and response bodies (JSON, strict: unknown fields are
                    errors)
- ``sequences.py``  The server's last applied sequence number per case, for the courier's
                    receipts
- ``urgent.py``     The urgent lane on the server: keep urgent records, hand them to the duty
                    officer, apply the officer's signed acknowledgement
                    (``service.common.contract.duty``)
"""
