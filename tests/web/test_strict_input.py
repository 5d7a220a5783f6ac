"""What the intake accepts, strictly (attack F7, F8, F9, F12)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.token import generate_token
from service.server.deps import Runtime
from service.server.models import Case, Item
from tests.support import (
    TOKEN_FIELD,
    add_files,
    api_case,
    count,
    file_report,
    mark_of,
    reach_review,
    state_of,
)

EMPTY_FILE = {"file": ("", b"", "application/octet-stream")}  # a file input left empty


@pytest.mark.parametrize("size", [200_000, 10])
def test_too_many_files_keeps_exactly_the_first_ones_and_says_so(
    client: TestClient, runtime: Runtime, size: int
) -> None:
    # Attack F7: 21 small files kept none, 21 large ones kept 19, and both pages said
    # "whatever you sent before this was kept".
    token = file_report(client)
    before = count(runtime, Item, Item.state == "complete")
    limit = runtime.settings.max_files_per_request
    files = [(f"f{n}.bin", bytes([n]) * size) for n in range(limit + 1)]
    response = add_files(client, token, files)
    assert response.status_code == 413
    assert f"The first {limit} were kept" in response.text
    assert "Whatever you sent before this was kept" not in response.text
    assert count(runtime, Item, Item.state == "complete") == before + limit


@pytest.mark.parametrize("size", ["100", 100.0, True, "1e2"])
def test_upload_size_must_be_a_json_integer(client: TestClient, size: object) -> None:
    secrets = api_case(client)
    response = client.post(
        "/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": size}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "form"


@pytest.mark.parametrize("offset", ["0.0", "+0", " 0", "00", "0x0", "-0", "1" * 19])
def test_upload_offset_must_be_plain_decimal(client: TestClient, offset: str) -> None:
    secrets = api_case(client)
    started = client.post("/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": 9})
    upload = started.json()["upload"]
    response = client.patch(
        f"/api/v1/uploads/{upload}",
        content=b"x",
        headers={"Upload-Offset": offset, "Content-Type": "application/offset+octet-stream"},
    )
    assert response.status_code == 400
    assert client.get(f"/api/v1/uploads/{upload}").json()["offset"] == 0


def test_an_upload_has_one_spelling(client: TestClient) -> None:
    secrets = api_case(client)
    started = client.post("/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": 9})
    upload = started.json()["upload"]
    assert client.get(f"/api/v1/uploads/{upload}").status_code == 200
    spaced = " ".join(upload[i : i + 2] for i in range(0, len(upload), 2))
    for other in (upload.upper(), spaced, upload + " "):
        response = client.get(f"/api/v1/uploads/{other}")
        assert response.status_code == 409
        assert upload.upper() not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        [("origin", "http://evil.example"), ("origin", "http://testserver")],
        [("origin", "http://testserver"), ("origin", "http://evil.example")],
        [("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-origin")],
        [("sec-fetch-site", "same-origin"), ("sec-fetch-site", "same-origin")],
    ],
)
def test_duplicate_origin_checks_are_refused(
    client: TestClient, headers: list[tuple[str, str]]
) -> None:
    # Attack F9: the check read the last of two Origins.
    response = client.post(
        "/en/status",
        content=b"token=1",
        headers=[("content-type", "application/x-www-form-urlencoded"), *headers],
    )
    assert response.status_code == 400
    assert "This request was refused" in response.text


@pytest.mark.parametrize("path", ["/en/", "/", "/en/safety", "/en/weather", "/api/v1/info"])
def test_head_is_answered_like_get_without_a_body(client: TestClient, path: str) -> None:
    # Attack F12: HEAD on every page was 405.
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    for name in ("content-security-policy", "x-content-type-options", "cache-control"):
        assert head.headers[name] == got.headers[name]
    # A HEAD never reaches a route that only POST serves.
    assert client.head("/api/v1/cases").status_code == 405


def test_a_token_the_client_chose_is_not_filed(client: TestClient, runtime: Runtime) -> None:
    # Attack F12: /report/submit filed any well-formed token the client posted.
    page = reach_review(client, narrative="my own token")
    chosen = "0" * 23 + "0"  # well formed: the Damm check digit of 23 zeros is 0
    form = {"state": state_of(page.text), "token": chosen, "action": "send"}
    for mark in ("", mark_of(page.text), "0" * 32):
        response = client.post("/en/report/submit", data={**form, "token_mark": mark})
        assert response.status_code == 400
        assert "000000" not in response.text
    assert count(runtime, Case) == 0
    # The write page's send likewise, and the page's own token with its mark still files.
    write = client.get("/en/report").text
    fields = {"state": state_of(write), "narrative.text": "x", "country": "KZ",
              "recipient": "national"}  # fmt: skip
    forged = {**fields, "token": generate_token(), "token_mark": mark_of(write)}
    assert client.post("/en/report/send", data=forged, files=EMPTY_FILE).status_code == 400
    assert count(runtime, Case) == 0
    token = TOKEN_FIELD.search(write)
    assert token is not None
    own = {**fields, "token": token.group(1), "token_mark": mark_of(write)}
    assert client.post("/en/report/send", data=own, files=EMPTY_FILE).status_code == 200
    assert count(runtime, Case) == 1
