"""What the intake accepts, strictly (attack F7, F8, F9)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.server.deps import Runtime
from service.server.models import Item
from tests.support import add_files, api_case, count, file_report


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
