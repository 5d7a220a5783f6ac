"""``make prove`` step: every atheris target in tests/fuzz/ for a bounded time each.

Each target runs in its own interpreter under libFuzzer for ``60 s × budget`` (at least
5 s). A crash is an exception outside our error tree or an input slower than 10 s (a
hang); libFuzzer then exits non-zero and saves the input in a temporary directory, whose
path this step prints."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.report import say
from tests.prove import Row

TITLE = "Fuzzing (atheris)"
ROOT = Path(__file__).resolve().parents[2]
TARGETS = sorted(p.stem for p in (ROOT / "tests" / "fuzz").glob("fuzz_*.py"))
_EXECUTED = re.compile(rb"stat::number_of_executed_units: (\d+)")


def _run(target: str, seconds: int, artifacts: Path) -> Row:
    command = [
        sys.executable, "-m", f"tests.fuzz.{target}",
        f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
        "-print_final_stats=1", f"-artifact_prefix={artifacts}/{target}-",
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, capture_output=True, timeout=seconds + 120, check=False
        )
    except subprocess.TimeoutExpired:
        return Row(f"fuzz {target[5:]}", f"did not stop within {seconds + 120} s", False)
    found = _EXECUTED.search(done.stderr)
    inputs = int(found.group(1)) if found else 0
    if done.returncode != 0:
        say(done.stderr.decode(errors="replace")[-3000:])
        return Row(f"fuzz {target[5:]}", f"CRASH after {inputs} inputs, see {artifacts}", False)
    return Row(f"fuzz {target[5:]}", f"{inputs:,} inputs in {seconds} s, 0 crashes", inputs > 0)


def run(budget: float) -> list[Row]:
    seconds = max(5, round(60 * budget))
    artifacts = Path(tempfile.mkdtemp(prefix="aryz-fuzz-"))
    return [_run(target, seconds, artifacts) for target in TARGETS]
