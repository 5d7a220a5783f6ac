"""``make prove`` step: schemathesis against the intake API's OpenAPI document, far more
examples than ``make test`` runs (500 × budget per operation, randomised), on SQLite and
on PostgreSQL when it is reachable. See tests/api/schema_fuzz.py for the checks."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.server.app import build_runtime, create_app
from service.server.cli.demo import write_demo_registry
from service.server.storage import migrate
from tests.api.schema_fuzz import fuzz_api
from tests.benchmarks.report import say
from tests.conftest import make_settings
from tests.prove import Row

TITLE = "API fuzzing (schemathesis)"


def _fuzz(database_url: str, workdir: Path, registry: Path, examples: int) -> Row:
    migrate.upgrade(database_url)
    runtime = build_runtime(make_settings(workdir, database_url, registry))
    started = time.perf_counter()
    try:
        result = fuzz_api(create_app(runtime=runtime), examples, derandomize=False)
    finally:
        runtime.engine.dispose()
    for failure in result.failures:
        say(failure)
    kind = database_url.split(":", 1)[0].split("+", 1)[0]
    figure = (
        f"{result.requests:,} requests over {result.operations} operations in "
        f"{time.perf_counter() - started:.0f} s, {len(result.failures)} failing operations"
    )
    return Row(f"intake API on {kind}", figure, not result.failures and result.requests > 0)


def run(budget: float) -> list[Row]:
    examples = max(25, round(500 * budget))
    workdir = Path(tempfile.mkdtemp(prefix="aryz-schemathesis-"))
    registry = workdir / "registry"
    registry.mkdir()
    write_demo_registry(registry)
    rows = [_fuzz(f"sqlite:///{workdir / 'aryz.sqlite3'}", workdir, registry, examples)]
    pg = _postgres_database()
    if pg is not None:
        url, drop = pg
        try:
            rows.append(_fuzz(url, workdir, registry, examples))
        finally:
            drop()
    return rows


def _postgres_database() -> tuple[str, Callable[[], None]] | None:
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_URL

    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(False)
    name = f"aryz_prove_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(PG_URL).set(database=name).render_as_string(False), drop
