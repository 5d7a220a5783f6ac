"""Bundles: only the courier's own coalition's complete, unacknowledged items, oldest
first; bytes stable for resuming with Range; every item exactly the stored ciphertext."""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.common.crypto.envelope import seal
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import MIN_LIMITS, derive, generate_token
from service.server.deps import Runtime
from service.server.models import Case, Item
from service.server.storage.items import iter_ciphertext
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    ack,
    bundle_items,
    case_refs,
    item_refs,
    outbox,
)
from tests.support import add_files, file_report

PHOTO = bytes(range(256)) * 6000  # 1.5 MB: more than one stored piece


def _stored(runtime: Runtime) -> dict[str, bytes]:
    """Item ref (hex) → stored ciphertext, for every item."""
    with runtime.sessions() as session:
        rows = session.execute(select(Item.id, Item.ref).order_by(Item.id)).all()
    sessions = runtime.sessions
    return {ref.hex(): b"".join(iter_ciphertext(sessions, item_id)) for item_id, ref in rows}


def _download(courier: Courier, bundle: str) -> bytes:
    response = courier.fetch(bundle)
    assert response.status_code == 200, response.text
    return response.content


def test_nothing_new_needs_no_file(kz_courier: Courier) -> None:
    assert kz_courier.prepare() == {"bundle": None, "size": 0, "items": 0}


def test_bundle_round_trip_matches_the_stored_ciphertext(
    client: TestClient, kz_courier: Courier, runtime: Runtime
) -> None:
    token = file_report(client, narrative="first")
    add_files(client, token, [("photo.jpg", PHOTO)])
    file_report(client, narrative="second")
    prepared = kz_courier.prepare()
    assert prepared["items"] == 3
    data = _download(kz_courier, prepared["bundle"])
    assert len(data) == prepared["size"]
    manifest, items = bundle_items(data)
    assert manifest.coalition == "kz-coalition"
    assert manifest.bundle == prepared["bundle"]
    stored = _stored(runtime)
    # Oldest first, each exactly what the database holds.
    assert [ref for ref, _ in items] == list(stored)
    for ref, body in items:
        assert body == stored[ref]
    refs = case_refs(runtime)
    assert [c.case for c in manifest.cases] == refs
    assert all(c.status == "received" and c.status_seq == 0 for c in manifest.cases)
    with runtime.sessions() as session:
        keys = {ref: key for ref, key in session.execute(select(Case.ref, Case.reply_public_key))}
    for case in manifest.cases:
        assert bytes.fromhex(case.reply_public_key) == keys[bytes.fromhex(case.case)]


def test_another_coalitions_items_are_invisible(
    client: TestClient, kz_courier: Courier, kg_courier: Courier, runtime: Runtime
) -> None:
    file_report(client, narrative="kz")
    file_report(client, narrative="kg", country="KG")
    kz_bundle = kz_courier.prepare()
    kg_bundle = kg_courier.prepare()
    assert kz_bundle["items"] == kg_bundle["items"] == 1
    kz_manifest, _ = bundle_items(_download(kz_courier, kz_bundle["bundle"]))
    assert [c.case for c in kz_manifest.cases] == case_refs(runtime, "kz-coalition")
    assert not set(item_refs(runtime, case_refs(runtime, "kg-coalition")[0])) & {
        i.item for i in kz_manifest.items
    }
    # Kyrgyzstan's courier cannot fetch Kazakhstan's bundle, nor the reverse.
    refused = kg_courier.fetch(kz_bundle["bundle"])
    assert refused.status_code == 404
    assert refused.json()["error"] == "not_found"
    assert kz_courier.fetch(kg_bundle["bundle"]).status_code == 404


def test_range_resumes_with_identical_bytes(
    client: TestClient, kz_courier: Courier, runtime: Runtime
) -> None:
    token = file_report(client)
    add_files(client, token, [("photo.jpg", PHOTO), ("b.bin", b"b" * 100)])
    prepared = kz_courier.prepare()
    whole = _download(kz_courier, prepared["bundle"])
    head = len(whole) - sum(len(c) for c in _stored(runtime).values())
    for offset in (1, head - 1, head, head + 5, head + 1024 * 1024 + 3, len(whole) - 1):
        part = kz_courier.fetch(prepared["bundle"], offset)
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes {offset}-{len(whole) - 1}/{len(whole)}"
        assert part.content == whole[offset:], offset


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=0-10", "bytes=-5", "items=0-"])
def test_unsupported_or_impossible_range_is_refused(
    client: TestClient, kz_courier: Courier, header: str
) -> None:
    file_report(client)
    bundle = kz_courier.prepare()["bundle"]
    response = kz_courier.request("GET", f"/courier/v1/bundles/{bundle}", headers={"range": header})
    assert response.status_code == 416
    assert response.json()["error"] == "range"


