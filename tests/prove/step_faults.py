"""Faults survived: hundreds of SIGKILLs of a real ``aryz serve`` during form uploads, API
resumable uploads and outbox application, on SQLite and PostgreSQL (tests/faults/harness.py
says what is checked after each). At budget 1.0: 40 kills per upload path and backend and
25 outbox kills per backend (210 in all), bounded by 20 minutes; scaled by the budget.
The disk, I/O-error and database faults run in ``make test`` (tests/faults)."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from service.server.cli.demo import write_demo_registry
from service.server.cli.demo_read import demo_keys
from service.server.storage import migrate
from tests.conftest import IN_CI, PG_URL, _pg_available, _pg_exec
from tests.faults.harness import Tally, Uploads
from tests.faults.outbox_kills import Outboxes
from tests.prove import Row

TITLE = "Faults survived (SIGKILL during uploads and outbox application)"
UPLOAD_KILLS = 40
OUTBOX_KILLS = 25
SECONDS = 1200


def _fresh(backend: str, work: Path, dropped: list[str]) -> str:
    """A new, migrated database: every series of kills starts from an empty one."""
    if backend == "SQLite":
        url = f"sqlite:///{work / uuid.uuid4().hex}.sqlite3"
    else:
        name = f"aryz_faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _pg_exec(f'CREATE DATABASE "{name}"')
        dropped.append(name)
        url = make_url(PG_URL).set(database=name).render_as_string(False)
    migrate.upgrade(url)
    return url


def run(budget: float) -> list[Row]:
    deadline = time.monotonic() + SECONDS * budget
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="aryz-faults-") as tmp:
        work = Path(tmp)
        registry = work / "registry"
        registry.mkdir()
        write_demo_registry(registry)
        keys = demo_keys(registry)
        backends = ["SQLite"]
        if _pg_available():
            backends.append("PostgreSQL")
        else:
            rows.append(Row("PostgreSQL", "not available here", not IN_CI))
        dropped: list[str] = []
        try:
            for backend in backends:
                uploads, distinct = Tally(), 0
                for path in ("form", "api"):
                    runs_dir = work / f"{backend}-{path}"
                    runs_dir.mkdir()
                    seed = len(rows) * 100 + len(path)
                    url = _fresh(backend, work, dropped)
                    with Uploads(runs_dir, url, registry, keys, seed) as runs:
                        for _ in range(max(2, round(UPLOAD_KILLS * budget))):
                            if time.monotonic() > deadline:
                                break
                            runs.run_once(path)
                    uploads.add(runs.tally)
                    distinct += len(runs.acknowledged)
                rows.append(
                    Row(
                        f"{backend}: SIGKILL during form and API uploads",
                        f"{uploads.kills} kills, {distinct} acknowledged items, "
                        f"{uploads.verified} checks intact, {uploads.lost} lost, "
                        f"{uploads.partial} visible partial "
                        f"({uploads.in_flight_whole} committed just before a kill, whole)",
                        uploads.ok and uploads.kills > 0,
                    )
                )
                outbox_dir = work / f"{backend}-outbox"
                outbox_dir.mkdir()
                url = _fresh(backend, work, dropped)
                with Outboxes(outbox_dir, url, registry, seed=len(rows)) as pushes:
                    for _ in range(max(2, round(OUTBOX_KILLS * budget))):
                        if time.monotonic() > deadline:
                            break
                        pushes.run_once()
                tally = pushes.tally
                rows.append(
                    Row(
                        f"{backend}: SIGKILL during outbox application",
                        f"{tally.kills} kills, {tally.outboxes_all_or_nothing} all-or-nothing, "
                        f"{len(tally.problems)} problems; every re-push completed",
                        tally.ok and tally.kills == tally.outboxes_all_or_nothing > 0,
                    )
                )
                for problem in sorted(set(uploads.problems + tally.problems)):
                    rows.append(Row(f"{backend}: problem", problem, False))
        finally:
            for name in dropped:
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return rows
