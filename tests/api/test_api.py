"""JSON API v1: client-side sealing, idempotent case creation, resumable uploads."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.envelope import seal
from service.common.crypto.keys import BoxKeyPair, generate_box_keypair
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import MIN_LIMITS, TokenSecrets, derive, generate_token
from service.server.deps import Runtime
from service.server.models import Case, Item
from tests.support import count, opened_items


def _recipients(client: TestClient, coalition: str) -> list[bytes]:
    info = client.get("/api/v1/info").json()
    (entry,) = [c for c in info["coalitions"] if c["id"] == coalition]
    return [bytes.fromhex(k["public_key"]) for k in entry["keys"]]


def _create(
    client: TestClient, coalition: str = "kg-coalition", body: bytes = b'{"answers": {}}'
) -> tuple[TokenSecrets, dict[str, str]]:
    secrets = derive(generate_token(), MIN_LIMITS)
    sealed = seal(encode_payload_prefix({"type": "answers"}) + body, _recipients(client, coalition))
    payload = {
        "coalition": coalition,
        "lookup_id": secrets.lookup_id.hex(),
        "reply_public_key": secrets.reply.public.hex(),
        "answers": base64.b64encode(sealed).decode(),
    }
    return secrets, payload


def test_info_lists_coalitions_keys_and_kdf(client: TestClient) -> None:
    info = client.get("/api/v1/info").json()
    assert info["kdf"] == {
        "algorithm": "argon2id13",
        "opslimit": MIN_LIMITS.opslimit,
        "memlimit": MIN_LIMITS.memlimit,
    }
    ids = {c["id"] for c in info["coalitions"]}
    assert {"kz-coalition", "kg-coalition", "tj-coalition", "ahrca", "tihr", "iphr"} <= ids
    assert all(len(c["keys"]) == 1 for c in info["coalitions"])


def test_case_created_once_and_retry_is_idempotent(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    secrets, payload = _create(client, body=b'{"answers": {"narrative": "api"}}')
    first = client.post("/api/v1/cases", json=payload)
    assert first.status_code == 201
    assert first.json() == {"created": True}
    again = client.post("/api/v1/cases", json=payload)
    assert again.status_code == 200
    assert again.json() == {"created": False}
    assert count(runtime, Case) == 1
    ((_meta, body),) = opened_items(runtime, desk_keys)
    assert json.loads(body) == {"answers": {"narrative": "api"}}
    status = client.post("/api/v1/status", json={"lookup_id": secrets.lookup_id.hex()})
    answer = status.json()
    assert answer.pop("case") is not None  # the ref the desk signs records with
    assert answer == {
        "status": "received",
        "items_received": 1,
        "replies": [],
        "coalition": "kg-coalition",
        "status_signature": None,  # the server's own "received": nothing signed yet
        "reply_signatures": [],
        "reply_coalitions": [],
        "transfer": None,  # never passed on from another coalition
        "urgent": None,  # no urgent lane: no duty officer's acknowledgement
    }


def test_item_sealed_to_a_foreign_key_is_refused(client: TestClient, runtime: Runtime) -> None:
    secrets = derive(generate_token(), MIN_LIMITS)
    stranger = generate_box_keypair().public
    payload = {
        "coalition": "kz-coalition",
        "lookup_id": secrets.lookup_id.hex(),
        "reply_public_key": secrets.reply.public.hex(),
        "answers": base64.b64encode(seal(b"x", [stranger])).decode(),
    }
    response = client.post("/api/v1/cases", json=payload)
    assert response.status_code == 400
    assert response.json()["error"] == "envelope_format"
    assert count(runtime, Case) == 0


def test_item_sealed_for_another_coalition_is_refused(client: TestClient) -> None:
    _secrets, payload = _create(client, coalition="kg-coalition")
    payload["coalition"] = "kz-coalition"
    assert client.post("/api/v1/cases", json=payload).status_code == 400


def test_unknown_lookup_id_is_not_found(client: TestClient) -> None:
    response = client.post("/api/v1/status", json={"lookup_id": "00" * 32})
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Nothing was found."}


def _upload(client: TestClient, secrets: TokenSecrets, sealed: bytes) -> str:
    response = client.post(
        "/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": len(sealed)}
    )
    assert response.status_code == 201
    upload: str = response.json()["upload"]
    return upload


def _patch(client: TestClient, upload: str, offset: int, data: bytes) -> object:
    return client.patch(
        f"/api/v1/uploads/{upload}",
        content=data,
        headers={"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
    )


def test_resumable_upload_in_pieces_completes_and_decrypts(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    secrets, payload = _create(client)
    client.post("/api/v1/cases", json=payload)
    plaintext = bytes(range(251)) * 12_000  # ~3 MB: several stored pieces and frames
    sealed = seal(
        encode_payload_prefix({"type": "file", "name": "v.mp4"}) + plaintext,
        _recipients(client, "kg-coalition"),
    )
    upload = _upload(client, secrets, sealed)
    # A first piece that stops inside the header, as a dropped circuit might leave it.
    first = _patch(client, upload, 0, sealed[:100])
    assert first.json()["offset"] == 100  # type: ignore[attr-defined]
    assert count(runtime, Item, Item.state == "complete") == 1  # not visible yet
    # Resuming at the wrong offset is refused and loses nothing.
    wrong = _patch(client, upload, 50, sealed[50:200])
    assert wrong.status_code == 409  # type: ignore[attr-defined]
    state = client.get(f"/api/v1/uploads/{upload}").json()
    assert state["offset"] == 100
    assert not state["complete"]
    done = _patch(client, upload, 100, sealed[100:])
    assert done.json()["complete"] is True  # type: ignore[attr-defined]
    files = [(m, b) for m, b in opened_items(runtime, desk_keys) if m["type"] == "file"]
    assert files == [({"type": "file", "name": "v.mp4"}, plaintext)]


def test_upload_past_its_declared_size_is_refused(client: TestClient) -> None:
    secrets, payload = _create(client)
    client.post("/api/v1/cases", json=payload)
    sealed = seal(b"abc", _recipients(client, "kg-coalition"))
    upload = _upload(client, secrets, sealed)
    response = _patch(client, upload, 0, sealed + b"extra")
    assert response.status_code == 413  # type: ignore[attr-defined]


def test_garbage_upload_is_discarded_whole(client: TestClient, runtime: Runtime) -> None:
    secrets, payload = _create(client)
    client.post("/api/v1/cases", json=payload)
    garbage = b"\x00" * 5000
    upload = _upload(client, secrets, garbage)
    response = _patch(client, upload, 0, garbage)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert count(runtime, Item) == 1  # only the answers; the garbage item is gone
    assert client.get(f"/api/v1/uploads/{upload}").status_code == 404


def test_envelope_of_impossible_length_is_refused_at_completion(
    client: TestClient, runtime: Runtime
) -> None:
    # The server cannot decrypt, so it checks what it can: the header and that the length
    # is one a v1 stream can have. (A cut at a frame boundary is caught by the desk,
    # whose reader requires the final tag.)
    secrets, payload = _create(client)
    client.post("/api/v1/cases", json=payload)
    sealed = seal(b"y" * 200_000, _recipients(client, "kg-coalition"))
    header_len = 6 + 88 + 24
    cut = sealed[: header_len + 3 * 65553 + 5]  # a final frame shorter than its tag
    upload = _upload(client, secrets, cut)
    assert _patch(client, upload, 0, cut).status_code == 400  # type: ignore[attr-defined]
    assert count(runtime, Item) == 1


def test_upload_capability_must_be_hex_of_the_right_length(client: TestClient) -> None:
    assert client.get("/api/v1/uploads/zz").status_code == 409
    assert client.get(f"/api/v1/uploads/{'00' * 32}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {
            "coalition": "kz-coalition",
            "lookup_id": "XYZ",
            "reply_public_key": "00" * 32,
            "answers": "AA==",
        },
        {
            "coalition": "kz-coalition",
            "lookup_id": "00" * 32,
            "reply_public_key": "00" * 32,
            "answers": "not base64!!",
        },
        {
            "coalition": "kz-coalition",
            "lookup_id": "00" * 32,
            "reply_public_key": "00" * 32,
            "answers": "AA==",
            "extra": "<script>alert(1)</script>",
        },
    ],
)
def test_invalid_bodies_get_a_fixed_error_that_echoes_nothing(
    client: TestClient, body: dict[str, str]
) -> None:
    response = client.post("/api/v1/cases", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "error": "form",
        "message": "The form could not be read. Please try again.",
    }


def test_unknown_coalition(client: TestClient) -> None:
    _secrets, payload = _create(client)
    payload["coalition"] = "nobody"
    assert client.post("/api/v1/cases", json=payload).json()["error"] == "unknown_coalition"
