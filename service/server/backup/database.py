"""Consistent database snapshots in, and restores out, for SQLite and PostgreSQL.

- **SQLite**: the online backup API copies a consistent snapshot while the server runs
  (it reads inside one transaction, WAL included). The copy goes to a 0600 file beside
  the database — it holds what the database holds, sealed items only — is streamed into
  the archive and removed.
- **PostgreSQL**: ``pg_dump --format=custom`` (one repeatable-read snapshot), streamed
  from its stdout; ``pg_restore --single-transaction --exit-on-error`` reads it back
  from stdin into an empty database, so a failed restore leaves the database empty.

The password of a PostgreSQL URL is passed in ``PGPASSWORD``, never on a command line
that ``ps`` shows. The tools' own output is discarded: their error messages can quote
rows, and ours stay fixed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from service.common.errors import StorageError
from service.server.backup.errors import BackupFileError, DatabaseToolError, RestoreTargetError
from service.server.backup.files import NewFile
from service.server.storage.db import make_engine
from service.server.storage.migrate import current_revision

READ_SIZE = 1024 * 1024
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"


def backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise DatabaseToolError("Only SQLite and PostgreSQL databases can be backed up.")
    return name


def schema_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseToolError("The SQLite database URL names no file.")
    return Path(database)


# --- SQLite ---------------------------------------------------------------------------


def sqlite_snapshot(url: str) -> Iterator[bytes]:
    """Yield a consistent copy of the SQLite database, taken when iteration starts."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupFileError("The SQLite database file does not exist.")
    copy = source_path.with_name(f".aryz-backup-{secrets.token_hex(6)}.sqlite3")
    try:
        # Create it 0600 first: sqlite3 would create it with the process umask.
        os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _sqlite_copy(source_path, copy)
        with copy.open("rb") as handle:
            while chunk := handle.read(READ_SIZE):
                yield chunk
    except (OSError, sqlite3.Error):
        raise BackupFileError("The SQLite database could not be copied.") from None
    finally:
        copy.unlink(missing_ok=True)


def _sqlite_copy(source_path: Path, copy: Path) -> None:
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
        # One self-contained file: the live database is in WAL mode and so is the copy's
        # header; the restored server switches WAL on again when it connects.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()


def restore_sqlite(pieces: Iterable[bytes], target: Path) -> None:
    """Write the database file to ``target`` (which must not exist), durably."""
    if target.exists():
        raise RestoreTargetError()
    with NewFile(target) as out:
        for piece in pieces:
            out.write(piece)


# --- PostgreSQL -----------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    bare = parsed.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DatabaseToolError()
    return path


def postgres_dump(url: str) -> Iterator[bytes]:
    """Yield ``pg_dump --format=custom`` of the database, a consistent snapshot."""
    dsn, env = _libpq(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-password", f"--dbname={dsn}"]
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdout is not None  # noqa: S101 - Popen with PIPE always sets it
    try:
        while chunk := process.stdout.read(READ_SIZE):
            yield chunk
        if process.wait() != 0:
            raise DatabaseToolError()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def check_postgres_empty(url: str) -> None:
    """Refuse a PostgreSQL database that holds any table, sequence, view or type."""
    dsn, _env = _libpq(url)
    parsed = make_url(url)
    try:
        with psycopg.connect(dsn, password=parsed.password, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                " AND n.nspname NOT LIKE 'pg_toast%'"
            ).fetchone()
    except psycopg.Error:
        raise DatabaseToolError("The PostgreSQL database cannot be reached.") from None
    if row is None or row[0] != 0:
        raise RestoreTargetError()


def restore_postgres(pieces: Iterable[bytes], url: str) -> None:
    """Feed a custom-format dump to ``pg_restore`` in one transaction."""
    dsn, env = _libpq(url)
    command = [
        _tool("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--no-password",
        f"--dbname={dsn}",
    ]
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdin is not None  # noqa: S101 - Popen with PIPE always sets it
    try:
        try:
            for piece in pieces:
                process.stdin.write(piece)
        except BrokenPipeError:
            pass  # pg_restore gave up early; its exit status says so below
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        if process.wait() != 0:
            raise DatabaseToolError()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def restored_revision(url: str) -> str | None:
    """The schema revision of a restored database (read with the server's own engine)."""
    try:
        return schema_revision(url)
    except (SQLAlchemyError, StorageError):
        raise DatabaseToolError("The restored database cannot be opened.") from None

