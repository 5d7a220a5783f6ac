"""Security brief item 9: headers on every response, Host and origin checks, fixed errors,
status pages of one size whatever they say."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.token import generate_token
from service.common.webkit.security import STRICT_CSP
from service.server.app import build_runtime, create_app
from service.server.deps import Runtime
from service.server.settings import Mode
from tests.conftest import make_settings
from tests.support import add_files, file_report, state_of

REQUIRED = {
    # Scripts and fetches only from this site, for the browser-side sealing (upload.js).
    "content-security-policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
FORBIDDEN = ("server", "date", "etag", "last-modified", "x-powered-by", "set-cookie")


def _check_headers(response: object, csp: str | None = None) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in REQUIRED.items():
        wanted = csp if csp is not None and name == "content-security-policy" else value
        assert headers.get(name) == wanted, name
    for name in FORBIDDEN:
        assert name not in headers, name


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/en/", 200),
        ("GET", "/static/aryz.css", 200),
        ("GET", "/api/v1/info", 200),
        ("GET", "/en/nothing-here", 404),
        ("GET", "/xx/", 404),
        ("POST", "/en/status", 400),
        ("POST", "/api/v1/status", 400),
        ("DELETE", "/en/", 405),
    ],
)
def test_every_status_code_carries_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    _check_headers(response)


def test_wrong_host_is_refused_with_headers(client: TestClient) -> None:
    response = client.get("/en/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil" not in response.text
    _check_headers(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "https://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_origin_post_is_refused(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    response = client.post("/en/report", data={"country": "KZ"}, headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "null"},
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin"},
    ],
)
def test_same_origin_post_is_accepted(client: TestClient, headers: dict[str, str]) -> None:
    state = state_of(client.get("/en/report").text)
    response = client.post(
        "/en/report",
        data={
            "state": state,
            "step": "filer",
            "go": "next",
            "country": "KZ",
            "recipient": "national",
        },
        headers=headers,
    )
    assert response.status_code == 200


def test_openapi_only_outside_production(
    client: TestClient, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 404
    production = make_settings(tmp_path, database_url, registry_dir, mode=Mode.TEST)
    runtime = build_runtime(production)
    runtime.settings = production.model_copy(update={"mode": Mode.PRODUCTION})
    with TestClient(create_app(runtime=runtime)) as prod:
        for path in ("/api/openapi.json", "/openapi.json", "/docs", "/redoc", "/api/docs"):
            assert prod.get(path).status_code == 404, path
    runtime.engine.dispose()


def test_error_pages_echo_nothing(client: TestClient) -> None:
    marker = "ECHO<b>ME</b>"
    for response in (
        client.get(f"/en/{marker}"),
        client.post("/en/status", data={"token": marker}),
        client.post("/api/v1/status", json={"lookup_id": marker}),
        client.post("/en/case/message", data={"token": "1" * 24, "message": marker}),
    ):
        assert "ECHO" not in response.text
        assert "Traceback" not in response.text


def test_status_pages_have_one_size_whatever_they_say(client: TestClient) -> None:
    token = file_report(client, narrative="a")
    found = client.post("/en/status", data={"token": token})
    add_files(client, token, [("a.bin", b"1" * 10), ("b.bin", b"2" * 10)])
    busier = client.post("/en/status", data={"token": token})
    # A well-formed token with a valid check digit that matches no case:
    missing = client.post("/en/status", data={"token": generate_token()})
    assert found.status_code == 200
    assert missing.status_code == 404
    assert len(found.content) == len(busier.content) == len(missing.content)
    ru_found = client.post("/ru/status", data={"token": token})
    assert len(ru_found.content) % 16384 == 0


def test_stored_rows_carry_weeks_not_timestamps(client: TestClient, runtime: Runtime) -> None:
    import re

    from sqlalchemy import select

    from service.server.models import Case, Item

    file_report(client)
    with runtime.sessions() as session:
        case = session.scalars(select(Case)).one()
        item = session.scalars(select(Item)).one()
    for value in (case.created_week, case.activity_week, item.created_week):
        assert re.fullmatch(r"\d{4}-W\d{2}", value)


def test_unexpected_failure_page_is_fixed_and_carries_the_headers(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)

    async def broken() -> None:
        raise RuntimeError("SECRET-DETAIL from deep inside")

    app.add_api_route("/en/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/en/broken")
    assert response.status_code == 500
    assert "SECRET-DETAIL" not in response.text
    assert "Traceback" not in response.text
    # Rendered outside the middleware: the strictest policy (no script at all).
    _check_headers(response, csp=STRICT_CSP.decode())


def test_status_answers_have_one_size_for_typos_and_malformed_tokens_too(
    client: TestClient,
) -> None:
    token = file_report(client)
    typo = token[:3] + str((int(token[3]) + 1) % 10) + token[4:]
    for lang in ("en", "ru"):
        sizes = {
            what: len(client.post(f"/{lang}/status", data={"token": value}).content)
            for what, value in {
                "found": token,
                "unknown": generate_token(),
                "typo": typo,
                "too short": "1234",
                "letters": "O" * 24,
            }.items()
        }
        assert len(set(sizes.values())) == 1, sizes


def test_too_large_and_cross_origin_answers_carry_the_security_headers(client: TestClient) -> None:
    too_large = client.post(
        "/en/status",
        content=b"token=1",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "999999999",
        },
    )
    cross = client.post(
        "/en/report", data={"country": "KZ"}, headers={"Origin": "http://x.example"}
    )
    bad_json = client.post(
        "/api/v1/status", content=b"{", headers={"Content-Type": "application/json"}
    )
    for response, status in ((too_large, 413), (cross, 400), (bad_json, 400)):
        assert response.status_code == status
        _check_headers(response)


CANARY = "CNRY7q"  # short and unlike any word, so any echo, however transformed, shows


def _echoes(response: object) -> list[str]:
    text = response.text  # type: ignore[attr-defined]
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())  # type: ignore[attr-defined]
    return [
        where for where, s in (("body", text), ("headers", headers)) if CANARY.lower() in s.lower()
    ]


def canary_requests() -> list[tuple[str, str, dict[str, object]]]:
    """Requests that put the canary in every place a client controls: path, query,
    header values and names, cookies, form field names and values, JSON keys and values,
    multipart filenames — aimed at pages that answer with errors."""
    headers = {
        "User-Agent": CANARY,
        "Accept-Language": f"{CANARY},en;q=0.5",
        "Referer": f"http://{CANARY}.example/",
        "X-Forwarded-For": CANARY,
        f"X-{CANARY}": CANARY,
        "Cookie": f"{CANARY}={CANARY}",
    }
    form = {"token": CANARY, "message": CANARY, CANARY: CANARY, "state": CANARY, "step": CANARY}
    files = {"file": (f"{CANARY}.jpg", CANARY.encode(), f"image/{CANARY}")}
    return [
        ("GET", f"/en/{CANARY}?{CANARY}={CANARY}", {"headers": headers}),
        ("GET", f"/{CANARY}/status", {"headers": headers}),
        ("GET", f"/static/{CANARY}.css", {}),
        ("GET", f"/api/v1/uploads/{CANARY}", {}),
        ("GET", f"/api/v1/{CANARY}", {}),
        ("DELETE", f"/en/{CANARY}", {}),
        ("POST", f"/en/status?token={CANARY}", {"data": form, "headers": headers}),
        ("POST", "/en/report", {"data": form, "headers": headers}),
        (
            "POST",
            "/en/report",
            {"data": {**form, "step": "filer", "go": "next", "country": CANARY}},
        ),
        ("POST", "/en/report/submit", {"data": {**form, "action": CANARY}}),
        ("POST", "/en/case/message", {"data": {**form, "token": "1" * 24}}),
        ("POST", "/en/case/files", {"data": {"token": CANARY}, "files": files}),
        ("POST", "/en/case/files", {"files": files}),
        ("POST", "/en/status", {"data": form, "headers": {"Origin": f"http://{CANARY}"}}),
        ("POST", "/en/status", {"data": form, "headers": {"Host": f"{CANARY}.onion"}}),
        ("POST", "/api/v1/status", {"json": {"lookup_id": CANARY, CANARY: CANARY}}),
        ("POST", "/api/v1/cases", {"json": {"coalition": CANARY, "answers": CANARY}}),
        ("POST", "/api/v1/uploads", {"json": {"lookup_id": CANARY, "size": CANARY}}),
        (
            "PATCH",
            f"/api/v1/uploads/{'ab' * 32}",
            {
                "content": CANARY.encode(),
                "headers": {"Upload-Offset": CANARY, "Content-Type": CANARY},
            },
        ),
        (
            "POST",
            "/api/v1/status",
            {
                "content": f'{{"{CANARY}": '.encode(),
                "headers": {"Content-Type": "application/json"},
            },
        ),
    ]


@pytest.mark.parametrize(("method", "path", "kwargs"), canary_requests())
def test_no_answer_echoes_anything_it_was_sent(
    client: TestClient, method: str, path: str, kwargs: dict[str, object]
) -> None:
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code >= 400
    assert _echoes(response) == []
    assert "Traceback" not in response.text
    _check_headers(response)
