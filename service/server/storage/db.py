"""Engines and sessions, set up so that a commit means "on stable storage".

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL``: a commit returns
only after the WAL is fsync'd. ``secure_delete`` overwrites deleted ciphertext instead of
leaving it in free pages; temporary tables stay in memory. PostgreSQL commits are durable
with ``synchronous_commit=on``, which we set per connection so a server default cannot
weaken it (SECURITY.md guarantee 6).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.common.errors import StorageError

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA secure_delete=ON",
)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's implicit transactions would defer BEGIN; SQLAlchemy issues its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError("SQLite refused WAL mode; the database cannot be used safely.")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
    # instead of one failing later with "database is locked" mid-transaction.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _on_postgres_connect(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO on")
    dbapi_connection.commit()


def make_engine(url: str) -> Engine:
    """Create an engine with the durability settings for its backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, pool_pre_ping=True)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    elif parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
        event.listen(engine, "connect", _on_postgres_connect)
    else:
        raise StorageError("Only SQLite and PostgreSQL databases are supported.")
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed at the end, or rolled back on any error.

    Database errors surface as ``StorageError`` with a fixed message, so nothing the
    driver says (which may quote values) reaches a page or a log.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise StorageError() from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
