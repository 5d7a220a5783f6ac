"""The web desk is not an open door (audit F-09): without this launch's link nothing is
served, no other site can make the browser fetch a page or a file, downloads are
attachments, the desk locks after idle time, and a key rotation is explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.cli import build_parser
from service.desk.casework.desk import Desk, rotate_key
from service.desk.web.app import create_desk_app
from service.desk.web.guard import COOKIE, Gate
from service.desk.web.settings import DEFAULT_IDLE_MINUTES
from tests.desk.helpers import PASSPHRASE
from tests.desk_web.conftest import BASE, PORT, logged_in
from tests.desk_web.seed import NARRATIVE, Seeded
from tests.desk_web.test_desk_web_security import assert_hardened


def _paths(client: TestClient, seeded: Seeded) -> list[str]:
    """Every kind of page and download of the desk (read while logged in)."""
    ref = seeded.main.ref
    html = client.get(f"/en/case/{ref}").text
    files = [
        part.split('"')[0]
        for part in html.split('href="')
        if part.split('"')[0].endswith(("/original", "/stripped"))
    ]
    assert len(files) >= 2
    return ["/", "/en/", f"/en/case/{ref}", "/en/import", "/en/export", "/en/stats",
            "/static/desk.css", "/en/nowhere", *files]  # fmt: skip


def _nothing_of_the_desk(body: bytes, seeded: Seeded, desk: Desk) -> None:
    for secret in (seeded.main.ref[:8], NARRATIVE.splitlines()[0], desk.coalition):
        assert secret.encode() not in body


def test_without_the_link_nothing_is_served(client: TestClient, seeded: Seeded, desk: Desk) -> None:
    paths = _paths(client, seeded)
    stranger = TestClient(client.app, base_url=BASE, follow_redirects=False)
    for path in paths:
        response = stranger.get(path)
        assert response.status_code == 403, path
        assert 'class="gate-login"' in response.text
        assert_hardened(response)
        _nothing_of_the_desk(response.content, seeded, desk)
        assert "set-cookie" not in response.headers
    for path, form in (
        (f"/en/case/{seeded.main.ref}/triage", {"status": "closed", "note": "forged"}),
        (f"/en/case/{seeded.main.ref}/reply", {"reply": "forged"}),
        ("/en/export", {"path": "/tmp/forged-outbox.json"}),
    ):
        assert stranger.post(path, data=form).status_code == 403
    detail = desk.get_case(seeded.main.ref)
    assert detail.summary.status == "received"
    assert detail.notes == ()
    assert detail.replies == ()


@pytest.mark.parametrize("cookie", ["", "x", "a" * 43])
def test_a_guessed_cookie_or_key_gets_nothing(
    client: TestClient, seeded: Seeded, desk: Desk, cookie: str
) -> None:
    stranger = TestClient(client.app, base_url=BASE, follow_redirects=False)
    stranger.cookies.set(COOKIE, cookie)
    response = stranger.get(f"/en/case/{seeded.main.ref}")
    assert response.status_code == 403
    _nothing_of_the_desk(response.content, seeded, desk)
    wrong = stranger.get(f"/login?key={cookie}")
    assert wrong.status_code == 403
    assert "set-cookie" not in wrong.headers


def test_the_link_sets_a_strict_cookie_and_leads_to_a_clean_address(desk: Desk) -> None:
    app = create_desk_app(desk, PORT)
    gate: Gate = app.state.gate
    assert len(gate.secret) >= 43  # 256 random bits
    with TestClient(app, base_url=BASE, follow_redirects=False) as browser:
        response = browser.get(gate.login_path)
        assert response.status_code == 303
        assert response.headers["location"] == "/ru/"
        cookie = response.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "samesite", "path"} <= attributes
        assert "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        assert gate.secret not in cookie  # the cookie is not the link's secret
        assert browser.get("/ru/").status_code == 200
    # Each launch has its own secret: another launch's link opens nothing here.
    assert Gate(desk.directory).secret != gate.secret


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "http://evil.example"},
        {"origin": f"http://127.0.0.1:{PORT + 1}"},
        {"origin": f"http://localhost:{PORT + 1}"},
    ],
)
def test_another_site_cannot_fetch_a_page_or_a_file_even_with_the_cookie(
    client: TestClient, seeded: Seeded, desk: Desk, headers: dict[str, str]
) -> None:
    for path in _paths(client, seeded):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
        assert 'class="gate-refused"' in response.text
        _nothing_of_the_desk(response.content, seeded, desk)
        assert "content-disposition" not in response.headers
    login = client.get(client.app.state.gate.login_path, headers=headers)  # type: ignore[attr-defined]
    assert login.status_code == 403


def test_own_pages_and_typed_addresses_are_served(client: TestClient, seeded: Seeded) -> None:
    for headers in ({"sec-fetch-site": "none"}, {"sec-fetch-site": "same-origin"}, {}):
        assert client.get(f"/en/case/{seeded.main.ref}", headers=headers).status_code == 200


def test_downloads_are_attachments(client: TestClient, seeded: Seeded) -> None:
    for path in _paths(client, seeded):
        if path.endswith(("/original", "/stripped")):
            response = client.get(path)
            assert response.status_code == 200
            assert response.headers["content-disposition"].startswith("attachment;")
            assert response.headers["x-content-type-options"] == "nosniff"


def test_the_desk_locks_after_idle_time(desk: Desk, seeded: Seeded) -> None:
    now = [1000.0]
    gate = Gate(desk.directory, idle_seconds=60, clock=lambda: now[0])
    app = create_desk_app(desk, PORT, gate)
    with logged_in(app) as browser:
        now[0] += 59
        assert browser.get("/en/").status_code == 200  # use restarts the clock
        now[0] += 59
        assert browser.get("/en/").status_code == 200
        now[0] += 61
        locked = browser.get(f"/en/case/{seeded.main.ref}")
        assert locked.status_code == 403
        assert "The desk locked itself" in locked.text
        _nothing_of_the_desk(locked.content, seeded, desk)
        assert gate.locked
        # Locked for good: neither the cookie nor the link open it again.
        now[0] -= 1000
        assert browser.get("/en/").status_code == 403
        assert browser.get(gate.login_path).status_code == 403


def test_the_idle_lock_is_configurable_with_a_stated_default() -> None:
    parser = build_parser()
    assert parser.parse_args(["desk", "web", "--dir", "d"]).idle_lock == DEFAULT_IDLE_MINUTES == 15
    assert parser.parse_args(["desk", "web", "--dir", "d", "--idle-lock", "5"]).idle_lock == 5
    for bad in ("0", "-3", "x", "100000"):
        with pytest.raises(SystemExit):
            parser.parse_args(["desk", "web", "--dir", "d", "--idle-lock", bad])


def test_after_a_key_rotation_import_says_to_restart(
    client: TestClient, seeded: Seeded, desk: Desk, tmp_path: Path
) -> None:
    before = len(desk.list_cases())
    rotate_key(seeded.folder, PASSPHRASE)
    response = client.post("/en/import", data={"path": str(seeded.bundle)})
    assert response.status_code == 400
    assert "keys were changed (aryz desk rotate) after this web desk was started" in response.text
    assert "start aryz desk web again" in response.text
    assert len(desk.list_cases()) == before
    assert "Open the desk" not in response.text


def test_a_locked_desk_stops_serving(desk: Desk) -> None:
    """``serve`` ends by itself once the gate locks (the command then exits, and the
    process that held the keys with it)."""
    import threading

    from service.desk.web.app import serve
    from tests.server import free_port

    now = [0.0]
    gate = Gate(desk.directory, idle_seconds=60, clock=lambda: now[0])
    result: list[bool] = []
    server = threading.Thread(
        target=lambda: result.append(serve(desk, free_port(), gate=gate)), daemon=True
    )
    server.start()
    now[0] = 61.0
    server.join(timeout=60)
    assert not server.is_alive()
    assert result == [True]


def test_without_the_desk_extra_the_page_says_what_is_missing(
    client: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.desk.inbox.strip as strip
    monkeypatch.setattr(strip, "available", lambda: False)
    html = client.get(f"/en/case/{seeded.main.ref}").text
    link = next(
        part.split('"')[0]
        for part in html.split('href="')
        if part.split('"')[0].endswith("/stripped")
    )
    response = client.get(link)
    assert response.status_code == 400
    assert "Safe copies need Pillow and pypdfium2" in response.text
