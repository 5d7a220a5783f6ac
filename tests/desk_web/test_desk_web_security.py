"""Loopback only, the right Host only, same-site POSTs only, strict headers on every
response, fixed error pages that echo nothing."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from service.cli import build_parser
from service.common.webkit.security import REFUSED_PAGE, SECURITY_HEADERS
from service.desk.casework.desk import Desk
from service.desk.web.app import create_desk_app, serve
from service.desk.web.errors import LoopbackOnlyError, PortError
from service.desk.web.settings import DEFAULT_PORT
from tests.desk_web.conftest import BASE, PORT
from tests.desk_web.seed import Seeded


def assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        assert headers[name.decode()] == value.decode(), name
    assert "default-src 'none'" in headers["content-security-policy"]
    for absent in ("server", "date", "etag", "last-modified", "set-cookie"):
        assert absent not in headers


def test_every_kind_of_response_has_the_security_headers(
    client: TestClient, seeded: Seeded
) -> None:
    case_page = client.get(f"/en/case/{seeded.main.ref}")
    original = next(
        part.split('"')[0]
        for part in case_page.text.split('href="')
        if part.split('"')[0].endswith("/original")
    )
    responses = [
        client.get("/"),
        client.get("/en/"),
        case_page,
        client.get(original),
        client.get("/static/desk.css"),
        client.get("/en/import"),
        client.get("/en/nowhere"),
        client.get("/en/?sort=nonsense"),
        client.post(f"/en/case/{seeded.main.ref}/triage", data={"note": "n"}),
        client.get(f"/en/case/{seeded.main.ref}/triage"),  # wrong method
    ]
    assert [r.status_code for r in responses] == [303, 200, 200, 200, 200, 200, 404, 400, 303, 405]
    for response in responses:
        assert_hardened(response)
    assert "<script" not in case_page.text.lower()


def test_an_unexpected_failure_is_a_fixed_page_with_the_headers(
    client: TestClient, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("decrypted secret 7731")

    monkeypatch.setattr(desk, "list_cases", broken)
    response = client.get("/en/")
    assert response.status_code == 500
    assert_hardened(response)
    assert "Something went wrong" in response.text
    assert "7731" not in response.text
    assert "RuntimeError" not in response.text


@pytest.mark.parametrize(
    "host", ["evil.example", "127.0.0.1", f"127.0.0.1:{PORT + 1}", "[::1]:8765", "0.0.0.0:8765"]
)
def test_a_foreign_host_is_refused(client: TestClient, seeded: Seeded, host: str) -> None:
    response = client.get(f"/en/case/{seeded.main.ref}", headers={"host": host})
    assert response.status_code == 400
    assert response.content == REFUSED_PAGE
    assert_hardened(response)


def test_localhost_with_the_port_is_served(client: TestClient) -> None:
    assert client.get("/en/", headers={"host": f"localhost:{PORT}"}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": f"http://127.0.0.1:{PORT + 1}"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_cross_site_post_is_refused_and_changes_nothing(
    client: TestClient, seeded: Seeded, desk: Desk, headers: dict[str, str]
) -> None:
    ref = seeded.main.ref
    for path, form in (
        (f"/en/case/{ref}/triage", {"status": "closed", "note": "forged"}),
        (f"/en/case/{ref}/reply", {"reply": "forged"}),
        ("/en/export", {"path": "/tmp/forged-outbox.json"}),
        ("/en/import", {"path": str(seeded.bundle)}),
    ):
        response = client.post(path, data=form, headers=headers)
        assert response.status_code == 400
        assert response.content == REFUSED_PAGE
    detail = desk.get_case(ref)
    assert detail.summary.status == "received"
    assert detail.notes == ()
    assert detail.replies == ()


def test_a_same_site_post_from_a_browser_is_accepted(client: TestClient, seeded: Seeded) -> None:
    # What Chromium sends for our own form under Referrer-Policy: no-referrer.
    for headers in (
        {"origin": BASE, "sec-fetch-site": "same-origin"},
        {"origin": "null", "sec-fetch-site": "same-origin"},
    ):
        response = client.post(
            f"/en/case/{seeded.main.ref}/triage", data={"note": "ok"}, headers=headers
        )
        assert response.status_code == 303


def test_no_api_documentation_is_served(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404


def test_oversized_and_malformed_forms_get_fixed_pages(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    url = f"/en/case/{seeded.main.ref}/reply"
    huge = client.post(url, content=b"reply=" + b"a" * (5 << 20), headers=_form_type())
    assert huge.status_code == 413
    assert "larger than allowed" in huge.text
    bad = client.post(url, content=b"reply=%FF%FE", headers=_form_type())
    assert bad.status_code == 400
    assert "The form could not be read." in bad.text
    assert desk.get_case(seeded.main.ref).replies == ()


def _form_type() -> dict[str, str]:
    return {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "localhost", "192.168.1.5", "::1"])  # noqa: S104
def test_serve_refuses_to_listen_beyond_loopback(desk: Desk, host: str) -> None:
    with pytest.raises(LoopbackOnlyError):
        serve(desk, PORT, host=host)


@pytest.mark.parametrize("port", [0, 80, 1023, 65536])
def test_serve_refuses_a_privileged_or_impossible_port(desk: Desk, port: int) -> None:
    with pytest.raises(PortError):
        serve(desk, port)


def test_the_web_command_is_registered() -> None:
    args = build_parser().parse_args(["desk", "web", "--dir", "/media/desk"])
    assert args.port == DEFAULT_PORT
    assert build_parser().parse_args(["desk", "web", "--dir", "d", "--port", "9000"]).port == 9000
    for bad in ("80", "x", "70000"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["desk", "web", "--dir", "d", "--port", bad])
    with pytest.raises(SystemExit):  # there is no way to ask for another address
        build_parser().parse_args(["desk", "web", "--dir", "d", "--host", "0.0.0.0"])  # noqa: S104


def test_an_app_built_for_another_port_refuses_this_one(desk: Desk) -> None:
    with TestClient(create_desk_app(desk, PORT + 7), base_url=BASE) as other:
        assert other.get("/en/").status_code == 400
