"""SIGKILL at random points: a real ``aryz serve`` is killed while clients upload (the
no-JS form with files, and the API's resumable path) or while ``aryz courier push`` is
being applied, then restarted and checked. Shared by ``tests/faults`` (a handful of runs
in ``make test``) and ``tests/prove/step_faults.py`` (hundreds).

What "survived" means after each kill (security brief item 6):
- the database passes its integrity check (SQLite ``PRAGMA integrity_check`` and a
  foreign-key check; on both backends a query that every item's stored pieces add up to
  its recorded size and sequence);
- every item the client was told was stored opens with the coalition's demo key to
  exactly the bytes sent (none lost);
- nothing else is visible, with one exception a crash cannot avoid: the item whose last
  piece committed just before the kill, before the answer left. It must be whole too.
Kill points come from a seeded ``random.Random``, so a failing run can be replayed.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.token import TokenSecrets, derive
from service.field.client import fetch_info, seal_file, submit
from tests.server import ServerProcess
from tests.support import demo_trust, file_report, opened_items_at

CHUNK = 64 * 1024


class Killed(Exception):
    """Raised by a request body after it killed the server at its chosen byte."""


@dataclass
class Tally:
    kills: int = 0
    verified: int = 0  # acknowledged items found intact after a kill
    lost: int = 0  # acknowledged items missing or changed
    partial: int = 0  # visible items that were neither acknowledged nor sent whole
    in_flight_whole: int = 0  # committed just before the kill, answer never sent
    outboxes_all_or_nothing: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("kills", "verified", "lost", "partial", "in_flight_whole"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outboxes_all_or_nothing += other.outboxes_all_or_nothing
        self.problems += other.problems

    @property
    def ok(self) -> bool:
        return not (self.lost or self.partial or self.problems)


_INCONSISTENT = text(
    """
    SELECT count(*) FROM items i LEFT JOIN (
        SELECT item_id, count(*) AS n, sum(length(data)) AS s, max(seq) AS m
        FROM item_chunks GROUP BY item_id
    ) c ON c.item_id = i.id
    WHERE i.state <> 'acknowledged' AND (
        coalesce(c.s, 0) <> i.size OR coalesce(c.n, 0) <> i.next_seq
        OR coalesce(c.m, -1) <> i.next_seq - 1)
    """
)


def integrity_problems(database_url: str) -> list[str]:
    """What is wrong with the database after a crash; empty when it is sound."""
    problems = []
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            if db.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                problems.append("sqlite integrity_check failed")
            if db.execute("PRAGMA foreign_key_check").fetchall():
                problems.append("sqlite foreign_key_check failed")
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if conn.execute(_INCONSISTENT).scalar_one():
                problems.append("an item's pieces do not add up to its size")
    finally:
        engine.dispose()
    return problems


def count_complete(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM items WHERE state = 'complete'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def kill(server: ServerProcess) -> None:
    assert server.process is not None
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGKILL)
    server.process.wait()


class Uploads:
    """One server, killed and restarted again and again while files are sent to it."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        registry_dir: Path,
        keys: dict[str, BoxKeyPair],
        seed: int,
    ) -> None:
        self.database_url = database_url
        self.registry_dir = registry_dir
        self.keys = keys
        self.rng = random.Random(seed)  # noqa: S311 (seeded kill points, replayable; no secret)
        self.server = ServerProcess(workdir, database_url, registry_dir / "registry.toml")
        self.acknowledged: dict[str, bytes] = {}  # file name -> bytes sent, answer received
        self.in_flight: dict[str, bytes] = {}  # sent, answer not (yet) received
        self.answers = 0  # cases filed and acknowledged: one answers item each
        self.token = ""
        self.tally = Tally()
        self.workdir = workdir
        self.api_secrets: TokenSecrets | None = None
        # An API upload cut by a kill: (name, bytes, sealed file, upload capability).
        self.pending: tuple[str, bytes, Path, str] | None = None
        self.coalition: dict[str, Any] = {}
        self._names = 0

    def __enter__(self) -> Uploads:
        self.server.start()
        with self._web() as web:
            self.token = file_report(web, country="KG", narrative="before any kill")
            info = fetch_info(web)
            self.coalition = info.coalition("KZ", None)
            token = submit(
                web,
                country="KZ",
                coalition_id=None,
                message="api",
                files=[],
                trust=demo_trust(self.registry_dir),
            )
            self.api_secrets = derive(token, info.limits)
        self.answers = 2  # one case through the form, one through the API
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.stop()

    def _web(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=60, trust_env=False)

    def _file(self) -> tuple[str, bytes]:
        self._names += 1
        size = self.rng.choice((1, 700, 40_000, 1_100_000, 2_200_000))
        name = f"f{self._names:05d}.bin"
        return name, name.encode() + self.rng.randbytes(size)

    # --- the form path -------------------------------------------------------------

    def _form_body(self, files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
        request = httpx.Request(
            "POST",
            f"{self.server.url}/en/case/files",
            data={"token": self.token},
            files=[("file", (n, d, "application/octet-stream")) for n, d in files],
        )
        return request.read(), request.headers["content-type"]

    def _send_form(self, files: list[tuple[str, bytes]], kill_at: int | None) -> bool:
        """POST the files; with ``kill_at``, SIGKILL the server once that many bytes are out."""
        body, content_type = self._form_body(files)
        self.in_flight = dict(files)

        def stream() -> Iterator[bytes]:
            for start in range(0, len(body), CHUNK):
                if kill_at is not None and start >= kill_at:
                    kill(self.server)
                    raise Killed()
                yield body[start : start + CHUNK]

        try:
            with self._web() as web:
                answer = web.post(
                    "/en/case/files", content=stream(), headers={"content-type": content_type}
                )
        except (httpx.TransportError, Killed):
            return False
        if answer.status_code != 200:
            self.tally.problems.append(f"form upload answered {answer.status_code}")
            return False
        self.acknowledged.update(files)
        self.in_flight = {}
        return True

    # --- the API's resumable path ----------------------------------------------------

    def _send_api(self, files: list[tuple[str, bytes]], kill_at: int | None) -> bool:
        """Seal and upload each file as ``aryz submit`` does, killing at byte ``kill_at``
        of the first PATCH; an upload cut by a kill is resumed after the restart."""
        assert self.api_secrets is not None
        with self._web() as web:
            for name, data in files:
                source = self.workdir / name
                source.write_bytes(data)
                sealed = seal_file(source, self.coalition, self.api_secrets, self.workdir)
                source.unlink()
                self.in_flight = {name: data}
                self.pending = (name, data, sealed, "")
                if not self._patch(web, sealed, kill_at):
                    return False
        return True

    def _patch(self, web: httpx.Client, sealed: Path, kill_at: int | None) -> bool:
        assert self.api_secrets is not None
        assert self.pending is not None
        name, data, _sealed, upload = self.pending
        size = sealed.stat().st_size
        try:
            if not upload:
                state = web.post(
                    "/api/v1/uploads",
                    json={"lookup_id": self.api_secrets.lookup_id.hex(), "size": size},
                ).json()
                upload = state["upload"]
                self.pending = (name, data, sealed, upload)
            offset = int(web.get(f"/api/v1/uploads/{upload}").json()["offset"])
            body = sealed.read_bytes()[offset:]

            def stream() -> Iterator[bytes]:
                for start in range(0, len(body), CHUNK):
                    if kill_at is not None and start >= kill_at:
                        kill(self.server)
                        raise Killed()
                    yield body[start : start + CHUNK]

            answer = web.patch(
                f"/api/v1/uploads/{upload}",
                content=stream(),
                headers={
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(len(body)),
                },
            )
        except (httpx.TransportError, Killed):
            return False
        if answer.status_code != 200 or not answer.json()["complete"]:
            self.tally.problems.append(f"API upload answered {answer.status_code}")
            return False
        sealed.unlink()
        self.acknowledged[name] = data
        self.in_flight, self.pending = {}, None
        return True

    # --- one kill ------------------------------------------------------------------

    def run_once(self, path: str) -> None:
        """Send files on ``path`` ("form" or "api") until the server is SIGKILLed — at a
        random moment, or at a random byte of a request — then restart and check."""
        by_offset = self.rng.random() < 0.5
        delay = self.rng.uniform(0.0, 1.5)
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                files = [self._file() for _ in range(self.rng.randint(1, 2))]
                kill_at = None
                if by_offset:
                    kill_at = self.rng.randrange(0, sum(len(d) for _, d in files) + 1000)
                send = self._send_form if path == "form" else self._send_api
                if not send(files, kill_at) or by_offset:
                    return

        worker = threading.Thread(target=client)
        worker.start()
        if not by_offset:
            stop.wait(delay)  # the seeded random moment of the kill
            kill(self.server)
        stop.set()
        worker.join()
        kill(self.server)  # an offset past the end kills after the answer instead
        self.tally.kills += 1
        self.tally.problems += integrity_problems(self.database_url)
        self.server.start()
        self.check()
        if self.pending is not None:  # resume the cut API upload from its stored offset
            with self._web() as web:
                self._patch(web, self.pending[2], None)
            self.check()

    def check(self) -> None:
        """Every acknowledged item intact; nothing else visible but a whole in-flight one."""
        opened = opened_items_at(
            self.server.data_dir, self.database_url, self.registry_dir, self.keys
        )
        files = {str(m["name"]): body for m, body in opened if m.get("type") == "file"}
        answers = sum(1 for m, _ in opened if m.get("type") == "answers")
        for name, data in self.acknowledged.items():
            if files.get(name) == data:
                self.tally.verified += 1
            else:
                self.tally.lost += 1
                self.tally.problems.append(f"acknowledged {name} lost or changed")
        for name, body in files.items():
            if name in self.acknowledged:
                continue
            if self.in_flight.get(name) == body:
                # Committed just before the kill; the client never heard. Count it as sent.
                self.tally.in_flight_whole += 1
                self.acknowledged[name] = body
                self.in_flight.pop(name)
                if self.pending is not None and self.pending[0] == name:
                    self.pending = None
            else:
                self.tally.partial += 1
                self.tally.problems.append(f"{name} visible but never sent whole")
        if answers != self.answers:
            self.tally.problems.append("answers items do not match the cases filed")
        if count_complete(self.database_url) != len(opened):
            self.tally.problems.append("complete items that do not open")
        self.tally.verified += answers
