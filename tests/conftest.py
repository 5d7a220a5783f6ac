"""Shared fixtures. Every test that touches the database runs on SQLite and PostgreSQL.

Databases are built by ``alembic upgrade head`` (never ``create_all``), once per session
into a template; each test gets its own copy (a file copy for SQLite, ``CREATE DATABASE …
TEMPLATE`` for PostgreSQL), so tests are isolated and fast.

PostgreSQL is expected at ``ARYZ_TEST_POSTGRES`` (default: 127.0.0.1:5432, database
``test``, trust auth). Where it is absent the PostgreSQL half skips with a reason — except
under CI (``CI=true``), where a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.token import MIN_LIMITS
from service.server.app import build_runtime, create_app
from service.server.cli.demo import write_demo_registry
from service.server.cli.demo_read import demo_keys
from service.server.deps import Runtime
from service.server.settings import Mode, Settings
from service.server.storage import migrate

PG_URL = os.environ.get("ARYZ_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"
# A fixed pepper with a random one's entropy: production settings refuse weak ones.
TEST_PEPPER = "ed1b8d205aa02c6654d13c81678cf028b4c52694250fa91959b40fd843d83559"


def require(available: bool, what: str) -> None:
    """Skip when a real component is missing on a user's machine; fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not available")
    pytest.skip(f"{what} is not available on this machine")


def _pg_admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_available() -> bool:
    try:
        with psycopg.connect(_pg_admin_dsn(), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if not _pg_available():
        yield None
        return
    name = f"aryz_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(make_url(PG_URL).set(database=name).render_as_string(False))
        yield name
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(
    kind: str, tmp_path: Path, sqlite_template: Path, pg_template: str | None
) -> Iterator[str]:
    if kind == "sqlite":
        path = tmp_path / "aryz.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    require(pg_template is not None, "PostgreSQL")
    name = f"aryz_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(False)
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_template: str | None,
) -> Iterator[str]:
    yield from fresh_database(request.param, tmp_path, sqlite_template, pg_template)


@pytest.fixture(scope="session")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo registry with the five national coalitions and the fallback, keys on disk."""
    directory = tmp_path_factory.mktemp("registry")
    write_demo_registry(directory)
    return directory


@pytest.fixture(scope="session")
def desk_keys(registry_dir: Path) -> dict[str, BoxKeyPair]:
    return demo_keys(registry_dir)


def make_settings(
    data_dir: Path, database_url: str, registry_dir: Path, **extra: object
) -> Settings:
    """The one place tests set KDF limits: libsodium's minimum, so tests stay fast."""
    values: dict[str, object] = {
        "mode": Mode.TEST,
        "data_dir": data_dir,
        "database_url": database_url,
        "registry_path": registry_dir / "registry.toml",
        "token_pepper": SecretStr(TEST_PEPPER),
        "kdf_opslimit": MIN_LIMITS.opslimit,
        "kdf_memlimit": MIN_LIMITS.memlimit,
        "allowed_hosts": ["testserver"],
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, registry_dir: Path) -> Settings:
    return make_settings(tmp_path, database_url, registry_dir)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as c:
        yield c
