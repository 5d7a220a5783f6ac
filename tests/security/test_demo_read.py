"""``aryz demo-read`` reads items on the desk's own path (envelope review D1–D3, F-10).

A demo instance, a report filed through the real web form, then items changed in its
database the way an API client (or anyone with the coalition key) could store them."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.desk.inbox.importer as importer
from service.cli import main
from service.common.crypto.envelope import seal
from service.common.crypto.payload import encode_payload_prefix
from service.server.app import build_runtime, create_app
from service.server.cli.demo_read import demo_keys
from service.server.deps import Runtime
from service.server.storage import migrate
from tests.conftest import make_settings
from tests.security.test_terminal_output import HOSTILE, assert_clean
from tests.support import add_files, file_report

NARRATIVE = "FIRST-CASE"


def _replace_item(db: Path, item_id: int, envelope: bytes) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM item_chunks WHERE item_id = ?", (item_id,))
        conn.execute(
            "INSERT INTO item_chunks (item_id, seq, data) VALUES (?, 0, ?)", (item_id, envelope)
        )
        conn.execute("UPDATE items SET size = ? WHERE id = ?", (len(envelope), item_id))


def _demo(tmp_path: Path, registry_dir: Path) -> tuple[Path, Runtime]:
    """A demo data dir as ``aryz demo`` lays it out: registry, desk-keys/, aryz.sqlite3."""
    data_dir = tmp_path / "demo"
    shutil.copytree(registry_dir, data_dir)
    url = f"sqlite:///{data_dir / 'aryz.sqlite3'}"
    migrate.upgrade(url)
    return data_dir, build_runtime(make_settings(data_dir, url, data_dir))


def test_demo_read_refuses_what_the_desk_refuses_and_goes_on(
    tmp_path: Path, registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, runtime = _demo(tmp_path, registry_dir)
    with TestClient(create_app(runtime=runtime)) as client:
        first = file_report(client, narrative=NARRATIVE)
        files = [("a.bin", b"a" * 100), ("b.bin", b"b" * 100), ("c.bin", b"c" * 100)]
        add_files(client, first, files)
        second = file_report(client, narrative="LATER-CASE")
    runtime.engine.dispose()
    assert first != second
    db = data_dir / "aryz.sqlite3"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT items.id, cases.id, cases.reply_public_key, cases.coalition_id"
            " FROM items JOIN cases ON cases.id = items.case_id ORDER BY items.id"
        ).fetchall()
        moved = conn.execute(
            "SELECT data FROM item_chunks WHERE item_id = ? ORDER BY seq", (rows[4][0],)
        ).fetchall()
    (_a, _c, reply_key, coalition), (file_a, *_), (file_b, *_), (file_c, *_), *_rest = rows
    key = demo_keys(data_dir)[coalition]
    # D1: authentic, but its plaintext ends inside the payload's length prefix.
    _replace_item(db, file_a, seal(b"\0\0\0", [key.public]))
    # D3: the later case's answers, stored as an item of the first case.
    _replace_item(db, file_b, b"".join(d for (d,) in moved))
    # F-10: what a sealing API client can send, escape sequences included (the web form
    # refuses them, the API cannot see inside).
    meta = {"type": "message", "created": "2026-W49", "case_public_key": bytes(reply_key).hex()}
    _replace_item(db, file_c, seal(encode_payload_prefix(meta) + HOSTILE.encode(), [key.public]))

    assert main(["demo-read", "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert_clean(out.replace("\n", ""))
    assert f"item refused ({importer.MALFORMED})" in out  # D1: refused, not "None"
    assert f"item refused ({importer.WRONG_CASE})" in out  # D3: caught as on the desk
    assert "LATER-CASE" in out  # D2: the items after a refused one still show
    assert "closed\\u{001B}]0;desk pwned\\u{0007}" in out  # F-10: escaped


def test_demo_read_open_item_applies_the_desks_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.server.cli.demo_read as demo_read
    from service.common.crypto.keys import generate_box_keypair

    key = generate_box_keypair()
    meta = {"type": "answers", "created": "2026-W49"}
    envelope = seal(encode_payload_prefix(meta) + b"[" * 100_000, [key.public])
    monkeypatch.setattr(demo_read, "iter_ciphertext", lambda _factory, _item: iter([envelope]))
    with pytest.raises(importer.ItemRefused) as refused:
        demo_read.open_item(object(), 1, key)
    assert refused.value.reason == importer.TOO_LARGE


def test_demo_read_shows_answers_by_section_with_labels(
    tmp_path: Path, registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Intake walk, suggestion 13: the demo shows what a coalition reads (labels by section,
    # as the desk does), not the raw keys; --raw still gives the JSON that was sealed.
    data_dir, runtime = _demo(tmp_path, registry_dir)
    with TestClient(create_app(runtime=runtime)) as client:
        file_report(client, narrative="First line\nSecond line", filer__role="victim")
    runtime.engine.dispose()

    assert main(["demo-read", "--data-dir", str(data_dir)]) == 0
    labelled = capsys.readouterr().out
    assert "[What happened]" in labelled
    assert "    First line\n    Second line\n" in labelled  # the account keeps its lines
    assert "narrative.text" not in labelled
    assert "filer.role" not in labelled
    assert "  Who is filing this report? It happened to me\n" in labelled  # labels, not "victim"

    assert main(["demo-read", "--data-dir", str(data_dir), "--raw"]) == 0
    raw = capsys.readouterr().out
    assert '"narrative.text": "First line\\nSecond line"' in raw
    assert '"filer.role": "victim"' in raw
