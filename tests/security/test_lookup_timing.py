"""Security brief item 4: a token lookup does the same work whether or not its case
exists — the memory-hard derivation runs for every well-formed token, then one indexed
query. Measured on the real lookup path (the real Deriver's worker threads, the real
database, SQLite and PostgreSQL), 200 existing and 200 unknown well-formed tokens,
interleaved; compared by rank (tests/security/timing.py).

The same statistic, on the same path, must flag a lookup that does measurably less work
for unknown tokens: otherwise this test could not fail. The whole status *page* is not
compared here: for a found case it also reads and renders the case, which the page's
contents reveal anyway to whoever holds the token (see SECURITY.md, "Timing")."""

from __future__ import annotations

import random
import time

import anyio
import pytest
from fastapi.testclient import TestClient

from service.common.crypto.token import Deriver, KdfLimits, TokenSecrets, derive, generate_token
from service.server.deps import Runtime
from service.server.intake.routes import _open_case
from tests.security.timing import MAX_SKEW, compare, interleaved, superiority
from tests.support import file_report

SAMPLES = 200


def _measure(runtime: Runtime, existing: list[str]) -> tuple[list[float], list[float]]:
    turn = iter(range(10**9))

    async def found() -> None:
        case, _ = await _open_case(runtime, existing[next(turn) % len(existing)])
        assert case is not None

    async def missing() -> None:
        case, _ = await _open_case(runtime, generate_token())
        assert case is None

    async def both() -> tuple[list[float], list[float]]:
        for _ in range(20):  # warm the thread pool, the connection pool and the caches
            await found()
            await missing()
        return await interleaved(found, missing, SAMPLES)

    return anyio.run(both)


@pytest.fixture
def existing(client: TestClient) -> list[str]:
    return [file_report(client, narrative=f"case {i}") for i in range(3)]


def test_lookup_of_existing_and_unknown_tokens_takes_the_same_time(
    runtime: Runtime, existing: list[str]
) -> None:
    result = compare(*_measure(runtime, existing))
    assert not result.distinguishable, result.describe()


def test_the_comparison_catches_a_lookup_that_skips_work_for_unknown_tokens(
    runtime: Runtime, existing: list[str]
) -> None:
    # Calibrate on the honest path, then make every lookup of an existing token do
    # extra work worth the observed spread (interquartile range): a far smaller leak than
    # skipping the derivation would be at production limits (~200 ms against a spread of
    # well under a millisecond). Half the spread was caught on a quiet machine but not
    # reliably on a loaded one, where the spread itself is noise.
    honest = compare(*_measure(runtime, existing))
    extra = max(honest.spread, 50e-6)

    def leaky(token: str, limits: KdfLimits) -> TokenSecrets:
        secrets = derive(token, limits)
        if token in existing:
            deadline = time.perf_counter() + extra
            while time.perf_counter() < deadline:  # busy, like real work, not a sleep
                pass
        return secrets

    s = runtime.settings
    runtime.deriver = Deriver(
        KdfLimits(s.kdf_opslimit, s.kdf_memlimit), s.kdf_concurrency, s.kdf_max_waiting, work=leaky
    )
    leaking = compare(*_measure(runtime, existing))
    assert leaking.distinguishable, leaking.describe()
    assert leaking.superiority > 0.5 + MAX_SKEW  # and on the right side


def test_superiority_is_one_half_for_the_same_samples_and_extreme_for_separated_ones() -> None:
    rng = random.Random(6)  # noqa: S311 - reproducible test data, not a secret
    a = [rng.gauss(1.0, 0.2) for _ in range(SAMPLES)]
    b = a[:]
    rng.shuffle(b)
    assert superiority(a, b) == 0.5
    assert not compare(a, b).distinguishable
    assert superiority([x + 10 for x in a], b) == 1.0
    assert superiority(a, [x + 10 for x in b]) == 0.0
    # A single huge outlier moves it by at most 1/SAMPLES.
    assert abs(superiority([*a[:-1], 1e9], b) - 0.5) <= 1 / SAMPLES
