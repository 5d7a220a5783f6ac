"""Bad input gets a clear, fixed error that echoes nothing, and loses nothing earlier."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.keys import BoxKeyPair
from service.server.deps import Runtime
from service.server.models import Case, Item
from tests.support import add_files, count, file_report, opened_items


@pytest.fixture
def filed(client: TestClient) -> str:
    """A case that already holds answers and a file: every test checks it survives."""
    token = file_report(client, narrative="earlier report")
    assert add_files(client, token, [("first.jpg", b"\xff\xd8" + b"p" * 5000)]).status_code == 200
    return token


def _intact(runtime: Runtime, keys: dict[str, BoxKeyPair]) -> None:
    items = opened_items(runtime, keys)
    assert [m["type"] for m, _ in items][:2] == ["answers", "file"]
    assert items[1][1] == b"\xff\xd8" + b"p" * 5000
    assert count(runtime, Item, Item.state == "pending") == 0


def test_oversized_file_upload(
    client: TestClient, runtime: Runtime, filed: str, desk_keys: dict[str, BoxKeyPair]
) -> None:
    small = runtime.settings.model_copy(update={"max_submission_bytes": 100_000})
    runtime.settings = small
    response = add_files(client, filed, [("big.bin", b"b" * 300_000)])
    assert response.status_code == 413
    assert "larger than allowed" in response.text
    _intact(runtime, desk_keys)


def test_oversized_answers(client: TestClient, runtime: Runtime) -> None:
    response = client.post(
        "/en/report", data={"step": "narrative", "go": "next", "narrative.text": "x" * 600_000}
    )
    assert response.status_code == 413
    assert count(runtime, Case) == 0


@pytest.mark.parametrize(
    "body",
    [
        b'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\n1234',  # cut off
        b"garbage without any boundary",
        b"--b\r\nno-disposition: x\r\n\r\nvalue\r\n--b--\r\n",
    ],
)
def test_malformed_multipart(
    client: TestClient, runtime: Runtime, filed: str, desk_keys: dict[str, BoxKeyPair], body: bytes
) -> None:
    response = client.post(
        "/en/case/files", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 400
    assert "could not be read" in response.text
    _intact(runtime, desk_keys)


def test_files_form_without_token_first(
    client: TestClient, runtime: Runtime, filed: str, desk_keys: dict[str, BoxKeyPair]
) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        b'data\r\n--b\r\nContent-Disposition: form-data; name="token"\r\n\r\n'
        + filed.encode()
        + b"\r\n--b--\r\n"
    )
    response = client.post(
        "/en/case/files", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 400
    _intact(runtime, desk_keys)


def test_upload_cut_off_mid_file_keeps_earlier_items(
    client: TestClient, runtime: Runtime, filed: str, desk_keys: dict[str, BoxKeyPair]
) -> None:
    # A client that stops sending mid-file: the body ends with no closing boundary.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="token"\r\n\r\n'
        + filed.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"'
        b"\r\n\r\n" + b"v" * 2_500_000
    )
    response = client.post(
        "/en/case/files", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 400
    _intact(runtime, desk_keys)
    assert count(runtime, Item) == 2


def test_invalid_utf8_and_nul(client: TestClient, runtime: Runtime) -> None:
    for body in (b"narrative.text=%FF%FE", b"narrative.text=a%00b", b"narrative.text=\xff"):
        response = client.post(
            "/en/report",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400, body
        assert "could not be read" in response.text
    assert count(runtime, Case) == 0


def test_path_traversal_filename_is_reduced_to_its_name(
    client: TestClient, runtime: Runtime, filed: str, desk_keys: dict[str, BoxKeyPair]
) -> None:
    response = add_files(client, filed, [("..\\..\\windows\\evil\u202egpj.exe", b"z")])
    assert response.status_code == 200
    meta, _ = opened_items(runtime, desk_keys)[-1]
    assert meta["name"] == "evilgpj.exe"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("1234", "A token is 24 digits"),
        ("O" * 24, "A token is 24 digits"),  # look-alike letters are not digits
        ("З" * 24, "A token is 24 digits"),  # Cyrillic Ze looks like 3
    ],
)
def test_malformed_tokens(client: TestClient, token: str, expected: str) -> None:
    response = client.post("/en/status", data={"token": token})
    assert response.status_code == 400
    assert expected in response.text
    # Digits the person typed go back into the field only (retyping 24 digits is hard on
    # a phone); anything else is not refilled, and nothing is echoed in the message.
    refill = f'value="{token}"' if token.isdigit() else 'value=""'
    assert refill in response.text
    assert token not in response.text.replace(refill, "")


def test_token_typo_is_caught_before_lookup(client: TestClient, filed: str) -> None:
    typo = filed[:3] + str((int(filed[3]) + 1) % 10) + filed[4:]
    response = client.post("/en/status", data={"token": typo})
    assert response.status_code == 400
    assert "typo" in response.text
    swapped = filed[:5] + filed[6] + filed[5] + filed[7:]
    if swapped != filed:
        assert "typo" in client.post("/en/status", data={"token": swapped}).text


def test_token_in_other_digit_scripts_and_spacing_is_accepted(
    client: TestClient, filed: str
) -> None:
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in filed)
    spaced = " - ".join(filed[i : i + 4] for i in range(0, 24, 4))
    for variant in (arabic_indic, spaced):
        assert client.post("/en/status", data={"token": variant}).status_code == 200


def test_wrong_content_length_claim(client: TestClient) -> None:
    response = client.post(
        "/en/status",
        content=b"token=1",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "999999999",
        },
    )
    assert response.status_code == 413
