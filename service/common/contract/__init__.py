"""What travels between the server and a coalition's air-gapped desk, by USB stick.

- a **bundle** (server → desk): the coalition's unacknowledged sealed items with a
  manifest (``bundle.py``, spec in ``EXCHANGE-v1.md``);
- an **outbox** (desk → server): status changes, replies sealed to the family, and import
  acknowledgements, each signed with the coalition's Ed25519 key (``outbox.py``);
- the **courier's request signature** that lets the online courier machine fetch bundles
  and hand in outboxes (``courier_auth.py``).

This package is pure: it needs ``service.common.crypto`` and the standard library only, so the
desk can use it without the web stack or its settings.
"""
