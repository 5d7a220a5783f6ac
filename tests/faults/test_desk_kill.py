"""SIGKILL of ``aryz desk`` during import, backup, restore and export: a few seeded runs
of each (the longer loop runs in ``make prove``, tests/prove/step_desk_faults.py). See
tests/faults/desk_kills.py for what is checked after every kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.desk_kills import OPERATIONS, DeskKills

pytestmark = pytest.mark.slow


def test_kill_during_desk_commands_leaves_the_desk_consistent(tmp_path: Path) -> None:
    with DeskKills(tmp_path, seed=13, items_per_bundle=4) as runs:
        runs.run_once("import")
        runs.run_once("backup")
        for operation in OPERATIONS:
            runs.run_once(operation)
    tally = runs.tally
    assert tally.problems == []
    assert tally.lost == tally.doubled == 0
    assert tally.runs == 2 + len(OPERATIONS)
    assert tally.kills > 0  # the runs really were cut short (kills land inside each span)
