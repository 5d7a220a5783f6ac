"""A coalition lawyer works a case in real Chromium with JavaScript off, against the real
``aryz desk web`` process: list → filter → open → read → triage with a note → reply →
export; then the outbox is checked with the desk's signing key and the reply opened with
the person's key. Screenshots at 1280 and 360 pixels wide go to artifacts/screenshots/.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.common.contract import outbox
from service.common.crypto.envelope import open_envelope
from service.common.crypto.payload import split_payload
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot_path
from tests.conftest import require
from tests.desk.helpers import COALITION, PASSPHRASE
from tests.desk_web.seed import NARRATIVE, Seeded, seed_desk
from tests.server import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.slow

NOTE = "Позвонили адвокату А., ждём медицинское заключение."
REPLY = "Мы получили ваше обращение. Юрист изучает его.\nПроверяйте статус раз в неделю."


@dataclass
class DeskProcess:
    seeded: Seeded
    port: int
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def login(self) -> str:
        """The one link ``aryz desk web`` printed: the only way in."""
        return login_link(self.stdout)


def login_link(stdout: Path) -> str:
    for word in stdout.read_text().split():
        if "/login?key=" in word:
            return word
    raise AssertionError("aryz desk web printed no link")


@pytest.fixture
def desk_web(tmp_path: Path) -> Iterator[DeskProcess]:
    seeded = seed_desk(tmp_path)
    with run_desk_web(seeded.folder, tmp_path) as (port, process, stdout, stderr):
        yield DeskProcess(seeded, port, process, stdout, stderr)


@contextmanager
def run_desk_web(
    folder: Path, tmp_path: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes], Path, Path]]:
    """``aryz desk web`` over ``folder`` on a free port, stopped with SIGTERM after."""
    port = free_port()
    stdout, stderr = tmp_path / "desk.stdout", tmp_path / "desk.stderr"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "ARYZ_DESK_PASSPHRASE": PASSPHRASE,
        "ARYZ_DESK_KDF": "minimum",
    }
    command = [sys.executable, "-m", "service", "desk", "web", "--dir", str(folder)]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=out, stderr=err, cwd=tmp_path
        )
    try:
        _wait_for(port, process, stderr)
        _wait_for_link(stdout)
        yield port, process, stdout, stderr
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(port: int, process: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("desk web exited: " + stderr.read_text()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)  # polling for the port; bounded by the deadline
    raise RuntimeError("desk web did not start")


def _wait_for_link(stdout: Path) -> None:
    deadline = time.monotonic() + 10
    while "/login?key=" not in stdout.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError("desk web printed no link")
        time.sleep(0.05)  # polling for the printed link; bounded by the deadline


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(CHROMIUM.exists(), "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _context(browser: Browser, width: int) -> BrowserContext:
    return browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 900}, accept_downloads=True
    )


def _submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _shot(page: Page, name: str, width: int) -> None:
    page.screenshot(path=screenshot_path(f"desk-{name}-{width}"), full_page=True)


def test_work_a_case_in_the_browser_without_javascript(
    browser: Browser, desk_web: DeskProcess, tmp_path: Path
) -> None:
    seeded, base = desk_web.seeded, desk_web.url
    ref = seeded.main.ref
    _check_raw_headers(desk_web.port, desk_web.login)

    context = _context(browser, 1280)
    page = context.new_page()
    # Without the link: nothing.
    page.goto(f"{base}/")
    assert page.locator("body.gate-login").count() == 1
    assert seeded.main.ref[:8] not in page.content()
    # The printed link leads to the case list, in Russian, at a clean address.
    page.goto(desk_web.login)
    assert page.url == f"{base}/ru/"
    assert page.locator("table.cases tbody tr").count() == 5
    assert "Показано: 5. Всего на этом компьютере: 5." in page.content()
    _shot(page, "list", 1280)

    # Filter: Kazakhstan, still detained.
    page.select_option("select[name=country]", "KZ")
    page.check("input[name=detained]")
    _submit(page, "form.filters button[type=submit]")
    assert "country=KZ" in page.url
    assert "detained=1" in page.url
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 1
    assert ref[:12] in rows.first.inner_text()
    _shot(page, "list-filtered", 1280)

    # Open the case and read the answers.
    _submit(page, f"a[href='/ru/case/{ref}']")
    answers = page.inner_text("#answers")
    assert "Кто отправляет это обращение?" in answers
    assert "Изолятор временного содержания (ИВС)" in answers
    assert NARRATIVE.splitlines()[0] in answers
    assert "Его перевели в СИЗО" in page.inner_text("#messages")
    assert page.locator("#files article.file").count() == 3
    _shot(page, "case", 1280)

    # The safe copy is a download, never shown in the page.
    with page.expect_download() as download:
        page.click("#files article.file >> nth=0 >> text=Открыть безопасную копию")
    assert download.value.suggested_filename == "stripped-copy-1.jpg"
    assert page.url.startswith(f"{base}/ru/case/{ref}")

    # Triage: under review, with a note.
    page.check("input[name=status][value=under_review]")
    page.fill("textarea[name=note]", NOTE)
    _submit(page, "#triage form button[type=submit]")
    assert "done=triage" in page.url
    assert "Сохранено." in page.inner_text(".flash")
    assert "Рассматривается" in page.inner_text("dl.facts")
    assert NOTE in page.inner_text("#triage")
    assert "Статус: Получено → Рассматривается" in page.inner_text("#history")
    _shot(page, "case-triaged", 1280)

    # A reply for the person.
    page.fill("textarea[name=reply]", REPLY)
    _submit(page, "#replies form button[type=submit]")
    assert "Ответ зашифрован." in page.inner_text(".flash")
    assert "Юрист изучает его." in page.inner_text("#replies")
    assert "ждёт следующей выгрузки исходящих" in page.inner_text("#replies")

    # The same page in English, from the picker.
    _submit(page, "nav.languages a[hreflang=en]")
    assert "Under review" in page.inner_text("dl.facts")
    assert "Who is filing this report?" in page.inner_text("#answers")

    # Export the outbox to the "USB stick".
    stick = tmp_path / "usb"
    stick.mkdir()
    target = stick / "outbox.json"
    _submit(page, "nav.sections a[href='/en/export']")
    assert "2 status changes or replies are waiting to be sent." in page.content()
    page.fill("input[name=path]", str(target))
    _submit(page, "form.panel button[type=submit]")
    assert "Outbox written" in page.inner_text("section.result")
    assert str(target) in page.inner_text("section.result")
    _shot(page, "export", 1280)
    context.close()

    _narrow_screens(browser, base, ref, seeded, desk_web.login)
    _check_outbox(target, seeded)
    _check_nothing_was_logged(desk_web)


def _narrow_screens(browser: Browser, base: str, ref: str, seeded: Seeded, login: str) -> None:
    context = _context(browser, 360)
    page = context.new_page()
    page.goto(login)
    page.goto(f"{base}/ru/")
    assert page.locator("table.cases tbody tr").count() == 5
    _shot(page, "list", 360)
    page.goto(f"{base}/ru/case/{ref}")
    assert "Рассматривается" in page.inner_text("dl.facts")
    _shot(page, "case", 360)
    # Importing the same bundle again is harmless: everything is skipped.
    page.goto(f"{base}/ru/import")
    page.fill("input[name=path]", str(seeded.bundle))
    _submit(page, "form.panel button[type=submit]")
    result = page.inner_text("section.result")
    assert "Импорт завершён" in result
    assert "Уже были на этом компьютере (пропущены)\n10" in result
    _shot(page, "import", 360)
    context.close()


def _check_raw_headers(port: int, login: str) -> None:
    """What uvicorn itself sends: no Server or Date header, the strict CSP."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", login.split(str(port), 1)[1])
        opened = connection.getresponse()
        opened.read()
        assert opened.status == 303
        cookie = (opened.getheader("set-cookie") or "").split(";")[0]
        connection.request("GET", "/ru/", headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        names = {name.lower() for name, _value in response.getheaders()}
        assert response.status == 200
        assert "server" not in names
        assert "date" not in names
        assert "default-src 'none'" in (response.getheader("content-security-policy") or "")
        connection.request("GET", "/ru/", headers={"Host": "evil.example"})
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 400
    finally:
        connection.close()


def _check_outbox(target: Path, seeded: Seeded) -> None:
    records = outbox.decode(target.read_bytes(), {COALITION: seeded.signing_key}).records
    mine = [r for r in records if r.case == seeded.main.ref]
    # In the order they were made; "imported" is queued at export (kept until a backup).
    assert [r.type for r in mine] == ["status", "reply", "imported"]
    assert [r.seq for r in mine] == [1, 2, 3]
    assert mine[0].status == "under_review"
    sealed_reply = mine[1].reply
    assert sealed_reply is not None
    _meta, body = split_payload(open_envelope(sealed_reply, [seeded.main.reply]))
    assert body.decode("utf-8") == REPLY


def _check_nothing_was_logged(desk_web: DeskProcess) -> None:
    """No access log: no case reference, note, reply or path on the terminal."""
    output = desk_web.stdout.read_text() + desk_web.stderr.read_text()
    assert "unlocked" in output  # the start-up lines are there
    for secret in (desk_web.seeded.main.ref[:12], NOTE, "Юрист", "GET /", "outbox.json"):
        assert secret not in output
    # The link is printed once, at start, and nowhere else.
    assert output.count("/login?key=") == 1


def test_a_page_elsewhere_cannot_make_the_browser_download_a_file(
    browser: Browser, desk_web: DeskProcess, tmp_path: Path
) -> None:
    """The audit's F-09 proof: a page on another local origin redirects the logged-in
    browser to a decrypted original. The desk refuses it: no download, no content."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ref = desk_web.seeded.main.ref
    context = _context(browser, 1280)
    page = context.new_page()
    page.goto(desk_web.login)
    page.goto(f"{desk_web.url}/ru/case/{ref}")
    original = page.locator("a[href$='/original']").first.get_attribute("href")
    assert original is not None
    target = f"{desk_web.url}{original}"
    lure = (
        f'<!doctype html><meta http-equiv="refresh" content="0;url={target}"><p>lure</p>'
    ).encode()

    class Lure(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(lure)))
            self.end_headers()
            self.wfile.write(lure)

        def log_message(self, *_args: object) -> None:
            return

    other = ThreadingHTTPServer(("127.0.0.1", free_port()), Lure)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    downloads: list[object] = []
    page.on("download", lambda download: downloads.append(download))
    try:
        page.goto(f"http://localhost:{other.server_address[1]}/")
        page.wait_for_url(target)
        assert page.locator("body.gate-refused").count() == 1
        assert ref[:8] not in page.content()
    finally:
        other.shutdown()
        other.server_close()
        context.close()
    assert downloads == []
