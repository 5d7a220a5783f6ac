"""The load run in small (``tests/prove/step_load.py`` is the real one): a few dozen form
sessions, small uploads and status checks at once with slow clients, on real servers at
the production KDF floor — on SQLite, and on two instances sharing PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _pg_available, require
from tests.load import report, scenario
from tests.load.generator import MIB

SMOKE = scenario.Plan(
    sessions=24,
    uploads=2,
    upload_bytes=3 * MIB,
    status_checks=10,
    slow_clients=2,
    deadline=120.0,  # a bound on a hung run, not an expectation
    idle_timeout=1.0,
)


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "instances"), [("sqlite", 1), ("postgresql", 2)])
def test_load_smoke(tmp_path: Path, kind: str, instances: int) -> None:
    if kind == "postgresql":
        require(_pg_available(), "PostgreSQL")
    outcome = scenario.run(f"{kind} x{instances}", kind, instances, SMOKE, tmp_path)
    failed = [f"{r.check}: {r.figure}" for r in report.rows(outcome) if not r.ok]
    assert not failed, failed
    assert outcome.recorder.requests >= SMOKE.sessions * 4 + SMOKE.status_checks
    assert outcome.files_verified == SMOKE.uploads
