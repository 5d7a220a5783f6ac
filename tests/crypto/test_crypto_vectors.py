"""The committed envelope vectors open (or fail) as they say, with the Python reader.

The vectors are generated once by tests/vectors/make_vectors.py and then only read: this
test checks that today's reader still agrees with envelopes sealed in the past.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from service.common.crypto.envelope import open_envelope
from service.common.crypto.keys import BoxKeyPair
from service.common.errors import EnvelopeError

VECTORS_FILE = Path(__file__).resolve().parents[1] / "vectors" / "envelope-v1.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="ascii"))["vectors"]
ERROR_CODES = {"envelope_format", "envelope_key", "envelope_truncated", "envelope_corrupt"}


def outcome(vector: dict[str, Any]) -> tuple[str, bytes]:
    keys = [
        BoxKeyPair(bytes.fromhex(k["public"]), bytes.fromhex(k["secret"])) for k in vector["keys"]
    ]
    try:
        return "ok", open_envelope(bytes.fromhex(vector["envelope"]), keys)
    except EnvelopeError as error:
        return error.code, b""


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    result, plaintext = outcome(vector)
    assert result == vector["expect"]
    if result == "ok":
        assert len(plaintext) == vector["plaintext_length"]
        assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
        if "plaintext" in vector:
            assert plaintext.hex() == vector["plaintext"]


def test_vector_file_covers_every_rule() -> None:
    names = {v["name"] for v in VECTORS}
    assert len(names) == len(VECTORS), "vector names must be unique"
    required = {
        "ok-empty",
        "ok-one-byte",
        "ok-chunk-minus-one",
        "ok-one-chunk",
        "ok-chunk-plus-one",
        "ok-three-chunks-plus-five",
        "ok-two-recipients-first",
        "ok-two-recipients-second",
        "truncated-drop-final-frame",
        "corrupt-extra-frame-after-final",
        "corrupt-bytes-after-full-final-frame",
        "corrupt-reordered-frames",
        "corrupt-duplicated-frame",
        "corrupt-header-bitflip-other-recipient",
        "corrupt-bitflip-message-frame",
        "key-wrong-key",
        "format-bad-magic",
        "format-version-2",
    }
    assert required <= names
    assert {v["expect"] for v in VECTORS} == {"ok"} | ERROR_CODES


def test_every_key_pair_in_the_vectors_is_a_real_pair() -> None:
    # Envelope review G10: one vector paired a public key with another key's secret, so a
    # reader that derives the public half reported K1 where the vector meant K2.
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    for vector in VECTORS:
        for key in vector["keys"]:
            secret = X25519PrivateKey.from_private_bytes(bytes.fromhex(key["secret"]))
            public = secret.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            assert public.hex() == key["public"], vector["name"]
    assert "key-matching-id-wrong-secret" not in {v["name"] for v in VECTORS}
    # §5.2's order rule: a reader holding the keys of both entries.
    assert "ok-reader-holds-both-recipients" in {v["name"] for v in VECTORS}
