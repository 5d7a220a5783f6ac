"""SIGKILL of a real ``aryz desk`` process during import, backup, restore and export.

Each run starts one command on a desk folder that already holds earlier runs' work, kills
it after a seeded random delay (often mid-way: before the unlock, while items are written,
while the backup streams, between writing an outbox and marking its records), and then
checks that the desk is consistent:

- the desk opens with its passphrase, SQLite's integrity check passes, every item's body
  decrypts whole and matches its SHA-256 (nothing half-imported);
- the same command, run again to the end, completes; after an import every item of the
  bundle is on the desk exactly once (0 lost, 0 doubled);
- no sequence number was used twice: across every outbox file ever written, a (case,
  number) pair always carries the same record;
- every finished backup file verifies; a restore target is either absent or a whole desk
  (a killed restore leaves only a hidden staging folder, removed by the next restore).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

PASSPHRASE = "orchard lantern walrus pebble violin harbor quilt"  # noqa: S105 - a test desk
OPERATIONS = ("import", "backup", "restore", "export")


@dataclass
class DeskTally:
    kills: int = 0
    runs: int = 0
    lost: int = 0  # items of an imported bundle missing, or a finished backup that fails
    doubled: int = 0  # an item twice, or one sequence number carrying two records
    problems: list[str] = field(default_factory=list)


class DeskKills:
    """A desk folder and a stick, and seeded kill runs against them."""

    def __init__(self, work: Path, seed: int, items_per_bundle: int = 6) -> None:
        self.work = work
        self.random = random.Random(seed)  # noqa: S311 - a test's seeded schedule
        self.items_per_bundle = items_per_bundle
        self.desk_dir = work / "desk"
        self.stick = work / "stick"
        self.tally = DeskTally()
        self.env = {
            **os.environ,
            "ARYZ_DESK_KDF": "minimum",
            "ARYZ_DESK_PASSPHRASE": PASSPHRASE,
        }
        self.expected_items: set[str] = set()
        # How long each command last took when run to the end: kills are drawn inside
        # that span, so they land mid-way on a fast machine as on a slow one (with a fixed
        # 0.2-1.6 s window, commands of 0.3 s on this machine were almost never killed).
        self.durations: dict[str, float] = {}
        self.outboxes = 0
        self.bundles = 0

    def __enter__(self) -> DeskKills:
        from service.desk.casework.desk import init_desk

        os.environ.setdefault("ARYZ_DESK_KDF", "minimum")
        self.stick.mkdir(parents=True)
        init_desk(self.desk_dir, "kz-coalition", PASSPHRASE)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    # --- one run ------------------------------------------------------------------------

    def run_once(self, operation: str | None = None) -> None:
        operation = operation or self.random.choice(OPERATIONS)
        self.tally.runs += 1
        args = self._prepare(operation)
        delay = self.random.uniform(0.05, 0.95) * self.durations.get(operation, 0.6)
        process = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "service", "desk", *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.tally.kills += 1
        self._check(operation, args)

    def _prepare(self, operation: str) -> list[str]:
        desk = ["--dir", str(self.desk_dir)]
        if operation == "import":
            return ["import", *desk, str(self._bundle())]
        if operation == "backup":
            return ["backup", *desk, "--out", str(self.stick)]
        if operation == "export":
            self._triage()
            self.outboxes += 1
            return ["export", *desk, "--out", str(self.stick / f"outbox-{self.outboxes}.json")]
        backups = sorted(self.stick.glob("*.aryz-backup"))
        if not backups:
            return ["backup", *desk, "--out", str(self.stick)]
        return ["restore", "--dir", str(self.work / "restored"), str(backups[-1])]

    def _bundle(self) -> Path:
        from service.desk.casework.desk import open_desk
        from tests.desk.helpers import (
            FakeCase,
            answers_plaintext,
            bundle_bytes,
            file_plaintext,
            recipients,
            sealed,
        )

        with open_desk(self.desk_dir, PASSPHRASE) as desk:
            keys = recipients(desk)
        items = []
        for _ in range(max(1, self.items_per_bundle // 2)):
            case = FakeCase()
            items.append(sealed(case, answers_plaintext(case, {"detained": "yes"}), keys))
            photo = self.random.randbytes(self.random.randint(50_000, 400_000))
            items.append(sealed(case, file_plaintext(case, "photo.jpg", photo), keys))
        self.bundles += 1
        path = self.stick / f"bundle-{self.bundles}.aryz"
        path.write_bytes(bundle_bytes(items))
        self.expected_items |= {i.ref for i in items}
        return path

    def _triage(self) -> None:
        from service.desk.casework.desk import open_desk

        with open_desk(self.desk_dir, PASSPHRASE) as desk:
            for summary in desk.list_cases()[:3]:
                status = self.random.choice(["under_review", "will_contact", "referred"])
                if status != summary.status:
                    desk.set_triage(summary.ref, status=status)

    # --- after the kill -----------------------------------------------------------------

    def _check(self, operation: str, args: list[str]) -> None:
        if operation == "restore":
            self._check_restore(Path(args[2]), Path(args[3]))
            return
        self._check_desk(self.desk_dir)
        # The same command, to the end: it must complete.
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "service", "desk", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.durations[operation] = time.monotonic() - started
        if done.returncode not in (0, 1) and "already exists" not in done.stdout + done.stderr:
            self.tally.problems.append(f"{operation} did not complete: {done.stderr[-300:]}")
        self._check_desk(self.desk_dir)
        self._check_items()
        self._check_outboxes()
        self._check_backups()

    def _check_desk(self, folder: Path) -> None:
        import service.desk.casework.cases as cases
        from service.desk.casework.desk import open_desk
        from service.desk.errors import DeskError

        try:
            with open_desk(folder, PASSPHRASE) as desk:
                store = desk._store  # noqa: SLF001 - a consistency check looks inside
                ok = store.connection.execute("PRAGMA integrity_check").fetchone()[0]
                if ok != "ok":
                    self.tally.problems.append(f"integrity check: {ok}")
                for case in cases.all_cases(store):
                    for item in cases.items_of(store, case):
                        body = b"".join(
                            store.read_chunks(item.id, item.index, int(item.record["chunks"]))
                        )
                        if hashlib.sha256(body).hexdigest() != item.record["sha256"]:
                            self.tally.problems.append("an item's body does not match")
        except DeskError as exc:
            self.tally.problems.append(f"desk does not open: {exc.code}")

    def _check_items(self) -> None:
        import service.desk.casework.cases as cases
        from service.desk.casework.desk import open_desk

        with open_desk(self.desk_dir, PASSPHRASE) as desk:
            store = desk._store  # noqa: SLF001
            refs = [i.ref for c in cases.all_cases(store) for i in cases.items_of(store, c)]
        present = set(refs)
        self.tally.doubled += len(refs) - len(present)
        # Every bundle before the current one was imported to the end at least once.
        self.tally.lost += len(self.expected_items - present)

    def _check_outboxes(self) -> None:
        seen: dict[tuple[str, int], str] = {}
        doubled = 0
        for path in sorted(self.stick.glob("outbox-*.json")):
            try:
                records = json.loads(path.read_text())["records"]
            except (ValueError, KeyError):
                self.tally.problems.append("a half-written outbox file")
                continue
            for record in records:
                body = record["body"]
                key = (body["case"], body["seq"])
                text = json.dumps(body, sort_keys=True)
                if seen.setdefault(key, text) != text:
                    doubled += 1
        self.tally.doubled = max(self.tally.doubled, doubled)

    def _check_backups(self) -> None:
        from service.desk.errors import DeskError
        from service.desk.store.backup import Opening, verify_backup

        for path in sorted(self.stick.glob("*.aryz-backup")):
            try:
                verify_backup(path, Opening(passphrase=PASSPHRASE))
            except DeskError:
                self.tally.lost += 1
                self.tally.problems.append("a finished backup does not verify")

    def _check_restore(self, target: Path, backup: Path) -> None:
        if target.exists():
            self._check_desk(target)
            _remove(target)
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "service", "desk", "restore", "--dir", str(target), str(backup)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.durations["restore"] = time.monotonic() - started
        if done.returncode != 0:
            self.tally.problems.append(f"restore did not complete: {done.stderr[-300:]}")
            return
        self._check_desk(target)
        leftovers = [p for p in target.parent.iterdir() if p.name.startswith(".restoring-")]
        if leftovers:
            self.tally.problems.append("a restore left its staging folder")
        _remove(target)


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir():
            _remove(child)
        else:
            child.unlink()
    folder.rmdir()
