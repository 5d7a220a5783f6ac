"""Run every ``tests/prove/step_*.py`` and print the summary table (see ``tests.prove``)."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from tests.benchmarks.report import say
from tests.prove import Row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Aryz: the long proofs")
    parser.add_argument("--budget", type=float, default=1.0, help="scale every step's time")
    parser.add_argument("--only", action="append", default=[], help="run steps whose name has this")
    args = parser.parse_args(argv)
    steps = sorted(p.stem for p in Path(__file__).parent.glob("step_*.py"))
    steps = [s for s in steps if not args.only or any(o in s for o in args.only)]
    rows: list[tuple[str, Row]] = []
    for name in steps:
        module = importlib.import_module(f"tests.prove.{name}")
        title = str(getattr(module, "TITLE", name))
        say(f"== {title}")
        started = time.perf_counter()
        try:
            result: list[Row] = module.run(args.budget)
        except Exception:  # a crashed step is a failed proof, and the others still run
            say(traceback.format_exc())
            result = [Row("step crashed", "see above", False)]
        for row in result:
            rows.append((title, row))
            say(f"   {'ok  ' if row.ok else 'FAIL'} {row.check}: {row.figure}")
        say(f"   ({time.perf_counter() - started:.0f} s)")
    width = max((len(r.check) for _, r in rows), default=10)
    say("")
    say(f"{'step':<28} | {'check':<{width}} | result")
    for title, row in rows:
        verdict = "held" if row.ok else "FAILED"
        say(f"{title[:28]:<28} | {row.check:<{width}} | {verdict}: {row.figure}")
    failed = sum(not r.ok for _, r in rows)
    say(f"{len(rows) - failed} held, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
