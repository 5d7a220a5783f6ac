"""BLAKE2b-256, the one hash every Aryz format uses (libsodium ``crypto_generichash``)."""

from __future__ import annotations

from nacl.bindings import crypto_generichash_blake2b_salt_personal

DIGEST_LEN = 32


def blake2b_256(data: bytes, *, key: bytes = b"") -> bytes:
    """Return the 32-byte BLAKE2b digest of ``data``, keyed with ``key`` if given.

    No salt and no personalisation, so any libsodium binding computes the same value with
    ``crypto_generichash(32, data, key)``; domain separation is done by the caller's data.
    """
    return crypto_generichash_blake2b_salt_personal(data, digest_size=DIGEST_LEN, key=key)
