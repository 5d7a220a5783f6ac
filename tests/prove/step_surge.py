"""A surge, rehearsed through Tor: many people at once filing reports (some with files) to
one public onion address behind Onionbalance — first with one backend, then with two —
on the private Tor network (``tests/onion/balanced.py``; deploy/README.md section 5).

Each phase: ``40 × budget`` people on 8 circuit groups walk the form and send it, one in
five uploads a 4 MiB file through the form, each checks the status
(``tests/prove/surge_worker.py``). The backends run the production key derivation
(Argon2id 64 MiB, 3 passes, at most 2 at once). Per phase: p50/p99 per step, errors
(must be 0), peak memory of each backend against its bound, CPU each backend spent (so
that the second phase shows both took work), and throughput; then the growth from one
backend to two. On this machine every tor, both backends, PostgreSQL and the clients
share two cores, so a second backend adds no CPU: the growth figure says what Tor and
Onionbalance cost, not what a second machine would add.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from service.common.crypto.token import PRODUCTION_LIMITS
from tests.benchmarks.bench_intake import RssSampler, proc_cpu_seconds
from tests.load import scenario
from tests.onion.balanced import ROOT, Backend, Balanced, available, balanced_deployment
from tests.prove import Row

TITLE = "surge through tor"
KDF_CONCURRENCY = 2
MEMORY_BOUND_MIB = KDF_CONCURRENCY * 64 + scenario.BASE_MIB
JOIN_TIMEOUT = 300.0
PRODUCTION_KDF = {
    "ARYZ_KDF_OPSLIMIT": str(PRODUCTION_LIMITS.opslimit),
    "ARYZ_KDF_MEMLIMIT": str(PRODUCTION_LIMITS.memlimit),
    "ARYZ_KDF_CONCURRENCY": str(KDF_CONCURRENCY),
    "ARYZ_KDF_MAX_WAITING": "64",
}


@dataclass
class Phase:
    label: str
    result: dict[str, Any]
    peak_rss_mib: list[float]
    cpu_seconds: list[float]

    @property
    def rate(self) -> float:
        return float(self.result["requests"]) / float(self.result["wall"])

    @property
    def errors(self) -> int:
        return int(self.result["errors"])


def _phase(b: Balanced, label: str, up: list[Backend], people: int) -> Phase:
    pids = [backend.app.process.pid for backend in up if backend.app.process is not None]
    cpu_before = [proc_cpu_seconds(pid) for pid in pids]
    samplers = [RssSampler(pid) for pid in pids]
    for sampler in samplers:
        sampler.__enter__()
    try:
        ran = b.network.run(
            [sys.executable, "-m", "tests.prove.surge_worker", "--server", f"http://{b.front}",
             "--proxy", b.user.socks_url, "--people", str(people)],
            {**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=1800,
        )  # fmt: skip
    finally:
        for sampler in samplers:
            sampler.__exit__()
    if ran.returncode != 0:
        raise RuntimeError("surge worker failed: " + ran.stderr[-1500:])
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    cpu = [proc_cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    return Phase(label, result, [s.peak_kib / 1024 for s in samplers], cpu)


def _wait_joined(b: Balanced, backend: Backend, since: int) -> None:
    """Until Onionbalance has taken the backend's descriptor and published after that."""
    log = b.workdir / "onionbalance.stderr"
    address = backend.hostname.removesuffix(".onion")
    deadline = time.monotonic() + JOIN_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")[since:]
        # Not "Entirely missing a descriptor for instance …", which it logs until then.
        seen = text.find(f"Found instance {address} for this new descriptor")
        if seen >= 0 and "Uploading" in text[seen:]:
            return
        time.sleep(2)  # Onionbalance checks every 10-20 s on a test network
    raise RuntimeError("Onionbalance did not take the second backend in time")


def _row(phase: Phase) -> Row:
    r = phase.result
    pct = r["percentiles"]

    def step(kind: str) -> str:
        p50, p99 = pct[kind]
        return f"{kind} {p50 * 1000:,.0f}/{p99 * 1000:,.0f} ms"

    kinds = ("form step", "form send", "upload", "status check")
    errors = f"{phase.errors} errors" + (f" {r['error_kinds']}" if phase.errors else "")
    memory = ", ".join(f"{m:,.0f}" for m in phase.peak_rss_mib)
    cpu = ", ".join(f"{c:,.1f}" for c in phase.cpu_seconds)
    figure = (
        f"{r['requests']} requests in {float(r['wall']):.0f} s ({phase.rate:.2f} req/s, "
        f"{float(r['uploaded_mib']) / float(r['wall']):.2f} MiB/s of files); "
        f"p50/p99 {'; '.join(step(k) for k in kinds)}; {errors}, {r['busy']} busy 503s "
        f"retried; peak RSS {memory} MiB (bound {MEMORY_BOUND_MIB}); CPU {cpu} s"
    )
    ok = phase.errors == 0 and max(phase.peak_rss_mib, default=0) <= MEMORY_BOUND_MIB
    return Row(f"surge through tor: {phase.label}", figure, ok)


def run(budget: float) -> list[Row]:
    missing = available()
    if missing:
        return [Row("surge through tor", f"{missing} is not available", False)]
    people = max(10, round(40 * budget))
    with tempfile.TemporaryDirectory(prefix="aryz-surge-") as tmp:
        work = Path(tmp)
        try:
            with scenario.database("postgresql", work) as template_url:
                template = str(make_url(template_url).database)
                with balanced_deployment(
                    work / "site", template, backends=2, started=1, env=PRODUCTION_KDF
                ) as b:
                    b.reach(JOIN_TIMEOUT)
                    one = _phase(b, "1 backend", b.backends[:1], people)
                    since = len((b.workdir / "onionbalance.stderr").read_bytes())
                    b.backends[1].start(b.network)
                    _wait_joined(b, b.backends[1], since)
                    with b.user.client.control() as control:
                        control.new_circuits()  # forget the descriptor with one backend
                    b.reach(JOIN_TIMEOUT)
                    two = _phase(b, "2 backends", b.backends, people)
        except RuntimeError as exc:
            return [Row("surge through tor", f"{type(exc).__name__}: {str(exc)[:300]}", False)]
    share = min(two.cpu_seconds) / sum(two.cpu_seconds) if sum(two.cpu_seconds) else 0.0
    growth = Row(
        "surge through tor: growth",
        f"2 backends / 1 backend: {two.rate / one.rate:.2f}x requests per second; the second "
        f"backend did {share:.0%} of the work (CPU); {people} people per phase",
        share >= 0.1,
    )
    return [_row(one), _row(two), growth]
