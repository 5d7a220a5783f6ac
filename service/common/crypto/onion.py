"""Key material for onion services, kept here because only ``service.common.crypto`` imports nacl.

Tor's v3 onion identity is an Ed25519 key that tor stores in *expanded* form: the 64-byte
SHA-512 of the seed with the first half clamped (the secret scalar) and the second half
the nonce prefix used when signing. ``onion/`` stores and hands tor that form, so the same
files work as a tor ``HiddenServiceDir`` and through ``ADD_ONION``.

Client authorisation (the staff onion) uses X25519 key pairs: the service lists the public
halves, each courier's tor holds one private half.
"""

from __future__ import annotations

import hashlib

from nacl.bindings import crypto_box_keypair, crypto_scalarmult_ed25519_base_noclamp
from nacl.exceptions import CryptoError
from nacl.utils import random

EXPANDED_KEY_LEN = 64
PUBLIC_KEY_LEN = 32


class OnionKeyMaterialError(ValueError):
    """The expanded key is malformed (``onion`` turns this into its own error)."""


def new_onion_identity() -> tuple[bytes, bytes]:
    """A fresh v3 onion identity from the OS CSPRNG: (expanded secret key, public key)."""
    digest = bytearray(hashlib.sha512(random(32)).digest())
    # Ed25519 clamping (RFC 8032 5.1.5): tor checks and uses the scalar as-is.
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    expanded = bytes(digest)
    return expanded, onion_public_key(expanded)


def onion_public_key(expanded: bytes) -> bytes:
    """The Ed25519 public key of an expanded secret key (scalar times the base point)."""
    if len(expanded) != EXPANDED_KEY_LEN:
        raise OnionKeyMaterialError("an expanded onion key is 64 bytes")
    scalar = expanded[:32]
    if scalar[0] & 7 or not scalar[31] & 64 or scalar[31] & 128:
        raise OnionKeyMaterialError("the onion key's scalar is not clamped")
    try:
        public: bytes = crypto_scalarmult_ed25519_base_noclamp(scalar)
    except CryptoError as exc:  # an all-zero scalar
        raise OnionKeyMaterialError("the onion key is not valid") from exc
    return public


def new_client_auth_keypair() -> tuple[bytes, bytes]:
    """A fresh X25519 pair for v3 client authorisation: (secret, public), 32 bytes each."""
    public, secret = crypto_box_keypair()
    return secret, public
