"""A second, independent implementation (libsodium.js) opens the committed vectors.

tests/node/open-vectors.mjs was written from service/common/crypto/ENVELOPE-v1.md alone. If it
and the Python reader agree on every vector, the spec is complete enough to implement.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
VECTORS_FILE = ROOT / "tests" / "vectors" / "envelope-v1.json"


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed; the independent envelope reader cannot run"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_node_reader_agrees_with_every_vector() -> None:
    node = require("node")
    if not (NODE_DIR / "node_modules").is_dir():
        npm = require("npm")
        subprocess.run([npm, "ci", "--prefix", str(NODE_DIR)], check=True, cwd=ROOT, timeout=300)
    run = subprocess.run(
        [node, str(NODE_DIR / "open-vectors.mjs"), str(VECTORS_FILE)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    results = {r["name"]: r for r in map(json.loads, run.stdout.splitlines())}
    vectors = json.loads(VECTORS_FILE.read_text(encoding="ascii"))["vectors"]
    assert set(results) == {v["name"] for v in vectors}
    for vector in vectors:
        result = results[vector["name"]]
        assert result["result"] == vector["expect"], vector["name"]
        if vector["expect"] == "ok":
            assert result["sha256"] == vector["plaintext_sha256"], vector["name"]


PAYLOAD_VECTORS = ROOT / "tests" / "vectors" / "payload-v1.json"


def test_node_reader_agrees_with_every_payload_vector() -> None:
    """tests/node/read-payloads.mjs, its own strict JSON parser written from §8, gives
    each payload vector's verdicts: §8.1 (``expect``) and the desk's (``desk``)."""
    node = require("node")
    run = subprocess.run(
        [node, str(NODE_DIR / "read-payloads.mjs"), str(PAYLOAD_VECTORS)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    results = {r["name"]: r for r in map(json.loads, run.stdout.splitlines())}
    vectors = json.loads(PAYLOAD_VECTORS.read_text(encoding="ascii"))["vectors"]
    assert set(results) == {v["name"] for v in vectors}
    for vector in vectors:
        result = results[vector["name"]]
        assert (result["payload"], result["desk"]) == (vector["expect"], vector["desk"]), vector
        if vector["expect"] == "ok":
            assert result["meta"] == vector["meta"], vector["name"]
            assert result["sha256"] == vector["body_sha256"], vector["name"]
