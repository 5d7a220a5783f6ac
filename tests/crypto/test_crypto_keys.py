"""Key ids, fingerprints, seeded key pairs and Ed25519 signatures."""

from __future__ import annotations

import re

import pytest

from service.common.crypto.envelope import open_envelope, seal
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.keys import (
    KEY_ID_LEN,
    box_keypair_from_seed,
    fingerprint,
    generate_box_keypair,
    generate_signing_keypair,
    key_id,
    sign,
    verify,
)
from service.common.errors import EnvelopeKeyError

# BLAKE2b-256 of the empty string (RFC 7693 parameters, 32-byte output): pins the hash.
BLAKE2B_256_EMPTY = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"


def test_hash_is_blake2b_256() -> None:
    assert blake2b_256(b"").hex() == BLAKE2B_256_EMPTY


def test_key_id_is_the_first_8_bytes_of_the_hash() -> None:
    pair = generate_box_keypair()
    assert key_id(pair.public) == blake2b_256(pair.public)[:KEY_ID_LEN]
    assert len(key_id(pair.public)) == 8
    assert key_id(pair.public) != key_id(generate_box_keypair().public)


def test_fingerprint_is_the_whole_hash_in_16_groups() -> None:
    public = generate_box_keypair().public
    text = fingerprint(public)
    assert re.fullmatch(r"[0-9A-F]{4}( [0-9A-F]{4}){15}", text)
    assert text.replace(" ", "").lower() == blake2b_256(public).hex()


def test_key_functions_refuse_wrong_lengths() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        key_id(b"\x00" * 31)
    with pytest.raises(ValueError, match="32 bytes"):
        box_keypair_from_seed(b"\x00" * 33)


def test_seeded_box_keypair_is_deterministic_and_works() -> None:
    seed = blake2b_256(b"seed")
    first, second = box_keypair_from_seed(seed), box_keypair_from_seed(seed)
    assert first == second
    assert box_keypair_from_seed(blake2b_256(b"other")).public != first.public
    assert open_envelope(seal(b"reply", [first.public]), [second]) == b"reply"


def test_signature_round_trip_and_rejections() -> None:
    pair = generate_signing_keypair()
    signature = sign(pair.seed, b"status: received")
    assert len(signature) == 64
    verify(pair.verify, b"status: received", signature)
    bad_cases = [
        (pair.verify, b"status: closed", signature),  # other message
        (pair.verify, b"status: received", bytes([signature[0] ^ 1]) + signature[1:]),
        (generate_signing_keypair().verify, b"status: received", signature),  # other key
        (pair.verify, b"status: received", signature[:63]),  # wrong length
        (pair.verify[:31], b"status: received", signature),
    ]
    for verify_key, message, sig in bad_cases:
        with pytest.raises(EnvelopeKeyError, match="^The signature is not valid.$"):
            verify(verify_key, message, sig)


def test_signing_keypair_repr_hides_the_seed() -> None:
    pair = generate_signing_keypair()
    assert pair.seed.hex() not in repr(pair)
    assert repr(pair.seed) not in repr(pair)
