"""Load held: hundreds of form sessions, several large uploads and a burst of status
checks at once, with slow clients throughout, against SQLite, PostgreSQL, and two app
instances sharing PostgreSQL (see ``tests/load``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.load import report, scenario
from tests.load.generator import MIB
from tests.prove import Row

TITLE = "load held"

# budget 1.0: 300 sessions, three 499 MiB uploads (the largest file the default 500 MiB
# body cap admits with the form's framing), 150 status checks, 6 slow clients.
SETUPS = (
    ("SQLite", "sqlite", 1),
    ("PostgreSQL", "postgresql", 1),
    ("2 x PostgreSQL", "postgresql", 2),
)


def plan(budget: float) -> scenario.Plan:
    return scenario.Plan(
        sessions=max(20, round(300 * budget)),
        uploads=3,
        upload_bytes=max(1, round(499 * budget)) * MIB,
        status_checks=max(10, round(150 * budget)),
        slow_clients=6,
        deadline=max(120.0, 600.0 * budget),
    )


def run(budget: float) -> list[Row]:
    rows: list[Row] = []
    for label, kind, instances in SETUPS:
        with tempfile.TemporaryDirectory(prefix="aryz-load-") as tmp:
            try:
                outcome = scenario.run(label, kind, instances, plan(budget), Path(tmp))
            except RuntimeError as exc:  # PostgreSQL absent, or a server that did not start
                rows.append(
                    Row(f"load held: {label}", type(exc).__name__ + ": " + str(exc)[:200], False)
                )
                continue
        rows.extend(report.rows(outcome))
    return rows
