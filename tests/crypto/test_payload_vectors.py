"""The payload vectors (tests/vectors/payload-v1.json) against the implementation: the
payload reader (§8.1) and the desk's own reading path (§8.2, §8.3), which is shared with
``aryz demo-read``. The Node reader (tests/node) checks the same file independently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import service.common.contract.sealed_item as sealed_item
from service.common.crypto.envelope import seal
from service.common.crypto.keys import generate_box_keypair
from service.common.crypto.payload import split_payload
from service.common.errors import EnvelopeFormatError

VECTORS_FILE = Path(__file__).resolve().parents[1] / "vectors" / "payload-v1.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="ascii"))["vectors"]
DESK_VERDICTS = {
    sealed_item.MALFORMED: "malformed",
    sealed_item.UNREADABLE: "unreadable",
    sealed_item.TOO_LARGE: "too_large",
}
KEY = generate_box_keypair()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_payload_reader_gives_the_vectors_verdict(vector: dict[str, Any]) -> None:
    plaintext = bytes.fromhex(vector["plaintext"])
    if vector["expect"] == "envelope_format":
        with pytest.raises(EnvelopeFormatError):
            split_payload(plaintext)
        return
    meta, body = split_payload(plaintext)
    assert meta == vector["meta"]
    assert hashlib.sha256(body).hexdigest() == vector["body_sha256"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_desks_reading_path_gives_the_vectors_verdict(vector: dict[str, Any]) -> None:
    envelope = seal(bytes.fromhex(vector["plaintext"]), [KEY.public])
    sink = sealed_item.BodySink()
    try:
        meta = sealed_item.open_item([KEY], [envelope], sink)
        if meta["type"] == "answers":
            sealed_item.read_answers(bytes(sink.kept))
    except sealed_item.ItemRefused as refused:
        verdict = DESK_VERDICTS[refused.reason]
    else:
        verdict = "ok"
    assert verdict == vector["desk"]


def test_the_vectors_cover_every_rule_of_the_spec() -> None:
    names = {v["name"] for v in VECTORS}
    for prefix in ("layout-", "utf8-", "bom", "json-", "dup-key", "surrogate-", "number-", "width-",
                   "depth-", "meta-", "answers-", "message-"):  # fmt: skip
        assert any(n.startswith(prefix) for n in names), prefix
    assert {v["desk"] for v in VECTORS} == {"ok", "malformed", "unreadable", "too_large"}
