"""Security brief item 6: a server killed mid-upload leaves either complete items or
nothing visible, and starts clean: no half item is ever counted or shown."""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.server import ServerProcess
from tests.support import file_report

pytestmark = pytest.mark.slow
BOUNDARY = "crashtestboundary"


def _stored_pieces(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM item_chunks")).scalar_one())
    finally:
        engine.dispose()


def test_kill_during_file_upload(tmp_path: Path, database_url: str, registry_dir: Path) -> None:
    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as web:
            token = file_report(web, country="KG", narrative="before the crash")
        pieces_before = _stored_pieces(database_url)
        killed = threading.Event()

        def body() -> Iterator[bytes]:
            yield (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="token"\r\n\r\n'
                f'{token}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="video.mp4"\r\n\r\n'
            ).encode()
            for _ in range(400):  # up to 100 MiB; the server dies long before
                yield b"v" * 256 * 1024
                # Kill once some pieces of this file are committed: mid-item, for real.
                if not killed.is_set() and _stored_pieces(database_url) >= pieces_before + 3:
                    assert server.process is not None
                    server.process.send_signal(signal.SIGKILL)
                    server.process.wait()
                    killed.set()
                    return

        with pytest.raises(httpx.TransportError), httpx.Client(trust_env=False) as raw:
            raw.post(
                f"{server.url}/en/case/files",
                content=body(),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                timeout=60,
            )
        assert killed.is_set()
        if database_url.startswith("sqlite"):
            path = database_url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

        server.start()  # the same data, a new process
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as web:
            status = web.post("/en/status", data={"token": token})
            assert status.status_code == 200
            assert "holds 1 sealed item." in status.text  # the answers, not the half file
        engine = create_engine(database_url)
        with engine.connect() as conn:
            states = [r[0] for r in conn.execute(text("SELECT state FROM items"))]
        engine.dispose()
        assert states.count("complete") == 1
        if database_url.startswith("sqlite"):
            # One server owns SQLite, so the start-up sweep removed the dead upload.
            assert states == ["complete"]
            assert _stored_pieces(database_url) == pieces_before
    finally:
        server.stop()
