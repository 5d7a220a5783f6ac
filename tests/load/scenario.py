"""One load run against real ``aryz serve`` processes: start them, drive the load, measure
their memory, stop them, and check that everything acknowledged decrypts intact.

The servers run with the production key-derivation floor (Argon2id 64 MiB, 3 passes), so
the bound ``ARYZ_KDF_CONCURRENCY`` puts on memory is the real one: at most that many
64 MiB derivations at once. ``memory_bound`` states what a server may hold at peak.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.common.crypto.envelope import Opener
from service.common.crypto.payload import PayloadReader
from service.common.crypto.token import PRODUCTION_LIMITS
from service.server.cli.demo import write_demo_registry
from service.server.cli.demo_read import demo_keys
from service.server.models import COMPLETE, Case, Item
from service.server.storage import migrate
from service.server.storage.db import make_engine, make_sessionmaker
from service.server.storage.items import iter_ciphertext
from tests.benchmarks.bench_intake import RssSampler, proc_status_kib
from tests.conftest import PG_URL, _pg_available, _pg_exec
from tests.load.generator import MIB, Load, Recorder, unknown_token
from tests.server import ServerProcess

# What one server holds besides its key derivations: the interpreter and app (about
# 100 MiB idle), hundreds of open requests, three uploads streaming through the sealer,
# the database pool. Under the full load (budget 1.0, two runs of 2026-12-01) a server
# peaked at 253-306 MiB with its two derivations, i.e. at most 178 MiB besides them. A broken KDF
# bound (more derivations at once than ARYZ_KDF_CONCURRENCY) adds 64 MiB for each.
BASE_MIB = 192


@dataclass(frozen=True)
class Plan:
    sessions: int  # form sessions at once
    uploads: int  # large uploads at once
    upload_bytes: int
    status_checks: int  # in one burst, half for filed cases, half for unknown tokens
    slow_clients: int  # kept open (and reopened) for the whole run
    deadline: float  # seconds the whole run may take
    kdf_concurrency: int = 2
    kdf_max_waiting: int = 32
    # Short, so that slow clients are cut off many times in a run; not too short, or on a
    # starved machine an ordinary request's body could pause that long (the default in
    # production is 120 s).
    idle_timeout: float = 5.0

    def memory_bound_kib(self) -> int:
        return (BASE_MIB * MIB + self.kdf_concurrency * PRODUCTION_LIMITS.memlimit) // 1024


@dataclass
class Outcome:
    label: str
    plan: Plan
    recorder: Recorder
    seconds: float = 0.0
    timed_out: bool = False
    idle_rss_kib: list[int] = field(default_factory=list)  # each server before the load
    peak_rss_kib: list[int] = field(default_factory=list)
    cases: int = 0
    files_verified: int = 0
    files_expected: int = 0
    files_seen: int = 0

    @property
    def stored_intact(self) -> bool:
        return (
            self.files_verified == self.files_expected == self.files_seen
            and self.cases == self.plan.sessions + 1  # +1: the slow clients' case
        )

    @property
    def held(self) -> bool:
        return not self.timed_out and not self.recorder.errors and self.stored_intact


# --- databases -------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'aryz.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    if not _pg_available():
        raise RuntimeError("PostgreSQL is not available")
    name = f"aryz_load_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(False)
        migrate.upgrade(url)
        yield url
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the run ---------------------------------------------------------------------------


def run(label: str, kind: str, instances: int, plan: Plan, workdir: Path) -> Outcome:
    """Start ``instances`` servers on one fresh database, drive the plan, check the store."""
    outcome = Outcome(label, plan, Recorder())
    registry = workdir / "registry"
    registry.mkdir(parents=True)
    write_demo_registry(registry)
    with database(kind, workdir) as url, ExitStack() as stack:
        servers = []
        for n in range(instances):
            server = ServerProcess(_fresh(workdir / f"server{n}"), url, registry / "registry.toml")
            server.env.update(
                ARYZ_KDF_OPSLIMIT=str(PRODUCTION_LIMITS.opslimit),
                ARYZ_KDF_MEMLIMIT=str(PRODUCTION_LIMITS.memlimit),
                ARYZ_KDF_CONCURRENCY=str(plan.kdf_concurrency),
                ARYZ_KDF_MAX_WAITING=str(plan.kdf_max_waiting),
                ARYZ_BODY_IDLE_TIMEOUT=str(plan.idle_timeout),
            )
            stack.callback(server.stop)
            servers.append(server.start())
        samplers = []
        for server in servers:
            assert server.process is not None
            outcome.idle_rss_kib.append(proc_status_kib(server.process.pid, "VmRSS") or 0)
            samplers.append(stack.enter_context(RssSampler(server.process.pid)))
        started = time.perf_counter()
        try:
            uploaded = asyncio.run(
                asyncio.wait_for(
                    _drive([s.url for s in servers], plan, outcome.recorder), plan.deadline
                )
            )
        except TimeoutError:
            outcome.timed_out = True
            uploaded = []
        outcome.seconds = time.perf_counter() - started
        for server, sampler in zip(servers, samplers, strict=True):
            assert server.process is not None
            hwm = proc_status_kib(server.process.pid, "VmHWM") or 0
            outcome.peak_rss_kib.append(max(hwm, sampler.peak_kib))
        for server in servers:
            server.stop()
        _check_store(outcome, url, registry, uploaded)
    return outcome


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


async def _drive(urls: list[str], plan: Plan, recorder: Recorder) -> list[str]:
    """Phase 1: the form sessions, all at once. Phase 2: the uploads and the burst of
    status checks, at once. Slow clients keep coming back through both. Returns the
    SHA-256 of every upload the server acknowledged."""
    connections = plan.sessions + plan.uploads + plan.status_checks + plan.slow_clients + 4
    load = Load(urls, recorder, connections=connections)
    try:
        seed = await load.form_session()  # the case the slow uploads claim to add to
        done = asyncio.Event()
        gap = plan.idle_timeout * 2.5
        slow = [
            asyncio.create_task(_keep_slow(load, seed, gap, upload=n % 2 == 0, done=done))
            for n in range(plan.slow_clients)
        ]
        sessions = await asyncio.gather(
            *(load.guarded("form", load.form_session()) for _ in range(plan.sessions))
        )
        tokens = [t for t in sessions if isinstance(t, str)]
        half = plan.status_checks // 2
        checks = [load.status(tokens[n % len(tokens)], 200) for n in range(half)] if tokens else []
        checks += [load.status(unknown_token(), 404) for _ in range(plan.status_checks - half)]
        uploads = [
            load.upload(tokens[n % len(tokens)], plan.upload_bytes, n)
            for n in range(plan.uploads if tokens else 0)
        ]
        results = await asyncio.gather(
            *(load.guarded("upload", u) for u in uploads),
            *(load.guarded("status", c) for c in checks),
        )
        done.set()
        await asyncio.gather(*slow)
        return [r for r in results[: len(uploads)] if isinstance(r, str)]
    finally:
        await load.aclose()


async def _keep_slow(
    load: Load, token: str, gap: float, *, upload: bool, done: asyncio.Event
) -> None:
    limit = 60.0 + 4 * gap  # still open after this: not cut off (see Load.slow_client)
    while not done.is_set():
        await load.slow_client(token, gap, limit, upload)


# --- what was stored -------------------------------------------------------------------


def _check_store(outcome: Outcome, url: str, registry: Path, uploaded: list[str]) -> None:
    """Stream every complete item through the desk's opener: count the cases, and match
    the files' SHA-256 with what the generator sent."""
    keys = demo_keys(registry)
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        with factory() as session:
            outcome.cases = len(session.scalars(select(Case.id)).all())
            rows = session.execute(
                select(Item.id, Case.coalition_id)
                .join(Case, Case.id == Item.case_id)
                .where(Item.state == COMPLETE)
            ).all()
        expected = Counter(uploaded)
        seen: Counter[str] = Counter()
        for item_id, coalition_id in rows:
            kind, digest = _open(factory, item_id, Opener([keys[coalition_id]]))
            if kind == "file":
                seen[digest] += 1
        outcome.files_expected = len(uploaded)
        outcome.files_seen = sum(seen.values())
        outcome.files_verified = sum((expected & seen).values())
    finally:
        engine.dispose()


def _open(factory: sessionmaker[Session], item_id: int, opener: Opener) -> tuple[object, str]:
    reader = PayloadReader()
    digest = hashlib.sha256()
    for piece in iter_ciphertext(factory, item_id):
        digest.update(reader.feed(opener.feed(piece)))
    digest.update(reader.feed(opener.close()))
    reader.close()
    return (reader.meta or {}).get("type"), digest.hexdigest()