def test_asking_again_gives_the_same_bundle_until_something_changes(
    client: TestClient, kz_courier: Courier
) -> None:
    token = file_report(client)
    first = kz_courier.prepare()
    assert kz_courier.prepare() == first
    add_files(client, token, [("c.bin", b"c")])
    second = kz_courier.prepare()
    assert second["bundle"] != first["bundle"]
    assert second["items"] == 2


def test_max_bytes_takes_the_oldest_items_that_fit(
    client: TestClient, kz_courier: Courier, runtime: Runtime
) -> None:
    token = file_report(client)
    add_files(client, token, [("photo.jpg", PHOTO)])
    everything = kz_courier.prepare()
    stored = list(_stored(runtime).values())
    # Room for the answers and the manifest, not for the photo.
    small = kz_courier.prepare(max_bytes=everything["size"] - len(stored[1]))
    assert small["items"] == 1
    assert small["size"] <= everything["size"] - len(stored[1])
    manifest, items = bundle_items(_download(kz_courier, small["bundle"]))
    assert items[0][1] == stored[0]
    too_small = kz_courier.request("POST", "/courier/v1/bundles", b'{"max_bytes": 10}')
    assert too_small.status_code == 400
    assert too_small.json()["error"] == "bundle_too_small"


@pytest.mark.parametrize(
    "body", [b"[]", b'{"max_bytes": 0}', b'{"max_bytes": "1"}', b'{"other": 1}', b"\xff"]
)
def test_bad_bundle_request_gets_a_fixed_error(kz_courier: Courier, body: bytes) -> None:
    response = kz_courier.request("POST", "/courier/v1/bundles", body)
    assert response.status_code == 400
    assert response.json()["error"] == "form"


def test_unfinished_uploads_are_not_bundled(
    client: TestClient, kz_courier: Courier, runtime: Runtime
) -> None:
    secrets = derive(generate_token(), MIN_LIMITS)
    info = client.get("/api/v1/info").json()
    (kz,) = [c for c in info["coalitions"] if c["id"] == "kz-coalition"]
    keys = [bytes.fromhex(k["public_key"]) for k in kz["keys"]]
    answers = seal(encode_payload_prefix({"type": "answers"}) + b"{}", keys)
    created = client.post(
        "/api/v1/cases",
        json={
            "coalition": "kz-coalition",
            "lookup_id": secrets.lookup_id.hex(),
            "reply_public_key": secrets.reply.public.hex(),
            "answers": base64.b64encode(answers).decode(),
        },
    )
    assert created.status_code == 201
    started = client.post(
        "/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": 5000}
    )
    assert started.status_code == 201
    assert kz_courier.prepare()["items"] == 1  # the answers, not the upload in progress


def test_acknowledged_items_leave_the_bundle(
    client: TestClient, kz_courier: Courier, kz: DeskKeys, runtime: Runtime
) -> None:
    token = file_report(client)
    add_files(client, token, [("a.bin", b"a")])
    old = kz_courier.prepare()
    (case,) = case_refs(runtime)
    first, second = item_refs(runtime, case)
    pushed = kz_courier.push(outbox(kz, [ack("kz-coalition", case, 1, [first])]))
    assert pushed.status_code == 200, pushed.text
    # The old bundle lists an item the server no longer has: it cannot be served.
    assert kz_courier.fetch(old["bundle"]).status_code == 404
    new = kz_courier.prepare()
    assert new["items"] == 1
    _manifest, items = bundle_items(_download(kz_courier, new["bundle"]))
    assert [ref for ref, _ in items] == [second]
    assert hashlib.sha256(items[0][1]).hexdigest() == _manifest.items[0].sha256


def test_bad_bundle_ids_are_not_found(kz_courier: Courier) -> None:
    for bundle in ("zz" * 16, "ab", "AB" * 16, "ab" * 16):
        response = kz_courier.fetch(bundle)
        assert response.status_code == 404
        assert "ab" not in response.text.lower().replace("not_found", "")
