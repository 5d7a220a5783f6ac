"""A database that is locked for a while or drops every connection (as a PostgreSQL
restart does) under a real ``aryz serve``: requests wait or fail with the fixed storage
error, the server recovers by itself, nothing is half-written."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from service.common.crypto.keys import BoxKeyPair
from service.common.errors import ConfigError
from service.server.app import DATABASE_UNAVAILABLE, build_runtime
from tests.conftest import make_settings
from tests.faults.harness import integrity_problems
from tests.server import ServerProcess
from tests.support import add_files, file_report, opened_items_at

pytestmark = pytest.mark.slow
STORAGE_PAGE = "could not be stored safely, so nothing was saved"


def _files(
    server: ServerProcess, url: str, registry: Path, keys: dict[str, BoxKeyPair]
) -> dict[str, bytes]:
    opened = opened_items_at(server.data_dir, url, registry, keys)
    return {str(m["name"]): body for m, body in opened if m.get("type") == "file"}


def test_locked_sqlite_waits_then_stores(
    tmp_path: Path, sqlite_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    server = ServerProcess(tmp_path, sqlite_url, registry_dir / "registry.toml")
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        token = file_report(web, country="KG", narrative="before the lock")
        holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
        answers: list[httpx.Response] = []
        sender = threading.Thread(
            target=lambda: answers.append(add_files(web, token, [("late.bin", b"l" * 2_500_000)]))
        )
        sender.start()
        sender.join(timeout=2)  # the upload is still waiting on the lock...
        assert not answers
        holder.execute("ROLLBACK")  # ...and goes through once it is released
        holder.close()
        sender.join()
        assert answers[0].status_code == 200
    assert integrity_problems(sqlite_url) == []
    assert _files(server, sqlite_url, registry_dir, desk_keys) == {"late.bin": b"l" * 2_500_000}


def test_postgres_connections_dropped_server_recovers(
    tmp_path: Path, postgres_url: str, registry_dir: Path, desk_keys: dict[str, BoxKeyPair]
) -> None:
    server = ServerProcess(tmp_path, postgres_url, registry_dir / "registry.toml")
    name = make_url(postgres_url).database
    admin = make_url(postgres_url).set(drivername="postgresql", database="postgres")
    with server, httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
        token = file_report(web, country="KG", narrative="before the restart")
        assert add_files(web, token, [("early.bin", b"e" * 100)]).status_code == 200
        # What a PostgreSQL restart does to the server: every one of its connections cut.
        # (The machine's cluster is shared, so it is not restarted for real.)
        with psycopg.connect(admin.render_as_string(False), autocommit=True) as conn:
            cut = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchone()
        assert cut is not None
        assert cut[0] >= 1
        first = add_files(web, token, [("after.bin", b"a" * 2_500_000)])
        if first.status_code != 200:  # a clean refusal is allowed once; never a half item
            assert first.status_code == 503
            assert STORAGE_PAGE in first.text
            first = add_files(web, token, [("after.bin", b"a" * 2_500_000)])
        assert first.status_code == 200
        assert web.post("/en/status", data={"token": token}).status_code == 200
    assert integrity_problems(postgres_url) == []
    assert _files(server, postgres_url, registry_dir, desk_keys) == {
        "early.bin": b"e" * 100,
        "after.bin": b"a" * 2_500_000,
    }


def test_a_database_that_cannot_be_opened_is_refused_in_one_sentence(
    tmp_path: Path, registry_dir: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "aryz.sqlite3"
    settings = make_settings(tmp_path, f"sqlite:///{missing}", registry_dir)
    with pytest.raises(ConfigError) as refused:
        build_runtime(settings)
    assert refused.value.message == DATABASE_UNAVAILABLE
    assert refused.value.__cause__ is None  # no driver text (which quotes paths) behind it
