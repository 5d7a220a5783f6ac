"""Passphrase wrapping (Argon2id + XChaCha20-Poly1305) and at-rest values."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.common.crypto.wrap import (
    MAX_MEMLIMIT,
    MIN_LIMITS,
    MIN_PADDED,
    SENSITIVE_LIMITS,
    KdfLimits,
    decrypt_value,
    encrypt_value,
    new_key,
    padded_length,
    unwrap_secret,
    wrap_secret,
    wrapped_limits,
)
from service.common.errors import EnvelopeCorruptError, EnvelopeFormatError, EnvelopeKeyError

SECRET = b"\x01" * 32
PASS = b"orchard lantern walrus pebble violin harbor quilt"
CTX = b"test-context"
OPS_OFFSET = 10  # magic (8) + version (1) + alg (1)


def wrapped() -> bytes:
    return wrap_secret(SECRET, PASS, MIN_LIMITS, context=CTX)


def test_sensitive_limits_are_libsodiums() -> None:
    assert KdfLimits(opslimit=4, memlimit=1024 * 1024 * 1024) == SENSITIVE_LIMITS


def test_wrap_round_trip_and_limits_travel_with_the_blob() -> None:
    blob = wrapped()
    assert unwrap_secret(blob, PASS, context=CTX) == SECRET
    assert wrapped_limits(blob) == MIN_LIMITS
    assert SECRET not in blob
    # Fresh salt and nonce each time: two wraps of one secret share nothing.
    assert wrapped()[OPS_OFFSET + 12 :] != blob[OPS_OFFSET + 12 :]


def test_wrong_passphrase_and_wrong_context_are_refused() -> None:
    blob = wrapped()
    with pytest.raises(EnvelopeKeyError):
        unwrap_secret(blob, PASS + b"x", context=CTX)
    with pytest.raises(EnvelopeKeyError):
        unwrap_secret(blob, PASS, context=b"other")


def test_editing_the_stored_limits_fails_instead_of_running_a_cheaper_kdf() -> None:
    blob = bytearray(wrapped())
    struct.pack_into(">I", blob, OPS_OFFSET, MIN_LIMITS.opslimit + 1)
    with pytest.raises(EnvelopeKeyError):
        unwrap_secret(bytes(blob), PASS, context=CTX)


@pytest.mark.parametrize("offset", [0, 8, 9, 30, -1])
def test_any_flipped_byte_is_refused(offset: int) -> None:
    blob = bytearray(wrapped())
    blob[offset] ^= 0x01
    with pytest.raises((EnvelopeKeyError, EnvelopeFormatError)):
        unwrap_secret(bytes(blob), PASS, context=CTX)


def test_absurd_memlimit_is_refused_before_any_work() -> None:
    blob = bytearray(wrapped())
    struct.pack_into(">Q", blob, OPS_OFFSET + 4, MAX_MEMLIMIT + 1)
    with pytest.raises(EnvelopeFormatError):
        wrapped_limits(bytes(blob))
    with pytest.raises(EnvelopeFormatError):
        unwrap_secret(bytes(blob), PASS, context=CTX)


def test_short_or_foreign_blobs_are_format_errors() -> None:
    for blob in (b"", b"ARYZWRAP", b"X" * 200):
        with pytest.raises(EnvelopeFormatError):
            unwrap_secret(blob, PASS, context=CTX)


@given(st.binary(max_size=5000), st.binary(max_size=40))
def test_value_round_trip(plaintext: bytes, context: bytes) -> None:
    key = new_key()
    blob = encrypt_value(key, plaintext, context)
    assert decrypt_value(key, blob, context) == plaintext
    assert len(blob) == 1 + 24 + 16 + padded_length(len(plaintext))


def test_value_is_bound_to_its_context_and_key() -> None:
    key = new_key()
    blob = encrypt_value(key, b"narrative", b"cases\nA")
    with pytest.raises(EnvelopeCorruptError):
        decrypt_value(key, blob, b"cases\nB")
    with pytest.raises(EnvelopeCorruptError):
        decrypt_value(new_key(), blob, b"cases\nA")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(EnvelopeCorruptError):
        decrypt_value(key, tampered, b"cases\nA")
    with pytest.raises(EnvelopeFormatError):
        decrypt_value(key, b"\x02" + blob[1:], b"cases\nA")


def test_values_get_fresh_nonces() -> None:
    key = new_key()
    assert encrypt_value(key, b"same", b"c") != encrypt_value(key, b"same", b"c")


@given(st.integers(0, 1 << 26))
def test_padding_is_small_and_hides_the_low_bits(length: int) -> None:
    padded = padded_length(length)
    assert padded > length
    assert padded >= MIN_PADDED
    if length >= MIN_PADDED:
        assert padded <= (length + 1) * 1.13  # Padmé's bound: at most ~12 % overhead


def test_padding_buckets_examples() -> None:
    assert padded_length(0) == MIN_PADDED
    assert padded_length(255) == MIN_PADDED
    assert padded_length(1000) == 1024
    # Two attachment tails of different sizes land in the same bucket.
    assert padded_length(700_001) == padded_length(700_900)
    # A full desk chunk (1 MiB - 1) plus its marker stays exactly 1 MiB.
    assert padded_length((1 << 20) - 1) == 1 << 20


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_value(b"short", b"x", b"c")
