"""Passphrase key wrapping and at-rest value encryption, for the coalition's desk.

Two small formats, both XChaCha20-Poly1305 (IETF AEAD, 24-byte random nonces, so nonces
can be drawn at random for every value without a counter to keep):

**Wrap v1** protects the desk's private keys under a passphrase::

    "ARYZWRAP" (8) | version 0x01 (1) | alg 0x02 = Argon2id v1.3 (1)
    | opslimit (u32 BE) | memlimit (u64 BE) | salt (16) | nonce (24) | ciphertext

    kek        = crypto_pwhash(32, passphrase, salt, opslimit, memlimit, ARGON2ID13)
    ciphertext = AEAD_encrypt(secret, ad = everything before the ciphertext || context)

The KDF limits and salt travel with the blob, so unwrapping uses exactly what wrapping
used, even after the default changes. They are also in the associated data: editing them
in the file makes the unwrap fail rather than silently run a cheaper derivation.

**Value v1** is one encrypted value in the desk's store::

    version 0x01 (1) | nonce (24) | AEAD_encrypt(pad(plaintext), ad = DOMAIN || context)

``pad`` appends 0x80 and zeros (ISO/IEC 7816-4) up to at least 256 bytes and beyond that
to the Padmé length (Nikitin et al., 2019), so a copied store shows a value's size only
roughly: an exact attachment size could be matched against a server's records.
``context`` names where the value lives (table, row), so a value moved to another row or
column fails to decrypt instead of being shown in the wrong case.

Failures raise ``service.common.errors`` classes with fixed messages: a wrong passphrase or a
damaged blob is :class:`EnvelopeKeyError`, an unreadable layout
:class:`EnvelopeFormatError`, a value that fails authentication
:class:`EnvelopeCorruptError`.
"""

from __future__ import annotations

import struct

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_ABYTES,
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError
from nacl.pwhash import argon2id
from nacl.utils import random

from service.common.crypto.token import MIN_LIMITS, KdfLimits
from service.common.errors import EnvelopeCorruptError, EnvelopeFormatError, EnvelopeKeyError

__all__ = [
    "KEY_LEN",
    "MIN_LIMITS",
    "SENSITIVE_LIMITS",
    "KdfLimits",
    "decrypt_value",
    "derive_key",
    "encrypt_value",
    "new_salt",
    "new_key",
    "unwrap_secret",
    "wrap_secret",
    "wrapped_limits",
    "limits_named",
]

KEY_LEN = crypto_aead_xchacha20poly1305_ietf_KEYBYTES  # 32
NONCE_LEN = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24
TAG_LEN = crypto_aead_xchacha20poly1305_ietf_ABYTES  # 16

# libsodium's "sensitive" preset: 4 passes over 1 GiB, a few seconds on a laptop. The desk
# unlocks once per command, and whoever copies the desk folder pays this for every guess.
SENSITIVE_LIMITS = KdfLimits(
    opslimit=argon2id.OPSLIMIT_SENSITIVE, memlimit=argon2id.MEMLIMIT_SENSITIVE
)


def limits_named(name: str) -> KdfLimits | None:
    """The wrap limits an ``ARYZ_*_KDF`` setting names: unset or ``sensitive`` (the
    default), or ``minimum`` (libsodium's floor, for tests only); ``None`` for anything
    else, which the caller refuses with its own error."""
    value = name.strip().lower()
    if value in ("", "sensitive"):
        return SENSITIVE_LIMITS
    return MIN_LIMITS if value == "minimum" else None


# A blob asking for more memory than this is refused before any work: a tampered key file
# must not make the desk try to allocate the machine's whole memory.
MAX_MEMLIMIT = 4 * 1024 * 1024 * 1024

WRAP_MAGIC = b"ARYZWRAP"
WRAP_VERSION = 1
ALG_ARGON2ID13 = 2
_WRAP_HEAD = struct.Struct(">8sBBIQ16s24s")  # magic, version, alg, ops, mem, salt, nonce
VALUE_VERSION = 1
VALUE_DOMAIN = b"aryz-desk-value-v1\n"
MIN_PADDED = 256

# S105: messages, not passwords.
WRONG_PASSPHRASE = "The passphrase is wrong, or the wrapped key is damaged."  # noqa: S105
BAD_WRAP = "The wrapped key is not in a format this version can read."
BAD_VALUE = "A stored value is not in a format this version can read."
VALUE_FAILED = "A stored value failed authentication: it was altered or damaged."


def new_key() -> bytes:
    """Return a fresh 32-byte secret from the OS CSPRNG (a store key, an X25519 seed)."""
    return bytes(random(KEY_LEN))


def wrap_secret(secret: bytes, passphrase: bytes, limits: KdfLimits, *, context: bytes) -> bytes:
    """Encrypt ``secret`` under a key derived from ``passphrase`` with Argon2id.

    A fresh salt and nonce are drawn for every call, so wrapping the same secret twice
    gives unrelated blobs. ``context`` is bound as associated data (e.g. the coalition id)
    and must be given again to unwrap.
    """
    if not passphrase:
        raise ValueError("empty passphrase")
    salt = bytes(random(argon2id.SALTBYTES))
    nonce = bytes(random(NONCE_LEN))
    head = _WRAP_HEAD.pack(
        WRAP_MAGIC, WRAP_VERSION, ALG_ARGON2ID13, limits.opslimit, limits.memlimit, salt, nonce
    )
    kek = _derive(passphrase, salt, limits)
    return head + crypto_aead_xchacha20poly1305_ietf_encrypt(secret, head + context, nonce, kek)


