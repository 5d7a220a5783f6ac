"""Aryz cryptography: the only package that imports ``nacl``.

- :mod:`service.common.crypto.keys`      key pairs, key ids, fingerprints, Ed25519 signatures
- :mod:`service.common.crypto.envelope`  envelope v1: seal and open items, as streams
- :mod:`service.common.crypto.header`    envelope header parsing and keyless framing checks
- :mod:`service.common.crypto.payload`   metadata + body inside an envelope's plaintext
- :mod:`service.common.crypto.token`     case tokens: generate, parse, derive (Argon2id)
- :mod:`service.common.crypto.hashing`   BLAKE2b-256
- :mod:`service.common.crypto.formstate` earlier form steps sealed under an in-memory key

The formats are specified in ``ENVELOPE-v1.md`` beside this file. Bad input (envelopes,
tokens, signatures) raises one of ``service.common.errors``' fixed-message errors, never a
library exception; misuse by the caller (a key of the wrong length) raises ValueError.
"""
