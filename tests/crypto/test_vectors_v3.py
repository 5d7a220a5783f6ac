"""Envelope v3 (padded) and item seals: the committed vectors, read by the reference
reader (Python) and by the independent one (tests/node/open-vectors-v3.mjs, libsodium.js,
written from ENVELOPE-v1.md and ENVELOPE-v3.md). Both must agree with every vector."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service.common.crypto.envelope import Opener, open_envelope, parse_header
from service.common.crypto.itemseal import read_seal
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.padding import size_class
from service.common.crypto.payload import split_payload
from service.common.crypto.token import KdfLimits, derive
from service.common.errors import EnvelopeError
from tests.crypto.test_node_reader import NODE_DIR, ROOT, require

VECTORS_FILE = ROOT / "tests" / "vectors" / "envelope-v3.json"
DATA: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="ascii"))
VECTORS = DATA["vectors"]


def keys_of(vector: dict[str, Any]) -> list[BoxKeyPair]:
    return [
        BoxKeyPair(bytes.fromhex(k["public"]), bytes.fromhex(k["secret"])) for k in vector["keys"]
    ]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_reference_reader_agrees(vector: dict[str, Any]) -> None:
    envelope = bytes.fromhex(vector["envelope"])
    if vector["expect"] != "ok":
        with pytest.raises(EnvelopeError) as caught:
            open_envelope(envelope, keys_of(vector))
        assert caught.value.code == vector["expect"]
        return
    plaintext = open_envelope(envelope, keys_of(vector))
    assert len(plaintext) == vector["plaintext_length"]
    assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
    if "seal" in vector:
        meta, _body = split_payload(plaintext)
        header, _length = parse_header(envelope)
        seal = read_seal(meta, header.associated_data)
        assert seal is not None
        assert {
            "position": seal.position,
            "case_signing_key": seal.signer,
            "valid": seal.valid,
        } == vector["seal"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["expect"] == "ok"][:9])
def test_streaming_in_odd_pieces_gives_the_same_content(vector: dict[str, Any]) -> None:
    # The reader holds back what may be padding; pieces must not change what it releases.
    envelope = bytes.fromhex(vector["envelope"])
    opener = Opener(keys_of(vector))
    out = b"".join(opener.feed(envelope[i : i + 4093]) for i in range(0, len(envelope), 4093))
    out += opener.close()
    assert hashlib.sha256(out).hexdigest() == vector["plaintext_sha256"]


def test_stated_size_classes() -> None:
    assert DATA["size_classes"] == [4096, 16384, 65536, 98304, 131072, 196608]
    assert [size_class(n) for n in (1, 4096, 4097, 65536, 65537, 98304, 98305)] == [
        4096,
        4096,
        16384,
        65536,
        98304,
        98304,
        131072,
    ]
    # Two classes per doubling, whole 64 KiB chunks from 128 KiB, overhead under 50 %.
    for n in range(65537, 1 << 24, 9973):
        padded = size_class(n)
        assert padded == 98304 or padded % 65536 == 0
        assert padded < 1.5 * n


@pytest.mark.parametrize("entry", DATA["tokens"], ids=[t["token"] for t in DATA["tokens"]])
def test_token_derives_the_stated_signing_key(entry: dict[str, Any]) -> None:
    limits = entry["min"]
    secrets = derive(entry["token"], KdfLimits(limits["opslimit"], limits["memlimit"]))
    assert secrets.signing.verify.hex() == limits["case_signing_key"]


def test_node_reader_agrees_with_every_v3_vector() -> None:
    node = require("node")
    if not (NODE_DIR / "node_modules").is_dir():
        npm = require("npm")
        subprocess.run([npm, "ci", "--prefix", str(NODE_DIR)], check=True, cwd=ROOT, timeout=300)
    run = subprocess.run(
        [node, str(NODE_DIR / "open-vectors-v3.mjs"), str(VECTORS_FILE)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    results = {r["name"]: r for r in lines if "name" in r}
    assert set(results) == {v["name"] for v in VECTORS}
    for vector in VECTORS:
        result = results[vector["name"]]
        assert result["result"] == vector["expect"], vector["name"]
        if vector["expect"] == "ok":
            assert result["sha256"] == vector["plaintext_sha256"], vector["name"]
        if "seal" in vector:
            assert result["seal"] == vector["seal"], vector["name"]
    keys = {(r["token"], r["limits"]): r["case_signing_key"] for r in lines if "token" in r}
    for entry in DATA["tokens"]:
        for limits in ("min", "production"):
            assert keys[(entry["token"], limits)] == entry[limits]["case_signing_key"]


def test_vectors_file_is_where_the_spec_says() -> None:
    spec = (ROOT / "service" / "common" / "crypto" / "ENVELOPE-v3.md").read_text(encoding="utf-8")
    assert "tests/vectors/envelope-v3.json" in spec
    assert Path(NODE_DIR / "open-vectors-v3.mjs").is_file()
