"""Upload grants: a page whose browser seals files adds them to its case through the API.

The grant comes from the page the token opened; it adds items to that case only, cannot
read anything, and is refused once altered, expired, or made before a restart.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.envelope import seal
from service.common.crypto.formstate import FormStateKey
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import encode_payload_prefix
from service.server.deps import Runtime
from tests.support import file_report, opened_items

GRANT = re.compile(r'data-grant="([A-Za-z0-9_=-]+)"')
KEYS = re.compile(r'data-keys="([0-9a-f ]+)"')
CASE_KEY = re.compile(r'data-case-key="([0-9a-f]{64})"')
PATCH_HEADERS = {"Content-Type": "application/offset+octet-stream"}


def _status_page(client: TestClient, token: str) -> str:
    response = client.post("/en/status", data={"token": token})
    assert response.status_code == 200
    text: str = response.text
    return text


def _field(pattern: re.Pattern[str], html: str) -> str:
    match = pattern.search(html)
    assert match is not None
    return match.group(1)


def _sealed_file(html: str, body: bytes) -> bytes:
    meta = {"type": "file", "name": "scan.pdf", "case_public_key": _field(CASE_KEY, html)}
    keys = [bytes.fromhex(k) for k in _field(KEYS, html).split()]
    return seal(encode_payload_prefix(meta) + body, keys)


def _upload(client: TestClient, grant: str, sealed: bytes) -> dict[str, object]:
    start = client.post("/api/v1/uploads", json={"grant": grant, "size": len(sealed)})
    assert start.status_code == 201, start.text
    upload = start.json()["upload"]
    done = client.patch(
        f"/api/v1/uploads/{upload}",
        content=sealed,
        headers={**PATCH_HEADERS, "Upload-Offset": "0"},
    )
    assert done.status_code == 200, done.text
    state: dict[str, object] = done.json()
    return state


def test_grant_from_the_status_page_adds_a_file_to_that_case(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    token = file_report(client, country="KG", filer__role="victim")
    html = _status_page(client, token)
    state = _upload(client, _field(GRANT, html), _sealed_file(html, b"%PDF-1.7 scan"))
    assert state["complete"] is True
    assert "holds 2 sealed items" in _status_page(client, token)
    (_answers, (meta, body)) = opened_items(runtime, desk_keys)
    assert (meta["name"], body) == ("scan.pdf", b"%PDF-1.7 scan")


def test_grant_reaches_only_its_own_case(client: TestClient) -> None:
    first = file_report(client, country="KG", filer__role="victim")
    second = file_report(client, country="KG", filer__role="victim")
    html = _status_page(client, first)
    _upload(client, _field(GRANT, html), _sealed_file(html, b"one"))
    assert "holds 2 sealed items" in _status_page(client, first)
    assert "holds 1 sealed item." in _status_page(client, second)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda g: g[:-4] + ("AAAA" if not g.endswith("AAAA") else "BBBB"),  # altered
        lambda g: g[:20],  # cut short
        lambda g: "F1" + g[2:],  # not even base64 of a grant
    ],
)
def test_altered_grant_is_refused(client: TestClient, spoil: object) -> None:
    token = file_report(client, country="KG", filer__role="victim")
    html = _status_page(client, token)
    grant = spoil(_field(GRANT, html))  # type: ignore[operator]
    response = client.post("/api/v1/uploads", json={"grant": grant, "size": 200})
    assert response.status_code in (400, 409)
    assert grant not in response.text
    assert "holds 1 sealed item." in _status_page(client, token)


def test_grant_from_before_a_restart_or_too_old_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    token = file_report(client, country="KG", filer__role="victim")
    grant = _field(GRANT, _status_page(client, token))
    now = [0.0]
    # A restart: the process draws a new key, so every grant in flight is dead.
    runtime.upload_grants = FormStateKey(max_age_hours=6, clock=lambda: now[0])
    response = client.post("/api/v1/uploads", json={"grant": grant, "size": 200})
    assert response.status_code == 409
    assert response.json()["error"] == "upload_grant"
    fresh = _field(GRANT, _status_page(client, token))
    assert client.post("/api/v1/uploads", json={"grant": fresh, "size": 200}).status_code == 201
    now[0] = 7 * 3600.0  # seven hours later: past GRANT_HOURS
    late = client.post("/api/v1/uploads", json={"grant": fresh, "size": 200})
    assert late.json()["error"] == "upload_grant"


def test_a_grant_reads_nothing_and_is_no_lookup_id(client: TestClient) -> None:
    token = file_report(client, country="KG", filer__role="victim")
    grant = _field(GRANT, _status_page(client, token))
    # Not a lookup id: the status endpoint takes only one, and a grant is not one.
    assert client.post("/api/v1/status", json={"lookup_id": grant}).status_code == 400
    assert client.post("/api/v1/status", json={"grant": grant}).status_code == 400
    # The page does not carry the lookup id itself.
    assert not re.search(r"[0-9a-f]{64}", grant)


def test_upload_needs_exactly_one_of_lookup_id_and_grant(client: TestClient) -> None:
    token = file_report(client, country="KG", filer__role="victim")
    grant = _field(GRANT, _status_page(client, token))
    both = {"grant": grant, "lookup_id": "0" * 64, "size": 200}
    assert client.post("/api/v1/uploads", json=both).status_code == 400
    assert client.post("/api/v1/uploads", json={"size": 200}).status_code == 400


def test_grant_is_not_form_state_and_form_state_is_no_grant(
    client: TestClient, runtime: Runtime
) -> None:
    token = file_report(client, country="KG", filer__role="victim")
    grant = _field(GRANT, _status_page(client, token))
    state = runtime.form_state.seal(b"\x00" * 16, context=b"aryz-upload-grant-v1")
    # Sealed with the form-state key under the grant's own context: still refused.
    response = client.post("/api/v1/uploads", json={"grant": state, "size": 200})
    assert response.json()["error"] == "upload_grant"
    step = client.post("/en/report", data={"state": grant, "step": "filer", "go": "next"})
    assert step.status_code == 400  # the questionnaire cannot open a grant either
