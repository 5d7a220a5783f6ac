"""The clock jumping back: ``aryz serve`` restarted under Debian's ``faketime`` with the
wall clock 400 days (and a year boundary) earlier than when its items were stored. The
start-up sweep must delete nothing it should keep (a resumable upload waiting to be
resumed, complete items), the server must not crash on weeks "from the future", and new
items get the (coarse) week the clock now says. Skipped where faketime is not installed
(``apt-get install faketime``): it is not one of the components CI requires."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from service.common.clock import current_week
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.token import derive
from service.field.client import fetch_info, seal_file, submit
from tests.faults.harness import integrity_problems
from tests.server import ServerProcess
from tests.support import add_files, demo_trust, file_report, opened_items_at

pytestmark = pytest.mark.slow
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
BACK = dt.timedelta(days=400)


def _weeks(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT created_week FROM items ORDER BY id"))]
    finally:
        engine.dispose()


def test_clock_jumping_back_deletes_nothing_and_keeps_serving(
    tmp_path: Path, database_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    if not LIBFAKETIME.exists() or shutil.which("faketime") is None:
        pytest.skip("Debian's faketime is not installed")
    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml")
    photo = tmp_path / "photo.bin"
    photo.write_bytes(b"p" * 1_500_000)
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        token = file_report(web, country="KG", narrative="stored in the present")
        assert add_files(web, token, [("now.bin", b"n" * 1000)]).status_code == 200
        info = fetch_info(web)
        api_token = submit(
            web,
            country="KZ",
            coalition_id=None,
            message="api",
            files=[],
            trust=demo_trust(registry_dir),
        )
        secrets = derive(api_token, info.limits)
        sealed = seal_file(photo, info.coalition("KZ", None), secrets, tmp_path)
        data = sealed.read_bytes()
        upload = web.post(
            "/api/v1/uploads", json={"lookup_id": secrets.lookup_id.hex(), "size": len(data)}
        ).json()["upload"]
        half = web.patch(
            f"/api/v1/uploads/{upload}",
            content=data[: len(data) // 2],
            headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert half.json()["complete"] is False
    before = _weeks(database_url)

    back = dt.datetime.now(dt.UTC) - BACK
    server.env.update(
        LD_PRELOAD=str(LIBFAKETIME),
        FAKETIME=f"@{back:%Y-%m-%d %H:%M:%S}",
        FAKETIME_DONT_FAKE_MONOTONIC="1",  # asyncio's timers keep running normally
        TZ="UTC",
    )
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        assert _weeks(database_url) == before  # the sweep at start deleted nothing
        status = web.post("/en/status", data={"token": token})
        assert "holds 2 sealed items." in status.text
        offset = web.get(f"/api/v1/uploads/{upload}").json()["offset"]
        done = web.patch(
            f"/api/v1/uploads/{upload}",
            content=data[offset:],
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert done.json()["complete"] is True
        assert add_files(web, token, [("past.bin", b"q" * 1000)]).status_code == 200
    assert integrity_problems(database_url) == []
    weeks = _weeks(database_url)
    assert weeks[: len(before)] == before
    assert weeks[-1] == current_week(back.date())  # what the jumped-back clock said
    opened = opened_items_at(server.data_dir, database_url, registry_dir, desk_keys)
    files = {str(m["name"]): body for m, body in opened if m.get("type") == "file"}
    assert files == {"now.bin": b"n" * 1000, "photo.bin": b"p" * 1_500_000, "past.bin": b"q" * 1000}
