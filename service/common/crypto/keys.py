"""Key pairs, key ids and fingerprints for coalitions, desks and cases.

X25519 key pairs (``crypto_box``) receive sealed items; Ed25519 key pairs (``crypto_sign``)
sign the desk's updates. Both kinds are named by the same short id and fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.bindings import (
    crypto_box_keypair,
    crypto_box_seal,
    crypto_box_seal_open,
    crypto_box_seed_keypair,
    crypto_sign,
    crypto_sign_BYTES,
    crypto_sign_open,
    crypto_sign_PUBLICKEYBYTES,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import CryptoError
from nacl.utils import random

from service.common.crypto.hashing import blake2b_256
from service.common.errors import EnvelopeKeyError

KEY_ID_LEN = 8
PUBLIC_KEY_LEN = 32
SEED_LEN = 32

_BAD_SIGNATURE = "The signature is not valid."
_NOT_OURS = "The sealed value does not open with this key."


@dataclass(frozen=True)
class BoxKeyPair:
    """An X25519 key pair: items are sealed to ``public``, opened with ``secret``."""

    public: bytes
    secret: bytes

    def __repr__(self) -> str:
        # The default repr would put the secret key into tracebacks and logs.
        return f"BoxKeyPair(key_id={key_id(self.public).hex()})"


@dataclass(frozen=True)
class SigningKeyPair:
    """An Ed25519 key pair kept as its 32-byte seed; ``verify`` is the public half."""

    verify: bytes
    seed: bytes

    def __repr__(self) -> str:
        return f"SigningKeyPair(key_id={key_id(self.verify).hex()})"


def key_id(public_key: bytes) -> bytes:
    """Return the 8-byte id of a 32-byte public key (X25519 or Ed25519).

    It is the first 8 bytes of BLAKE2b-256 of the key: short enough to put in every
    envelope header, long enough that two keys of one coalition never collide.
    """
    _check_len(public_key, PUBLIC_KEY_LEN)
    return blake2b_256(public_key)[:KEY_ID_LEN]


def fingerprint(public_key: bytes) -> str:
    """Return the full BLAKE2b-256 of a public key as 16 groups of 4 uppercase hex digits.

    People compare this aloud or against a printed sheet, so it is the whole digest: a
    shortened fingerprint would let an attacker grind a look-alike key.
    """
    _check_len(public_key, PUBLIC_KEY_LEN)
    digits = blake2b_256(public_key).hex().upper()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def fingerprint_lines(public_key: bytes) -> list[str]:
    """A fingerprint as 4 lines of 4 groups: easy to read aloud and tick off in pairs."""
    groups = fingerprint(public_key).split()
    return [" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4)]


def generate_box_keypair() -> BoxKeyPair:
    """Generate an X25519 key pair from the OS CSPRNG."""
    public, secret = crypto_box_keypair()
    return BoxKeyPair(public=public, secret=secret)


def box_keypair_from_seed(seed: bytes) -> BoxKeyPair:
    """Derive an X25519 key pair from a 32-byte seed (``crypto_box_seed_keypair``)."""
    _check_len(seed, SEED_LEN)
    public, secret = crypto_box_seed_keypair(seed)
    return BoxKeyPair(public=public, secret=secret)


def seal_to(public_key: bytes, data: bytes) -> bytes:
    """Encrypt ``data`` anonymously to an X25519 public key (``crypto_box_seal``)."""
    _check_len(public_key, PUBLIC_KEY_LEN)
    return bytes(crypto_box_seal(data, public_key))


def open_sealed(pair: BoxKeyPair, sealed: bytes) -> bytes:
    """Open :func:`seal_to`'s output; raise :class:`EnvelopeKeyError` if it is not ours."""
    try:
        return bytes(crypto_box_seal_open(sealed, pair.public, pair.secret))
    except (CryptoError, ValueError, TypeError):
        raise EnvelopeKeyError(_NOT_OURS) from None


def generate_signing_keypair() -> SigningKeyPair:
    """Generate an Ed25519 key pair from a random 32-byte seed."""
    seed = random(SEED_LEN)
    verify, _secret = crypto_sign_seed_keypair(seed)
    return SigningKeyPair(verify=verify, seed=seed)


def signing_keypair_from_seed(seed: bytes) -> SigningKeyPair:
    """Derive an Ed25519 key pair from a 32-byte seed (``crypto_sign_seed_keypair``)."""
    _check_len(seed, SEED_LEN)
    verify, _secret = crypto_sign_seed_keypair(seed)
    return SigningKeyPair(verify=verify, seed=seed)


def sign(seed: bytes, message: bytes) -> bytes:
    """Return the 64-byte detached Ed25519 signature of ``message``."""
    _check_len(seed, SEED_LEN)
    _verify, secret = crypto_sign_seed_keypair(seed)
    return crypto_sign(message, secret)[:crypto_sign_BYTES]


def verify(verify_key: bytes, message: bytes, signature: bytes) -> None:
    """Check a detached Ed25519 signature; raise :class:`EnvelopeKeyError` if it is wrong.

    Every failure (bad length, bad key, bad signature) gets the same fixed message, so a
    caller cannot leak which part of an update was wrong.
    """
    if len(verify_key) != crypto_sign_PUBLICKEYBYTES or len(signature) != crypto_sign_BYTES:
        raise EnvelopeKeyError(_BAD_SIGNATURE)
    try:
        crypto_sign_open(signature + message, verify_key)
    except CryptoError:
        raise EnvelopeKeyError(_BAD_SIGNATURE) from None


def _check_len(value: bytes, length: int) -> None:
    # A wrong-length key is a programming error, never user input: say so without the bytes.
    if not isinstance(value, bytes) or len(value) != length:
        raise ValueError(f"expected {length} bytes")
