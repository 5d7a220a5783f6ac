"""SIGKILL mid-upload and mid-outbox, a handful of seeded runs per path and backend (the
hundreds run in ``make prove``, tests/prove/step_faults.py). See tests/faults/harness.py
for what is checked after every kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.common.crypto.keys import BoxKeyPair
from tests.faults.harness import Uploads
from tests.faults.outbox_kills import Outboxes

pytestmark = pytest.mark.slow
RUNS = 2  # outbox kills per backend; the hundreds run in make prove
PATHS = ("form", "api", "form")  # one kill each, per backend


def test_kill_during_uploads(
    tmp_path: Path,
    database_url: str,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
) -> None:
    with Uploads(tmp_path, database_url, registry_dir, desk_keys, seed=6) as runs:
        for path in PATHS:
            runs.run_once(path)
    tally = runs.tally
    assert tally.problems == []
    assert tally.kills == len(PATHS)
    assert tally.lost == tally.partial == 0
    assert tally.verified > 0


def test_kill_during_outbox_application(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    with Outboxes(tmp_path, database_url, registry_dir, seed=6) as runs:
        for _ in range(RUNS):
            runs.run_once()
    tally = runs.tally
    assert tally.problems == []
    assert tally.kills == tally.outboxes_all_or_nothing == RUNS
