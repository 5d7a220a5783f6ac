"""Files sealed in the browser (JavaScript on) and uploaded in resumable pieces.

A report is filed in Chromium with JavaScript on; a 2.5 MiB file (a canary in every
chunk) is added from the token
page while one piece of the upload is cut off half-way (the server keeps what arrived, the
browser sees a dropped connection); the script asks the server for its offset and goes on
from there. Then the case is checked with the token, the same file is sent again through
the plain form with JavaScript off, and the desk keys open both: same bytes, same metadata.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.padding import size_class
from service.common.crypto.payload import encode_payload_prefix
from tests.security.test_canary import _pg_rows_and_files as pg_rows_and_files
from tests.server import ServerProcess
from tests.support import opened_items_at

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, FilePayload, Page, Request, Route

pytestmark = pytest.mark.slow

SEND_SIZE = 1024 * 1024  # upload.js sends this much ciphertext per PATCH
CHUNK_SIZE = 65_536  # envelope v1 plaintext chunk
MAX_PAGE = 50 * 1024
# Expected, and the point: the CSP refuses WebAssembly and libsodium.js says so before it
# falls back to its pure-JavaScript build.
WASM_REFUSED = "Aborted(CompileError: WebAssembly.instantiate()"


def _file_report(page: Page, url: str) -> str:
    page.goto(f"{url}/en/report")  # the write page: the account and the country, then send
    page.check("input[name=country][value=KG]")
    page.fill("textarea[name='narrative.text']", "It happened to me.")
    page.click("#write .steps button:not([formaction])")
    token = page.inner_text(".token").strip()
    assert re.fullmatch(r"(\d{4} ){5}\d{4}", token)
    assert len(page.content().encode()) < MAX_PAGE
    return token


class CutOnce:
    """Let the second PATCH through only half-way, then drop the connection, once."""

    def __init__(self) -> None:
        self.patches = 0
        self.cut_at: int | None = None  # the offset the server had after the cut

    def __call__(self, route: Route, request: Request) -> None:
        if request.method != "PATCH":
            route.continue_()
            return
        self.patches += 1
        if self.patches != 2:
            route.continue_()
            return
        body = request.post_data_buffer or b""
        half = body[: len(body) // 2]
        # The server stores (and commits) what arrived before the circuit dropped...
        answer = route.fetch(post_data=half)
        assert answer.status == 200, answer.text()
        self.cut_at = int(answer.json()["offset"])
        # ...and the browser never hears back, as after a dropped Tor circuit.
        route.abort("connectionreset")


def _patch_offsets(requests: list[Request]) -> list[int]:
    return [int(r.headers["upload-offset"]) for r in requests if r.method == "PATCH"]


def test_upload_cut_off_resumes_and_matches_the_form_path(
    with_js: BrowserContext,
    no_js: BrowserContext,
    tmp_path: Path,
    database_url: str,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
) -> None:
    canary = f"CANARY-{secrets.token_hex(8)}".encode()
    content = bytearray(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 10_000)  # 2.5 MiB
    for offset in range(0, len(content) - 64, 65_536):  # in every chunk
        content[offset + 100 : offset + 100 + len(canary)] = canary
    photo = tmp_path / "фото 1.jpg"
    photo.write_bytes(content)
    started = time.time() - 1
    errors: list[str] = []
    requests: list[Request] = []
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        page = with_js.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda r: requests.append(r) if "/api/" in r.url else None)
        token = _file_report(page, server.url)
        cut = CutOnce()
        page.route("**/api/v1/uploads/*", cut)
        page.set_input_files("input[type=file]", str(photo))
        page.click("section.add form[enctype] button[type=submit]")
        page.wait_for_selector(".upload-done li", timeout=120_000)
        assert page.inner_text(".upload-done li") == photo.name
        assert "These files arrived and were sealed" in page.inner_text(".upload-status")
        assert page.url.endswith("/en/report/send")  # no form post: the script sent it
        progress = page.locator("progress")
        assert progress.evaluate("p => p.value === p.max")
        page.screenshot(path=_shot("upload-resumed-en"), full_page=True)

        # The cut piece: the server kept half, the script asked where to go on (GET) and
        # sent the rest from exactly there, not from the start of the piece.
        assert cut.cut_at is not None
        methods = [r.method for r in requests]
        assert "GET" in methods[methods.index("PATCH") :]
        offsets = _patch_offsets(requests)
        # Pieces of about SEND_SIZE (whole frames); the third PATCH starts where the cut
        # one stopped, inside what the second one carried.
        assert offsets[0] == 0
        assert SEND_SIZE <= offsets[1] < cut.cut_at < offsets[1] + SEND_SIZE, offsets
        assert offsets[2] == cut.cut_at, offsets
        assert [e for e in errors if not e.startswith(WASM_REFUSED)] == []

        # Check the case with the token, as written down: answers and the file.
        page.goto(f"{server.url}/en/status")
        page.fill("input[name=token]", token)
        page.click("form button[type=submit]")
        assert "2 sealed items" in page.content()

        # The same file through the plain form, JavaScript off.
        plain = no_js.new_page()
        plain.goto(f"{server.url}/en/status")
        plain.fill("input[name=token]", token)
        plain.click("form button[type=submit]")
        plain.set_input_files("input[type=file]", str(photo))
        plain.click("section.add form[enctype] button[type=submit]")
        assert "Your case now holds 3 sealed items" in plain.content()

    # Only ciphertext reached the server's disk, database and output, either way.
    found = [
        str(path)
        for path in tmp_path.rglob("*")
        if path.is_file() and path != photo and canary in path.read_bytes()
    ]
    if database_url.startswith("postgresql"):
        rows = pg_rows_and_files(database_url, started)
        found += [where for where, data in rows if canary in data]
    assert found == []

    items = opened_items_at(tmp_path, database_url, registry_dir, desk_keys)
    files = [(meta, body) for meta, body in items if meta["type"] == "file"]
    assert len(files) == 2
    (sealed_here, body_here), (sealed_there, body_there) = files
    assert body_here == body_there == photo.read_bytes()
    assert _without_week(sealed_here) == _without_week(sealed_there)
    # Both are signed with the case's key at their own place: the answers 1, the file
    # sealed in the browser 2, the one the form's server sealed 3 (ENVELOPE-v3.md §3).
    seals = _seals_at(tmp_path, database_url, registry_dir, desk_keys)
    assert [(s["position"], s["valid"]) for s in seals] == [(1, True), (2, True), (3, True)]
    assert len({s["signer"] for s in seals}) == 1
    assert sealed_here["name"] == photo.name
    assert sealed_here["media_type"] == "image/jpeg"
    for meta in (sealed_here, sealed_there):
        assert re.fullmatch(r"\d{4}-W\d{2}", str(meta["created"]))


def _seal_of(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("position", "case_signing_key", "item_signature")}


def _without_week(meta: dict[str, Any]) -> dict[str, Any]:
    # The ISO week is the server's in both cases; leave it out so that a test run across
    # Sunday midnight cannot fail for the calendar's sake. Position and signature differ
    # by design (each item has its own); _seals_at checks them.
    ignored = ("created", "position", "item_signature")
    return {k: v for k, v in meta.items() if k not in ignored}


def _seals_at(
    data_dir: Path, database_url: str, registry_dir: Path, keys: dict[str, Any]
) -> list[dict[str, Any]]:
    """What each stored item's seal says, checked as the desk's importer checks it."""
    from sqlalchemy import select

    from service.common.crypto.envelope import open_envelope
    from service.common.crypto.payload import split_payload
    from service.desk.casework.completeness import seal_record
    from service.server.app import build_runtime
    from service.server.models import COMPLETE, Case, Item
    from service.server.storage.items import iter_ciphertext
    from tests.conftest import make_settings

    runtime = build_runtime(make_settings(data_dir, database_url, registry_dir))
    try:
        with runtime.sessions() as session:
            rows = session.execute(
                select(Item.id, Case.coalition_id)
                .join(Case, Case.id == Item.case_id)
                .where(Item.state == COMPLETE)
                .order_by(Item.id)
            ).all()
        seals = []
        for item_id, coalition in rows:
            envelope = b"".join(iter_ciphertext(runtime.sessions, item_id))
            meta, _body = split_payload(open_envelope(envelope, [keys[coalition]]))
            seal = seal_record(meta, envelope)
            assert seal is not None
            seals.append(seal)
        return seals
    finally:
        runtime.engine.dispose()


def _shot(name: str) -> Path:
    from tests.browser.conftest import screenshot_path

    return screenshot_path(name)


def test_page_too_old_for_its_grant_falls_back_to_the_plain_form(
    with_js: BrowserContext, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    """A refused grant (a page from before a restart, or hours old) must not lose the
    files: the script posts the form the plain way and the server seals them."""
    photo = tmp_path / "scan.pdf"
    photo.write_bytes(b"%PDF-1.7\n" * 3000)
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        page = with_js.new_page()
        _file_report(page, server.url)
        # What a restart does to every grant in flight: the key that opens it is gone.
        page.evaluate(
            "document.querySelector('form[data-grant]').dataset.grant = 'RjEA' + 'A'.repeat(80)"
        )
        page.set_input_files("input[type=file]", str(photo))
        with page.expect_navigation():
            page.click("section.add form[enctype] button[type=submit]")
        assert page.url.endswith("/en/case/files")
        assert "scan.pdf" in page.inner_text("main")
        assert "Your case now holds 2 sealed items" in page.content()


def test_several_files_at_chunk_edges_are_sealed_as_the_spec_says(
    with_js: BrowserContext,
    tmp_path: Path,
    database_url: str,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
) -> None:
    """An empty file, and files whose payload is exactly two chunks and one byte over:
    the browser must end each stream with one final chunk (never an extra empty one) and
    the desk must open them all, in the order chosen."""
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        page = with_js.new_page()
        _file_report(page, server.url)
        form = page.locator("form[data-grant]")
        meta = {
            "type": "file",
            "media_type": "application/octet-stream",
            "created": form.get_attribute("data-week"),
            "case_public_key": form.get_attribute("data-case-key"),
        }
        meta_keys = form.get_attribute("data-keys")
        # The payload is prefix || body; choose bodies that put its end on a chunk edge.
        edge = 2 * CHUNK_SIZE - len(encode_payload_prefix({**meta, "name": "edge.bin"}))
        over = 2 * CHUNK_SIZE + 1 - len(encode_payload_prefix({**meta, "name": "over.bin"}))
        files: list[FilePayload] = [
            {"name": name, "mimeType": "application/octet-stream", "buffer": data}
            for name, data in (
                ("empty.bin", b""),
                ("edge.bin", bytes([7]) * edge),
                ("over.bin", bytes([9]) * over),
            )
        ]
        page.set_input_files("input[type=file]", files=files)
        page.click("section.add form[enctype] button[type=submit]")
        page.wait_for_selector(".upload-done li:nth-child(3)")
        assert page.locator(".upload-done li").all_inner_texts() == [f["name"] for f in files]

    items = opened_items_at(tmp_path, database_url, registry_dir, desk_keys)
    opened = [(m["name"], m, body) for m, body in items if m["type"] == "file"]
    assert [(name, body) for name, _m, body in opened] == [(f["name"], f["buffer"]) for f in files]
    for name, m, _body in opened:
        assert _without_week(m) == _without_week({**meta, "name": name, **_seal_of(m)})
    # Stored lengths are the spec's, P + 17·max(1, ⌈P / 65 536⌉) after the header, where P
    # is the size class of the content and its 0x80 marker (ENVELOPE-v3.md §2): so at an
    # edge the stream ends with a full final chunk, not an extra empty one.
    keys = len(str(meta_keys).split())
    header = 6 + 88 * keys + 24
    plain = [
        size_class(len(encode_payload_prefix(m)) + len(f["buffer"]) + 1)
        for (_n, m, _b), f in zip(opened, files, strict=True)
    ]
    wanted = [header + p + 17 * max(1, -(-p // CHUNK_SIZE)) for p in plain]
    assert _stored_sizes(tmp_path, database_url, registry_dir)[-3:] == wanted


def _stored_sizes(data_dir: Path, database_url: str, registry_dir: Path) -> list[int]:
    from sqlalchemy import select

    from service.server.app import build_runtime
    from service.server.models import Item
    from tests.conftest import make_settings

    runtime = build_runtime(make_settings(data_dir, database_url, registry_dir))
    try:
        with runtime.sessions() as session:
            return list(session.scalars(select(Item.size).order_by(Item.id)))
    finally:
        runtime.engine.dispose()
