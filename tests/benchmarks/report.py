"""Output shared by the benchmark scripts: one table of figures and ratios."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def say(text: str = "") -> None:
    """The script's only output channel (ruff's T20 keeps print() out of the code)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --- the table -------------------------------------------------------------------------


@dataclass
class Table:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.rows.append((title, "", ""))

    def add(self, label: str, figure: str, ratio: str = "") -> None:
        self.rows.append(("  " + label, figure, ratio))

    def render(self) -> str:
        header = ("measurement", "figure", "vs baseline")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(3)]
        rule = "-+-".join("-" * w for w in widths)
        lines = [_row(header, widths), rule]
        lines += [_row(r, widths) for r in self.rows]
        return "\n".join(lines)


def _row(cells: tuple[str, str, str], widths: list[int]) -> str:
    label, figure, ratio = cells
    return f"{label:<{widths[0]}} | {figure:>{widths[1]}} | {ratio:>{widths[2]}}".rstrip()


def rate(mib: float, seconds: float) -> str:
    return f"{mib / seconds:,.1f} MiB/s"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.3f}x"


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed:`` — ``elapsed()`` is the block's wall time afterwards."""
    start = time.perf_counter()
    end: float | None = None

    def elapsed() -> float:
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()
