"""What travels between the server and a coalition's air-gapped desk, by USB stick.

- a **bundle** (server → desk): the coalition's unacknowledged sealed items with a
  manifest (``bundle.py``, spec in ``EXCHANGE-v1.md``);
- an **outbox** (desk → server): status changes, replies sealed to the family, and import
  acknowledgements, each signed with the coalition's Ed25519 key (``outbox.py``);
- the **courier's request signature** that lets the online courier machine fetch bundles
  and hand in outboxes (``courier_auth.py``).

This package is pure: it needs ``service.common.crypto`` and the standard library only, so the
desk can use it without the web stack or its settings.

Modules:

- ``bundle.py``           Bundle v1: a manifest and the sealed items it lists, in one file
- ``courier_auth.py``     How the courier machine proves it holds a coalition's courier
                          credential
- ``credential.py``       The courier credential file, as the desk's key ceremony writes it
- ``duty.py``             The urgent lane: the urgent record and the duty officer's signed
                          acknowledgement
- ``duty_key.py``         The duty key file, as ``aryz duty keygen`` writes it (and ``aryz
                          demo`` for the demo)
- ``outbox.py``           Outbox v1: the desk's signed answers, applied by the server all or
                          nothing
- ``receipt.py``          Receipt v1: the server's answer to an outbox, kept by the courier for
                          the desk
- ``registry_change.py``  Registry changes: the coalition's own signed word on its couriers and
                          signing key
- ``replies.py``          Open a coalition's reply with the key pair the case token derives
- ``sealed_item.py``      Reading one sealed item, the same way on every machine that may: the
                          desk's import and the server's ``aryz demo-read`` (a demo's stand-in
                          for the desk)
- ``signed.py``           Check the desk's signature on a status or reply, end to end (audit
                          F-08)
- ``statement.py``        Key statements: a coalition's own signed word on which keys to seal to
                          (audit F-02)
- ``vocabulary.py``       The words every machine shares, each defined once: the server, the
                          field tools, the desk, its statistics, the templates and the specs
                          read them from here
"""
