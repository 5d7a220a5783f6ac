"""Aryz cryptography: the only package that imports ``nacl``.

The formats are specified in ``ENVELOPE-v1.md`` beside this file. Bad input (envelopes,
tokens, signatures) raises one of ``service.common.errors``' fixed-message errors, never a
library exception; misuse by the caller (a key of the wrong length) raises ValueError.

Modules:

- ``envelope.py``    Envelope v1: seal an item to a coalition's keys, and open it on the desk
- ``formstate.py``   Sealed form state: the answers of earlier questionnaire steps, carried in
                     the page
- ``grants.py``      Upload grants: what a page hands the browser so that it can add files to
                     one case
- ``hashing.py``     BLAKE2b-256, the one hash every Aryz format uses (libsodium
                     ``crypto_generichash``)
- ``header.py``      The plaintext header of an envelope, and the framing rules a server can
                     check
- ``itemseal.py``    Complete cases: each item a submitter seals carries its place in the case,
                     signed
- ``keys.py``        Key pairs, key ids and fingerprints for coalitions, desks and cases
- ``onion.py``       Key material for onion services, kept here because only
                     ``service.common.crypto`` imports nacl
- ``padding.py``     Size classes for sealed items (envelope version 3), and the padding that
                     fills them
- ``payload.py``     The item payload: what an envelope's plaintext holds
- ``stream.py``      XChaCha20-Poly1305 secretstream for whole files the desk writes (its
                     backups): a ``Pusher`` seals messages one by one, a ``Puller`` opens them
                     in order and says which one ends the stream
- ``strictjson.py``  The one strict JSON reader for sealed payloads (ENVELOPE-v1.md §8.1)
- ``token.py``       The case token: what a submitter keeps to come back to their case
- ``wrap.py``        Passphrase key wrapping and at-rest value encryption, for the coalition's
                     desk
"""
