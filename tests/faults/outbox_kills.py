"""SIGKILL while ``aryz courier push`` is being applied: after the restart the outbox is
applied wholly or not at all (status, replies, acknowledged items and their deleted
ciphertext move together), and pushing it again completes it. Used by tests/faults and
tests/prove/step_faults.py."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from service.common.contract.credential import credential_json
from service.common.crypto.keys import SigningKeyPair
from service.field.client import make_client, submit
from service.server.registry.logic import parse_registry
from tests.courier.helpers import ack, desk, outbox, reply, sealed_reply, status
from tests.faults.harness import Tally, integrity_problems, kill
from tests.server import ServerProcess
from tests.support import demo_trust, run_aryz

KZ = "kz-coalition"
STATUSES = ("under_review", "need_info", "will_contact", "referred")
RECORDS_PER_CASE = 150  # enough work that a kill often lands inside the transaction


class Outboxes:
    def __init__(self, workdir: Path, database_url: str, registry_dir: Path, seed: int) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.rng = random.Random(seed)  # noqa: S311 (seeded kill points, replayable; no secret)
        self.server = ServerProcess(workdir, database_url, registry_dir / "registry.toml")
        self.keys = desk(registry_dir, KZ)
        entry = parse_registry((registry_dir / "registry.toml").read_text()).get(KZ)
        assert entry is not None
        pair = SigningKeyPair(verify=entry.couriers[0].verify_key, seed=self.keys.courier_seed)
        self.credential = workdir / "kz.courier.json"
        self.credential.write_text(credential_json(KZ, pair))
        self.tally = Tally()
        self._run = 0

    def __enter__(self) -> Outboxes:
        self.server.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.stop()

    def _state(self) -> dict[str, tuple[int, int, int]]:
        """Per KZ case ref: (status_seq, replies, items still holding ciphertext)."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT c.ref, c.status_seq,"
                        " (SELECT count(*) FROM replies r WHERE r.case_id = c.id),"
                        " (SELECT count(*) FROM items i WHERE i.case_id = c.id"
                        "  AND i.state = 'complete')"
                        " FROM cases c WHERE c.coalition_id = :kz"
                    ),
                    {"kz": KZ},
                ).all()
        finally:
            engine.dispose()
        return {bytes(r[0]).hex(): (int(r[1]), int(r[2]), int(r[3])) for r in rows}

    def _items(self, case: str) -> list[str]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT i.ref FROM items i JOIN cases c ON c.id = i.case_id"
                        " WHERE c.ref = :ref AND i.state = 'complete'"
                    ),
                    {"ref": bytes.fromhex(case)},
                ).all()
        finally:
            engine.dispose()
        return [bytes(r[0]).hex() for r in rows]

    def _reply_key(self, case: str) -> bytes:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                key = conn.execute(
                    text("SELECT reply_public_key FROM cases WHERE ref = :ref"),
                    {"ref": bytes.fromhex(case)},
                ).scalar_one()
        finally:
            engine.dispose()
        return bytes(key)

    def _outbox(self) -> tuple[Path, dict[str, tuple[int, int, int]]]:
        """A fresh case with a file, and an outbox over every KZ case; the state it leads to."""
        self._run += 1
        photo = self.workdir / "photo.bin"
        photo.write_bytes(self.rng.randbytes(50_000))
        with make_client(self.server.url, None) as web:
            submit(
                web,
                country="KZ",
                coalition_id=None,
                message="kill",
                files=[photo],
                trust=demo_trust(self.server.env["ARYZ_REGISTRY_PATH"]),
            )
        before = self._state()
        records, after = [], {}
        for case, (seq, replies, _held) in sorted(before.items()):
            for n in range(1, RECORDS_PER_CASE + 1):
                records.append(status(KZ, case, seq + n, self.rng.choice(STATUSES)))
            seq += RECORDS_PER_CASE + 1
            sealed = sealed_reply(self._reply_key(case), f"answer {self._run}")
            records.append(reply(KZ, case, seq, sealed))
            if items := self._items(case):  # cases of earlier runs were acknowledged
                seq += 1
                records.append(ack(KZ, case, seq, items))
            after[case] = (seq, replies + 1, 0)
        path = self.workdir / f"outbox-{self._run}.json"
        path.write_bytes(outbox(self.keys, records))
        return path, after

    def _push(self, path: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service",
                "courier",
                "push",
                "--server",
                self.server.courier_url,
                "--credential",
                str(self.credential),
                str(path),
            ],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def run_once(self) -> None:
        path, after = self._outbox()
        before = self._state()
        pusher = self._push(path)
        # The CLI takes ~1 s to start; the application itself a fraction of that.
        threshold = self.rng.uniform(0.3, 2.5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            pusher.wait(timeout=threshold)
        kill(self.server)
        if pusher.poll() is None:
            pusher.kill()  # it would retry against the dead server; we push again below
        pusher.wait()
        self.tally.kills += 1
        self.tally.problems += integrity_problems(self.database_url)
        self.server.start()
        landed = self._state()
        if landed in (after, before):
            self.tally.outboxes_all_or_nothing += 1
        else:
            self.tally.problems.append("an outbox was applied in part")
        again = run_aryz(
            "courier",
            "push",
            "--server",
            self.server.courier_url,
            "--credential",
            str(self.credential),
            str(path),
        )
        if again.returncode != 0 or "applied" not in again.stdout:
            self.tally.problems.append("pushing the outbox again failed")
        if self._state() != after:
            self.tally.problems.append("pushing again did not complete the outbox")
        with httpx.Client(base_url=self.server.url, trust_env=False, timeout=30) as web:
            if web.get("/api/v1/info").status_code != 200:
                self.tally.problems.append("server not serving after restart")
