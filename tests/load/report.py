"""Turn a load run's outcome into summary rows (``tests.prove.Row``) and plain figures."""

from __future__ import annotations

from tests.load import scenario
from tests.load.generator import MIB
from tests.load.scenario import Outcome
from tests.prove import Row


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def latency(outcome: Outcome, kind: str) -> str:
    p50, p99 = outcome.recorder.percentiles(kind)
    return f"{kind} p50/p99 {_ms(p50)}/{_ms(p99)} ms"


def rows(outcome: Outcome) -> list[Row]:
    """Four rows per run: the load, memory, the slow clients, what was stored."""
    plan, rec = outcome.plan, outcome.recorder
    errors = sum(rec.errors.values())
    what = "; ".join(f"{k} x{v}" for k, v in sorted(rec.errors.items())) or "0 errors"
    if outcome.timed_out:
        what = f"did not finish within {plan.deadline:.0f} s; " + what
    rate = rec.requests / outcome.seconds if outcome.seconds else 0.0
    upload_mib = plan.uploads * plan.upload_bytes / MIB
    load = (
        f"{plan.sessions} form sessions, "
        f"{plan.uploads}x{plan.upload_bytes / MIB:,.0f} MiB uploads, "
        f"{plan.status_checks} status checks in {outcome.seconds:.0f} s: {rec.requests} requests, "
        f"{rate:.1f} req/s; {latency(outcome, 'form step')}, {latency(outcome, 'form send')}, "
        f"{latency(outcome, 'status check')}, {latency(outcome, 'upload')} "
        f"({upload_mib:,.0f} MiB); {what}; {rec.busy} busy 503s retried"
    )
    bound = plan.memory_bound_kib()
    peaks = ", ".join(f"{p / 1024:,.0f}" for p in outcome.peak_rss_kib)
    idle = ", ".join(f"{p / 1024:,.0f}" for p in outcome.idle_rss_kib)
    memory = (
        f"idle RSS {idle} MiB, peak {peaks} MiB per server <= {bound / 1024:,.0f} MiB "
        f"({plan.kdf_concurrency} x 64 MiB Argon2id + {scenario.BASE_MIB} MiB base)"
    )
    cut = sorted(rec.cut_off)
    slow_errors = rec.errors.get("slow client: not cut off", 0)
    slow = (
        f"{len(cut)} slow requests cut off (idle timeout {plan.idle_timeout:g} s; "
        f"median {cut[len(cut) // 2] if cut else 0:.1f} s), {slow_errors} not cut off; "
        f"{errors - slow_errors} errors for everyone else"
    )
    stored = (
        f"{outcome.cases} cases, {outcome.files_verified}/{outcome.files_expected} acknowledged "
        f"files decrypted with SHA-256 equal, {outcome.files_seen} file items stored"
    )
    return [
        Row(f"load held: {outcome.label}", load, errors == 0 and not outcome.timed_out),
        Row(
            f"memory bound: {outcome.label}", memory, max(outcome.peak_rss_kib, default=0) <= bound
        ),
        Row(f"slow clients cut off: {outcome.label}", slow, bool(cut) and errors == 0),
        Row(f"nothing lost: {outcome.label}", stored, outcome.stored_intact),
    ]