def new_salt() -> bytes:
    """A fresh Argon2id salt (16 bytes) for :func:`derive_key`."""
    return bytes(random(argon2id.SALTBYTES))


def derive_key(passphrase: bytes, salt: bytes, limits: KdfLimits) -> bytes:
    """The 32-byte key Argon2id derives from ``passphrase`` (a desk's staff key).

    Limits outside libsodium's range, or asking for more than ``MAX_MEMLIMIT``, are
    :class:`EnvelopeFormatError`: a tampered key file must not make the desk try to
    allocate the machine's whole memory.
    """
    if not passphrase:
        raise ValueError("empty passphrase")
    if len(salt) != argon2id.SALTBYTES or not (
        argon2id.OPSLIMIT_MIN <= limits.opslimit <= argon2id.OPSLIMIT_MAX
        and argon2id.MEMLIMIT_MIN <= limits.memlimit <= MAX_MEMLIMIT
    ):
        raise EnvelopeFormatError(BAD_WRAP)
    return _derive(passphrase, salt, limits)


def wrapped_limits(blob: bytes) -> KdfLimits:
    """Return the Argon2id limits a blob was wrapped with (checked, without unwrapping)."""
    return _parse_wrap(blob)[1]


def unwrap_secret(blob: bytes, passphrase: bytes, *, context: bytes) -> bytes:
    """Decrypt a wrapped secret; raise :class:`EnvelopeKeyError` for a wrong passphrase.

    A damaged blob and a wrong passphrase are indistinguishable by design (both fail
    authentication), so the message names both.
    """
    head, limits, salt, nonce = _parse_wrap(blob)
    kek = _derive(passphrase, salt, limits)
    try:
        return bytes(
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                blob[len(head) :], head + context, nonce, kek
            )
        )
    except CryptoError:
        raise EnvelopeKeyError(WRONG_PASSPHRASE) from None


def encrypt_value(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt one stored value (padded, random nonce) bound to ``context``."""
    _check_key(key)
    nonce = bytes(random(NONCE_LEN))
    padded = _pad(plaintext)
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(padded, VALUE_DOMAIN + context, nonce, key)
    return bytes([VALUE_VERSION]) + nonce + sealed


def decrypt_value(key: bytes, blob: bytes, context: bytes) -> bytes:
    """Decrypt a value from :func:`encrypt_value` with the same ``context``."""
    _check_key(key)
    if len(blob) < 1 + NONCE_LEN + TAG_LEN + MIN_PADDED or blob[0] != VALUE_VERSION:
        raise EnvelopeFormatError(BAD_VALUE)
    nonce = blob[1 : 1 + NONCE_LEN]
    try:
        padded = crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[1 + NONCE_LEN :], VALUE_DOMAIN + context, nonce, key
        )
    except CryptoError:
        raise EnvelopeCorruptError(VALUE_FAILED) from None
    return _unpad(bytes(padded))


def padded_length(length: int) -> int:
    """The stored length of a value of ``length`` bytes plus its 0x80 marker.

    At least 256; above that Padmé: keep the top bits of the length and round the rest
    up, which costs at most about 12 % and shows only O(log log n) bits of the size.
    """
    n = length + 1
    if n <= MIN_PADDED:
        return MIN_PADDED
    exponent = n.bit_length() - 1  # floor(log2 n)
    low_bits = exponent - exponent.bit_length()  # exponent - (floor(log2 exponent) + 1)
    mask = (1 << low_bits) - 1
    return (n + mask) & ~mask


def _pad(data: bytes) -> bytes:
    return data + b"\x80" + bytes(padded_length(len(data)) - len(data) - 1)


def _unpad(padded: bytes) -> bytes:
    # The padding is authenticated, so a bad marker is a writer's bug or another format.
    end = len(padded.rstrip(b"\x00"))
    if end == 0 or padded[end - 1] != 0x80:
        raise EnvelopeFormatError(BAD_VALUE)
    return padded[: end - 1]


def _parse_wrap(blob: bytes) -> tuple[bytes, KdfLimits, bytes, bytes]:
    if len(blob) < _WRAP_HEAD.size + TAG_LEN:
        raise EnvelopeFormatError(BAD_WRAP)
    head = blob[: _WRAP_HEAD.size]
    magic, version, alg, ops, mem, salt, nonce = _WRAP_HEAD.unpack(head)
    if magic != WRAP_MAGIC or version != WRAP_VERSION or alg != ALG_ARGON2ID13:
        raise EnvelopeFormatError(BAD_WRAP)
    limits = KdfLimits(opslimit=ops, memlimit=mem)
    if not (
        argon2id.OPSLIMIT_MIN <= ops <= argon2id.OPSLIMIT_MAX
        and argon2id.MEMLIMIT_MIN <= mem <= MAX_MEMLIMIT
    ):
        raise EnvelopeFormatError(BAD_WRAP)
    return head, limits, salt, nonce


def _derive(passphrase: bytes, salt: bytes, limits: KdfLimits) -> bytes:
    return bytes(
        argon2id.kdf(KEY_LEN, passphrase, salt, opslimit=limits.opslimit, memlimit=limits.memlimit)
    )


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_LEN:
        raise ValueError(f"expected {KEY_LEN} bytes")
