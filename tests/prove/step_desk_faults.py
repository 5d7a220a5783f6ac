"""Desk faults survived: SIGKILL of a real ``aryz desk`` during import, backup, restore and
export, seeded, on one desk folder that keeps growing (tests/faults/desk_kills.py says
what is checked after each). At budget 1.0: 120 runs, bounded by 15 minutes; scaled by
the budget. The issue's bar: 0 lost, 0 doubled."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.faults.desk_kills import DeskKills
from tests.prove import Row

TITLE = "Desk faults survived (SIGKILL during import, backup, restore, export)"
RUNS = 120
SECONDS = 900


def run(budget: float) -> list[Row]:
    deadline = time.monotonic() + SECONDS * budget
    wanted = max(4, int(RUNS * budget))
    with (
        tempfile.TemporaryDirectory(prefix="aryz-desk-faults-") as tmp,
        DeskKills(Path(tmp), seed=2026) as runs,
    ):
        runs.run_once("import")
        runs.run_once("backup")
        while runs.tally.runs < wanted and time.monotonic() < deadline:
            runs.run_once()
    tally = runs.tally
    return [
        Row("desk kills (runs)", f"{tally.kills} kills in {tally.runs} runs", tally.kills > 0),
        Row("desk items lost", str(tally.lost), tally.lost == 0),
        Row("desk items or sequence numbers doubled", str(tally.doubled), tally.doubled == 0),
        Row(
            "desk consistent after each kill",
            "; ".join(tally.problems[:3]) or "yes",
            not tally.problems,
        ),
    ]
