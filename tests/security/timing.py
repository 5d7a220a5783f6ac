"""A timing comparison that is robust on a shared, noisy machine.

Samples of the two kinds are taken interleaved in a random (seeded) order, so load from
other processes falls on both alike. They are then compared by rank, not by mean:
``superiority`` is the Mann-Whitney U statistic divided by ``len(a) * len(b)`` — the
chance that a random sample of ``a`` took longer than a random one of ``b`` (ties count
half). 0.5 means an observer who sees one lookup of each kind cannot tell which is which
better than a coin; 1.0 or 0.0 means every single lookup gives the answer away. A few
slow outliers (a garbage collection, a page fault) move it by at most their share.
"""

from __future__ import annotations

import bisect
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# Allowed distance of ``superiority`` from 0.5. With 200 samples each, identical
# distributions land within 0.15 of 0.5 with a probability of about 1 - 2e-7 (the
# statistic's standard deviation is then 0.029); a shift of about half the samples'
# spread already passes it (see tests/security/test_lookup_timing.py).
MAX_SKEW = 0.15


@dataclass(frozen=True)
class Comparison:
    superiority: float  # P(a > b) + P(a == b) / 2
    median_a: float
    median_b: float
    spread: float  # the interquartile range of both samples together

    @property
    def distinguishable(self) -> bool:
        return abs(self.superiority - 0.5) > MAX_SKEW

    def describe(self) -> str:
        return (
            f"medians {self.median_a * 1e3:.3f} vs {self.median_b * 1e3:.3f} ms, "
            f"spread {self.spread * 1e3:.3f} ms, P(a>b) {self.superiority:.3f}"
        )


def superiority(a: list[float], b: list[float]) -> float:
    """Mann-Whitney U / (|a| |b|), in O(n log n) by counting through the sorted ``b``."""
    ordered = sorted(b)
    wins = 0.0
    for x in a:
        below = bisect.bisect_left(ordered, x)
        ties = bisect.bisect_right(ordered, x) - below
        wins += below + ties / 2
    return wins / (len(a) * len(b))


def compare(a: list[float], b: list[float]) -> Comparison:
    quartiles = statistics.quantiles(a + b, n=4)
    return Comparison(
        superiority(a, b), statistics.median(a), statistics.median(b), quartiles[2] - quartiles[0]
    )


async def interleaved(
    measure_a: Callable[[], Awaitable[object]],
    measure_b: Callable[[], Awaitable[object]],
    count: int,
    seed: int = 6,
) -> tuple[list[float], list[float]]:
    """Time ``count`` calls of each, in one seeded random interleaving."""
    order = [True] * count + [False] * count
    random.Random(seed).shuffle(order)  # noqa: S311 - a reproducible order, not a secret
    a: list[float] = []
    b: list[float] = []
    for is_a in order:
        started = time.perf_counter()
        await (measure_a() if is_a else measure_b())
        (a if is_a else b).append(time.perf_counter() - started)
    return a, b
