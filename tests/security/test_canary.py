"""Security brief item 1, shown on a real server process: submit canaries through the
no-JS form and through the API, then look for them everywhere the server could have put
them — the database files (SQLite with its WAL and journal; PostgreSQL's rows, its table
files and its WAL segments), the temp directory, and the server's stdout and stderr. Then
open the stored items with the coalition's private key and get the exact bytes back."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from service.common.crypto.keys import BoxKeyPair
from service.field.client import make_client, submit
from tests.server import ServerProcess
from tests.support import demo_trust, file_report, opened_items_at, reach_review

pytestmark = pytest.mark.slow


def _files_under(root: Path) -> Iterator[Path]:
    # os.walk ignores folders that vanish while it walks (another test's database dropped
    # on the same PostgreSQL cluster); Path.rglob raises on them.
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file():
                yield path


def _contains(path: Path, needles: list[bytes]) -> list[bytes]:
    data = path.read_bytes()
    return [n for n in needles if n in data]


def _pg_rows_and_files(database_url: str, since: float) -> Iterator[tuple[str, bytes]]:
    """Every row of every table, plus the database's files and WAL written since ``since``."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - our own names
                yield (
                    table,
                    repr(row).encode()
                    + b"".join(bytes(v) for v in row if isinstance(v, bytes | memoryview)),
                )
        data_dir = conn.execute("SHOW data_directory").fetchone()
    root = Path(str(data_dir[0])) if data_dir else None
    if root is None or not os.access(root, os.R_OK):
        return
    for sub in ("pg_wal", "base"):
        for path in _files_under(root / sub):
            try:
                if path.stat().st_mtime >= since:
                    yield str(path), path.read_bytes()
            except OSError:
                continue


def test_nothing_readable_at_rest_or_in_output(
    tmp_path: Path, database_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    started = time.time() - 1
    canary = f"CANARY-{secrets.token_hex(8)}"
    name_canary = f"FILENAME-{secrets.token_hex(6)}"
    big = bytearray(os.urandom(6 * 1024 * 1024))
    for offset in range(0, len(big) - 64, 65_536):  # in every chunk, and across boundaries
        big[offset + 100 : offset + 100 + len(canary)] = canary.encode()
    big_file = tmp_path / "evidence.bin"
    big_file.write_bytes(big)
    abandoned = f"ABANDONED-{secrets.token_hex(8)}"
    needles = [canary.encode(), canary.encode("utf-16-le"), name_canary.encode()]
    needles += [abandoned.encode()]

    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml")
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        # The multi-step form: canaries typed into the early steps travel, sealed, through
        # every later page; none may reach the disk before or after "send".
        token = file_report(
            web,
            country="UZ",
            victim__pseudonym=canary,
            narrative=f"form {canary}",
            arrest__place=canary,
            detention__0__name=canary,
            episodes__0__details=canary,
        )
        # A report abandoned half-way leaves nothing at all, not even sealed.
        reach_review(web, country="UZ", victim__pseudonym=abandoned, narrative=abandoned)
        files = web.post(
            "/en/case/files",
            data={"token": token},
            files=[("file", (f"{name_canary}.jpg", bytes(big), "image/jpeg"))],
        )
        assert files.status_code == 200
        assert (
            web.post(
                "/en/case/message", data={"token": token, "message": f"follow-up {canary}"}
            ).status_code
            == 200
        )
        assert web.post("/en/status", data={"token": token}).status_code == 200
        # A bad request carrying the canary must not land in a log either.
        web.post("/en/status", data={"token": canary})
        with make_client(server.url, None) as api:
            api_token = submit(
                api,
                country="TJ",
                coalition_id=None,
                message=f"api {canary}",
                files=[big_file],
                trust=demo_trust(registry_dir),
            )
    needles += [token.encode(), api_token.encode()]

    found: list[str] = []
    for root in (server.data_dir, server.tmp_dir):
        for path in _files_under(root):
            found += [f"{path.name}: {n!r}" for n in _contains(path, needles)]
    for stream in (server.stdout, server.stderr):
        found += [f"{stream.name}: {n!r}" for n in _contains(stream, needles)]
    if database_url.startswith("postgresql"):
        for where, data in _pg_rows_and_files(database_url, started):
            found += [f"{where}: {n!r}" for n in needles if n in data]
    assert found == []

    # And the coalition's private keys open every item to exactly what was sent.
    items = opened_items_at(tmp_path, database_url, registry_dir, desk_keys)
    bodies = [b for _m, b in items]
    assert sum(b == bytes(big) for b in bodies) == 2  # the form's file and the API's file
    assert any(f"form {canary}".encode() in b for b in bodies)
    assert not any(abandoned.encode() in b for b in bodies)
    assert any(b == f"follow-up {canary}".encode() for b in bodies)
    assert any(f"api {canary}".encode() in b for b in bodies)
    names = [m.get("name") for m, _b in items if m["type"] == "file"]
    assert f"{name_canary}.jpg" in names
