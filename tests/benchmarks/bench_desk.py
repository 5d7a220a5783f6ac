"""Benchmark: the desk importing a bundle of many small cases, and one large attachment.

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_desk             # 10,000 cases, 500 MiB file
    .venv/bin/python -m tests.benchmarks.bench_desk --quick     # 1,000 cases, 64 MiB
    .venv/bin/python -m tests.benchmarks.bench_desk --cases 5000 --size-mib 256

It prints figures, not verdicts: every import is set against raw libsodium doing the
same decryption, measured in the same run on the same machine, so the ratios stay
comparable across machines where the absolute figures do not. Nothing is asserted
against a time. What can fail is correctness: after each import the desk must list as
many cases as were bundled, and the attachment read back with ``Desk.attachment_bytes``
must have the source's SHA-256; otherwise the run exits with status 1.

Desks are made with ``ARYZ_DESK_KDF=minimum`` so that the key ceremony and the unlock
take milliseconds: the KDF is not what is measured here (``bench_intake.py`` times
Argon2id). Bundles are built as the server builds them, without a server: items sealed
to the desk's public key, ``head_bytes(Manifest(...))`` followed by the envelopes.

What is measured, in order:

1. Baselines, in memory: raw ``crypto_secretstream_xchacha20poly1305_pull`` over 64 KiB
   chunks (MiB/s); raw ``crypto_box_seal_open`` (per second); the raw work of opening
   one small item (``box_seal_open`` + ``init_pull`` + one ``pull`` of its size); and, as
   a control for the store's per-item commits, a 4 KiB write + ``fsync`` in the temp dir.
2. ``Desk.import_bundle`` of N small cases, one answers item each (a questionnaire
   with a narrative, 1-2 KiB), from one bundle; then ``Desk.list_cases``.
3. ``Desk.import_bundle`` of one case with answers and a file item of S MiB, sealed
   streaming to disk with ``Sealer``; the process's peak RSS (``ru_maxrss``, its mark
   reset before each step) over the import and over reading the attachment back; the
   bytes written to storage and the desk folder's size. If that import takes longer
   than four minutes or runs out of memory, it is reported and 256 MiB is imported too.
4. The web desk over that desk, as staff use it: a real ``aryz desk web`` process,
   logged in through its printed link; downloading the attachment's original (streamed,
   checked against the source's SHA-256), then exporting the outbox. The figures are
   that process's resident memory when idle and its peak (``VmHWM``, reset between the
   steps) during each step, read from ``/proc``; issue 12 asks for a peak under 256 MiB
   above idle for a 500 MiB attachment. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import resource
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import nacl
from nacl.bindings import (
    crypto_box_keypair,
    crypto_box_seal,
    crypto_box_seal_open,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from service.common.clock import current_week
from service.common.contract.bundle import BundleCase, BundleItem, Manifest, head_bytes
from service.common.crypto.envelope import CHUNK_SIZE, Sealer, seal
from service.common.crypto.keys import BoxKeyPair, generate_box_keypair
from service.common.crypto.payload import encode_payload_prefix
from service.common.passphrase import suggest
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.payload import answers_plaintext
from service.desk.casework.desk import Desk, ImportReport, init_desk, open_desk
from service.desk.store.keys import KDF_ENV
from service.server.settings import Settings
from tests.benchmarks.report import Table, rate, ratio, say, timed

MIB = 1024 * 1024
FULL_CASES = 10_000
QUICK_CASES = 1_000
FULL_MIB = 500  # the server's default cap on one submission (issue 12's figure)
QUICK_MIB = 64
FALLBACK_MIB = 256  # imported as well when the full size is too slow or too big
SLOW_IMPORT_S = 240.0
# Below this, SQLite's page cache and the allocator move RSS as much as the file does,
# so RSS growth says nothing about whether the item was held whole.
NOTE_MIN_MIB = 16
WRITE_SIZE = MIB  # the attachment's plaintext is made and sealed in 1 MiB pieces
PULL_MIB = 64  # ciphertext held in memory for the pull baseline
BOX_OPENS = 2_000
FSYNCS = 200
REPEATS = 3
COALITION = "kz-coalition"
COUNTRY = "KZ"
SEED = 20_261_124  # the filler text is the same in every run

# Filler for the narratives: Russian, so most characters take two bytes in UTF-8, as
# in the reports the desk will hold.
FILLER = (
    "меня задержали ночью у дома и отвезли в отдел полиции где двое сотрудников "
    "били дубинкой по ногам требовали подписать признание не давали воды врача и "
    "адвоката не пустили три дня держали в ИВС угрожали семье следователь порвал "
    "протокол синяки сфотографировала сестра после освобождения"
)
WORDS = tuple(FILLER.split())


def mib(kib: int) -> str:
    return f"{kib / 1024:,.1f} MiB"


# --- memory ----------------------------------------------------------------------------


def max_rss_kib() -> int:
    """This process's peak RSS so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark, so ``ru_maxrss`` next shows one step's peak.

    ``ru_maxrss`` only ever grows: without this, a step could not be told apart from an
    earlier one that used more. Linux only (``clear_refs``); False where it failed.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def written_bytes() -> int | None:
    """Bytes this process has caused to be written to storage (``/proc/self/io``)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return None


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --- 1: baselines ----------------------------------------------------------------------


def push_frames(block: bytes, chunks: int, ad: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """A key, a stream header and ``chunks`` frames of ``block`` (the last one final)."""
    key = crypto_secretstream_xchacha20poly1305_keygen()
    state = crypto_secretstream_xchacha20poly1305_state()
    header = crypto_secretstream_xchacha20poly1305_init_push(state, key)
    tags = [crypto_secretstream_xchacha20poly1305_TAG_MESSAGE] * (chunks - 1)
    tags.append(crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    frames = [crypto_secretstream_xchacha20poly1305_push(state, block, ad, t) for t in tags]
    return key, header, frames


def bench_raw_pull(key: bytes, header: bytes, frames: list[bytes], ad: bytes) -> float:
    """Seconds for raw libsodium to pull (decrypt and authenticate) every frame."""
    with timed() as elapsed:
        state = crypto_secretstream_xchacha20poly1305_state()
        crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
        for frame in frames:
            crypto_secretstream_xchacha20poly1305_pull(state, frame, ad)
    return elapsed()


def bench_box_seal_open(opens: int) -> float:
    """Seconds per ``crypto_box_seal_open`` of a 32-byte item key (an envelope's unseal)."""
    public, secret = crypto_box_keypair()
    sealed_key = crypto_box_seal(crypto_secretstream_xchacha20poly1305_keygen(), public)
    with timed() as elapsed:
        for _ in range(opens):
            crypto_box_seal_open(sealed_key, public, secret)
    return elapsed() / opens


@dataclass(frozen=True)
class RawItem:
    sealed_key: bytes
    stream_header: bytes
    frame: bytes


def raw_items(sizes: list[int], public: bytes, ad: bytes) -> list[RawItem]:
    """One sealed key, stream header and final frame per size: a small item, bare."""
    filler = os.urandom(max(sizes))
    made = []
    for size in sizes:
        key = crypto_secretstream_xchacha20poly1305_keygen()
        state = crypto_secretstream_xchacha20poly1305_state()
        header = crypto_secretstream_xchacha20poly1305_init_push(state, key)
        frame = crypto_secretstream_xchacha20poly1305_push(
            state, filler[:size], ad, crypto_secretstream_xchacha20poly1305_TAG_FINAL
        )
        made.append(RawItem(crypto_box_seal(key, public), header, frame))
    return made


def bench_raw_items(items: list[RawItem], public: bytes, secret: bytes, ad: bytes) -> float:
    """Seconds for raw libsodium to open every item: unseal its key, pull its one frame."""
    with timed() as elapsed:
        for item in items:
            key = crypto_box_seal_open(item.sealed_key, public, secret)
            state = crypto_secretstream_xchacha20poly1305_state()
            crypto_secretstream_xchacha20poly1305_init_pull(state, item.stream_header, key)
            crypto_secretstream_xchacha20poly1305_pull(state, item.frame, ad)
    return elapsed()


def bench_fsync(folder: Path, count: int) -> float:
    """Seconds per 4 KiB write + ``fsync`` of one file in ``folder``.

    The control for the import figures: the desk store commits each item in its own
    transaction with ``synchronous=FULL``, and every such commit waits for a sync.
    """
    block = os.urandom(4096)
    path = folder / "fsync-control.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with timed() as elapsed:
            for _ in range(count):
                os.write(fd, block)
                os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink()
    return elapsed() / count


# --- building bundles ------------------------------------------------------------------


PASSPHRASES: dict[Path, str] = {}  # for the web desk of section 4


@contextmanager
def fresh_desk(folder: Path) -> Iterator[Desk]:
    """A new desk in ``folder`` (KDF limits from ARYZ_DESK_KDF), unlocked."""
    passphrase = suggest()
    PASSPHRASES[folder] = passphrase
    init_desk(folder, COALITION, passphrase)
    with open_desk(folder, passphrase) as desk:
        yield desk


def recipient(desk: Desk) -> bytes:
    """The desk's current public key, as the registry lists it for sealing."""
    return desk.public.epochs[-1][1]


def narrative(rng: random.Random, size: int) -> str:
    words: list[str] = []
    used = 0
    while used < size:
        word = rng.choice(WORDS)
        words.append(word)
        used += len(word.encode("utf-8")) + 1
    return " ".join(words)


def answers_item(rng: random.Random, case: BoxKeyPair) -> bytes:
    """An answers payload as the form path writes it: every question answered."""
    answers = {q.id: rng.choice(q.choices).value for q in BASIC.questions if q.choices}
    answers |= {
        "narrative": narrative(rng, rng.randint(400, 1400)),
        "place_details": "Алматы, ИВС ДП города",
        "when": "март 2026, ночью",
        "contact": "Signal: +7 700 000 00 00",
    }
    return answers_plaintext(
        BASIC,
        language="ru",
        country=COUNTRY,
        coalition_id=COALITION,
        answers=answers,
        case_public_key=case.public,
    )


def listed(case_ref: str, case: BoxKeyPair) -> BundleCase:
    return BundleCase(case_ref, case.public.hex(), "received", 0)


def entry(case_ref: str, envelope_size: int, envelope_sha256: str) -> BundleItem:
    return BundleItem(secrets.token_hex(16), case_ref, envelope_size, envelope_sha256)


def manifest(cases: list[BundleCase], items: list[BundleItem]) -> Manifest:
    return Manifest(COALITION, secrets.token_hex(16), current_week(), tuple(cases), tuple(items))


@dataclass(frozen=True)
class SmallBundle:
    path: Path
    seconds: float
    plaintext_sizes: list[int]
    envelope_bytes: int


def build_small_bundle(path: Path, count: int, to: bytes) -> SmallBundle:
    """A bundle of ``count`` cases with one answers item each, written to ``path``."""
    rng = random.Random(SEED)  # noqa: S311 - filler text for a benchmark, not a secret
    with timed() as elapsed:
        cases, items, envelopes, sizes = [], [], [], []
        for _ in range(count):
            case_ref, case = secrets.token_hex(16), generate_box_keypair()
            plaintext = answers_item(rng, case)
            envelope = seal(plaintext, [to])
            cases.append(listed(case_ref, case))
            items.append(entry(case_ref, len(envelope), hashlib.sha256(envelope).hexdigest()))
            envelopes.append(envelope)
            sizes.append(len(plaintext))
        with path.open("wb") as out:
            out.write(head_bytes(manifest(cases, items)))
            for envelope in envelopes:
                out.write(envelope)
    return SmallBundle(path, elapsed(), sizes, sum(map(len, envelopes)))


@dataclass(frozen=True)
class LargeBundle:
    path: Path
    seconds: float
    item_ref: str
    source_sha256: str
    bundle_bytes: int


class _HashingWriter:
    """Writes to a file, counting and hashing what passes (the manifest needs both)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._out.write(data)
        self.digest.update(data)
        self.size += len(data)


def build_large_bundle(work: Path, size_mib: int, to: bytes) -> LargeBundle:
    """One case: answers, and a file item of ``size_mib`` MiB sealed streaming to disk.

    The plaintext is one random MiB reused with its first 8 bytes set to the piece
    number (as in bench_intake.py): it costs no memory, yet pieces stored or read back
    out of order change the digest. The sealed item goes to a file first because the
    manifest, written before it, must hold its size and SHA-256.
    """
    rng = random.Random(SEED)  # noqa: S311 - filler text for a benchmark, not a secret
    sealed_path = work / "item.sealed"
    path = work / f"attachment-{size_mib}mib.aryz"
    with timed() as elapsed:
        case_ref, case = secrets.token_hex(16), generate_box_keypair()
        answers = seal(answers_item(rng, case), [to])
        meta: dict[str, object] = {
            "type": "file",
            "name": "evidence.mp4",
            "media_type": "video/mp4",
            "created": current_week(),
            "case_public_key": case.public.hex(),
        }
        sealer = Sealer([to])
        source = hashlib.sha256()
        base = bytearray(os.urandom(WRITE_SIZE))
        with sealed_path.open("wb") as raw:
            out = _HashingWriter(raw)
            out.write(sealer.header)
            out.write(sealer.update(encode_payload_prefix(meta)))
            for index in range(size_mib):
                base[:8] = index.to_bytes(8, "big")
                source.update(base)
                out.write(sealer.update(bytes(base)))
            out.write(sealer.finish())
        file_item = entry(case_ref, out.size, out.digest.hexdigest())
        items = [entry(case_ref, len(answers), hashlib.sha256(answers).hexdigest()), file_item]
        with path.open("wb") as bundle, sealed_path.open("rb") as sealed_item:
            bundle.write(head_bytes(manifest([listed(case_ref, case)], items)))
            bundle.write(answers)
            shutil.copyfileobj(sealed_item, bundle, WRITE_SIZE)
        sealed_path.unlink()
    return LargeBundle(path, elapsed(), file_item.item, source.hexdigest(), path.stat().st_size)


# --- 2: many small cases ---------------------------------------------------------------


@dataclass(frozen=True)
class SmallRun:
    bundle: SmallBundle
    report: ImportReport
    import_s: float
    first_tenth_s: float  # time for the first 10% of items
    last_tenth_s: float  # time for the last 10% of items
    list_s: float
    listed: int


def run_small(work: Path, count: int) -> SmallRun:
    with fresh_desk(work / "desk-small") as desk:
        bundle = build_small_bundle(work / "small.aryz", count, recipient(desk))
        marks: list[float] = []
        with timed() as elapsed:
            report = desk.import_bundle(bundle.path, lambda done, _total: marks.append(elapsed()))
        with timed() as list_elapsed:
            summaries = desk.list_cases()
    # marks[i] is when item i was done (marks[0]: before the first item).
    tenth = max(1, count // 10)
    first = marks[tenth] - marks[0] if len(marks) > count else float("nan")
    last = marks[count] - marks[count - tenth] if len(marks) > count else float("nan")
    bundle.path.unlink()
    return SmallRun(bundle, report, elapsed(), first, last, list_elapsed(), len(summaries))


# --- 3: one large attachment -----------------------------------------------------------


@dataclass(frozen=True)
class LargeRun:
    size_mib: int
    bundle: LargeBundle
    failure: str | None  # why the import did not finish (out of memory), if it did not
    report: ImportReport | None
    import_s: float
    peak_reset: bool  # False: the ru_maxrss figures are the process's lifetime peak
    maxrss_before_kib: int
    maxrss_after_import_kib: int
    written: int | None  # bytes written to storage during the import
    desk_bytes: int  # the desk folder's size afterwards (database, WAL, keys)
    listed: int
    verify_s: float
    maxrss_before_verify_kib: int
    maxrss_after_verify_kib: int
    sha256: str | None
    web: WebRun | None = None


@dataclass(frozen=True)
class WebRun:
    failure: str | None
    idle_kib: int
    download_s: float
    download_peak_kib: int
    download_sha256: str | None
    export_s: float
    export_peak_kib: int
    exported: bool


def run_large(work: Path, size_mib: int, web: bool = True) -> LargeRun:
    folder = work / f"large-{size_mib}"
    folder.mkdir()
    try:
        with fresh_desk(folder / "desk") as desk:
            bundle = build_large_bundle(folder, size_mib, recipient(desk))
            run = _import_large(desk, bundle, size_mib, folder / "desk")
            # The bundle is no longer needed: free the disk before the download.
            bundle.path.unlink()
            if not web or run.failure is not None:
                return run
            detail = desk.list_cases()[0]
            web_run = run_web(folder, PASSPHRASES[folder / "desk"], detail.ref, bundle.item_ref)
            return replace(run, web=web_run)
    finally:
        shutil.rmtree(folder)


# --- 4: the web desk ------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def run_web(folder: Path, passphrase: str, case_ref: str, item_ref: str) -> WebRun:
    """``aryz desk web`` over the desk: download the original, then export; its memory."""
    import http.client
    import subprocess
    import sys

    from tests.server import free_port

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "ARYZ_DESK_PASSPHRASE": passphrase,
        KDF_ENV: "minimum",
    }
    log = folder / "web.out"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our command
            [
                sys.executable,
                "-m",
                "service",
                "desk",
                "web",
                "--dir",
                str(folder / "desk"),
                "--port",
                str(port),
            ],  # fmt: skip
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        link = ""
        deadline = time.monotonic() + 60
        while not link and time.monotonic() < deadline:
            link = next((w for w in log.read_text().split() if "/login?key=" in w), "")
            time.sleep(0.1)  # polling for the printed link; bounded by the deadline
        if not link:
            return WebRun("the web desk printed no link", 0, 0, 0, None, 0, 0, False)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("GET", link.split(str(port), 1)[1])
        opened = connection.getresponse()
        opened.read()
        cookie = (opened.getheader("set-cookie") or "").split(";")[0]
        headers = {"Cookie": cookie, "Host": f"127.0.0.1:{port}"}
        time.sleep(0.5)  # let the process settle before reading its idle figure
        idle = _status_kib(process.pid, "VmRSS")
        _reset_peak(process.pid)
        digest = hashlib.sha256()
        with timed() as download_elapsed:
            connection.request(
                "GET", f"/en/case/{case_ref}/file/{item_ref}/original", headers=headers
            )
            response = connection.getresponse()
            while piece := response.read(MIB):
                digest.update(piece)
        download_s = download_elapsed()
        ok = response.status == 200
        download_peak = _status_kib(process.pid, "VmHWM")
        _reset_peak(process.pid)
        target = folder / "outbox.json"
        with timed() as export_elapsed:
            connection.request(
                "POST",
                "/en/export",
                body=f"path={target}",
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
            exported = connection.getresponse()
            exported.read()
        export_s = export_elapsed()
        export_peak = _status_kib(process.pid, "VmHWM")
        connection.close()
        return WebRun(
            failure=None if ok else f"download answered {response.status}",
            idle_kib=idle,
            download_s=download_s,
            download_peak_kib=download_peak,
            download_sha256=digest.hexdigest() if ok else None,
            export_s=export_s,
            export_peak_kib=export_peak,
            exported=exported.status == 200 and target.exists(),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def add_web(table: Table, run: LargeRun, number: str) -> None:
    web = run.web
    if web is None:
        return
    table.section(f"{number}. web desk (aryz desk web): download and export, {run.size_mib} MiB")
    if web.failure is not None:
        table.add("web desk", f"FAILED: {web.failure}")
        return
    table.add("idle resident memory (VmRSS, logged in)", mib(web.idle_kib))
    table.add("download the original (streamed)", f"{web.download_s:.2f} s")
    table.add("  peak (VmHWM) / above idle", f"{mib(web.download_peak_kib)} / "
              f"{mib(web.download_peak_kib - web.idle_kib)}")  # fmt: skip
    same = web.download_sha256 == run.bundle.source_sha256
    table.add("  sha256 of the download vs source", "verified" if same else "MISMATCH")
    table.add("export the outbox", f"{web.export_s:.2f} s")
    table.add("  peak (VmHWM) / above idle", f"{mib(web.export_peak_kib)} / "
              f"{mib(web.export_peak_kib - web.idle_kib)}")  # fmt: skip
    table.add("  outbox written", "yes" if web.exported else "NO")
    table.add("issue 12's bound: peak under 256 MiB above idle", _within(web))


def _within(web: WebRun) -> str:
    above = max(web.download_peak_kib, web.export_peak_kib) - web.idle_kib
    return "yes" if above < 256 * 1024 else f"NO ({mib(above)})"


def web_verified(run: LargeRun) -> bool:
    web = run.web
    return web is None or (
        web.failure is None and web.exported and web.download_sha256 == run.bundle.source_sha256
    )


def _import_large(desk: Desk, bundle: LargeBundle, size_mib: int, folder: Path) -> LargeRun:
    peak_reset = reset_peak_rss()
    maxrss_before, written_before = max_rss_kib(), written_bytes()
    failure: str | None = None
    report: ImportReport | None = None
    with timed() as elapsed:
        try:
            report = desk.import_bundle(bundle.path)
        except MemoryError:
            failure = "out of memory (MemoryError)"
    import_s, maxrss_after, written_after = elapsed(), max_rss_kib(), written_bytes()
    written = None
    if written_before is not None and written_after is not None:
        written = written_after - written_before
    listed = len(desk.list_cases())
    peak_reset = reset_peak_rss() and peak_reset
    maxrss_before_verify = max_rss_kib()
    digest: str | None = None
    with timed() as verify_elapsed:
        if failure is None:
            try:
                size, pieces = desk.attachment_pieces(bundle.item_ref)
                running = hashlib.sha256()
                for piece in pieces:
                    running.update(piece)
                digest = running.hexdigest() if size == size_mib * MIB else None
            except MemoryError:
                failure = "out of memory reading the attachment back"
    return LargeRun(
        size_mib=size_mib,
        bundle=bundle,
        failure=failure,
        report=report,
        import_s=import_s,
        peak_reset=peak_reset,
        maxrss_before_kib=maxrss_before,
        maxrss_after_import_kib=maxrss_after,
        written=written,
        desk_bytes=folder_bytes(folder),
        listed=listed,
        verify_s=verify_elapsed(),
        maxrss_before_verify_kib=maxrss_before_verify,
        maxrss_after_verify_kib=max_rss_kib(),
        sha256=digest,
    )


def large_verified(run: LargeRun) -> bool:
    return (
        run.failure is None
        and run.report is not None
        and run.report.imported == 2
        and not run.report.problems
        and run.listed == 1
        and run.sha256 == run.bundle.source_sha256
    )


def add_large(table: Table, run: LargeRun, pull_base: float, number: str) -> None:
    size_mib = run.size_mib
    table.section(f"{number}. import one case with a {size_mib:,} MiB attachment (+ answers)")
    table.add(
        "build bundle (Sealer, streamed to disk; not timed below)",
        f"{run.bundle.seconds:.2f} s",
    )
    table.add("  bundle size", f"{run.bundle.bundle_bytes / MIB:,.2f} MiB")
    if run.failure is not None:
        table.add("Desk.import_bundle", f"FAILED after {run.import_s:.2f} s: {run.failure}")
    else:
        table.add("Desk.import_bundle", f"{run.import_s:.2f} s")
        table.add(
            "  throughput (plaintext)",
            rate(size_mib, run.import_s),
            ratio(size_mib / run.import_s, pull_base),
        )
    mark = "peak since reset" if run.peak_reset else "lifetime peak: could not reset"
    table.add(
        f"ru_maxrss before / after import ({mark})",
        f"{mib(run.maxrss_before_kib)} / {mib(run.maxrss_after_import_kib)}",
    )
    table.add("  grew by", mib(run.maxrss_after_import_kib - run.maxrss_before_kib))
    if run.written is not None:
        table.add("written to storage during import", f"{run.written / MIB:,.1f} MiB")
    table.add("desk folder size after import", f"{run.desk_bytes / MIB:,.1f} MiB")
    table.add("Desk.attachment_pieces + sha256 (verification)", f"{run.verify_s:.2f} s")
    table.add(
        "  ru_maxrss before / after",
        f"{mib(run.maxrss_before_verify_kib)} / {mib(run.maxrss_after_verify_kib)}",
    )
    table.add("  grew by", mib(run.maxrss_after_verify_kib - run.maxrss_before_verify_kib))
    table.add("cases listed", f"{run.listed} of 1")
    table.add("attachment sha256 vs source", "verified" if large_verified(run) else "MISMATCH")


def memory_notes(run: LargeRun) -> list[str]:
    """Say so when a step's peak RSS grew by about the attachment's size or more."""
    size_kib = run.size_mib * 1024
    notes: list[str] = []
    if not run.peak_reset or run.size_mib < NOTE_MIN_MIB:
        return notes
    grew = run.maxrss_after_import_kib - run.maxrss_before_kib
    if grew >= 0.9 * size_kib:
        notes.append(
            f"{run.size_mib:,} MiB: the import's peak RSS grew by {grew / size_kib:.1f}x the "
            "attachment: the item is held whole in memory (bundle.read_items reads each "
            "item whole)."
        )
    grew = run.maxrss_after_verify_kib - run.maxrss_before_verify_kib
    if grew >= 0.9 * size_kib:
        notes.append(
            f"{run.size_mib:,} MiB: reading it back grew peak RSS by {grew / size_kib:.1f}x "
            "the attachment."
        )
    return notes


# --- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_CASES:,} cases and {QUICK_MIB} MiB"
    )
    parser.add_argument("--cases", type=int, help=f"small cases (default {FULL_CASES:,})")
    parser.add_argument("--size-mib", type=int, help=f"attachment in MiB (default {FULL_MIB})")
    args = parser.parse_args(argv)
    if args.cases is None:
        args.cases = QUICK_CASES if args.quick else FULL_CASES
    if args.size_mib is None:
        args.size_mib = QUICK_MIB if args.quick else FULL_MIB
    if args.cases < 10 or args.size_mib < 1:
        parser.error("at least 10 cases and 1 MiB")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    count: int = args.cases
    size_mib: int = args.size_mib
    # Before any desk is made: new key files are wrapped at libsodium's minimum limits.
    os.environ[KDF_ENV] = "minimum"
    started = time.perf_counter()
    say(
        f"Aryz desk import benchmark: {count:,} small cases, a {size_mib:,} MiB attachment; "
        f"Python {platform.python_version()}, PyNaCl {nacl.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    say(
        f"Desks use {KDF_ENV}=minimum (Argon2id at libsodium's minimum limits): the key "
        "ceremony and unlock take milliseconds and are not what is measured."
    )

    table = Table()
    ad = os.urandom(32)  # the envelope's AD is a 32-byte BLAKE2b of its header
    key, header, frames = push_frames(os.urandom(CHUNK_SIZE), PULL_MIB * MIB // CHUNK_SIZE, ad)
    # Best of a few, so a noisy neighbour on a shared machine skews the baseline less.
    pull_s = min(bench_raw_pull(key, header, frames, ad) for _ in range(REPEATS))
    del frames
    pull_base = PULL_MIB / pull_s  # MiB/s the attachment import is set against
    open_s = min(bench_box_seal_open(BOX_OPENS) for _ in range(REPEATS))

    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aryz-bench-desk-") as tmp:
        work = Path(tmp)
        fsync_s = bench_fsync(work, FSYNCS)

        small = run_small(work, count)
        public, secret = crypto_box_keypair()
        bare = raw_items(small.bundle.plaintext_sizes, public, ad)
        raw_small_s = min(bench_raw_items(bare, public, secret, ad) for _ in range(REPEATS))
        del bare

        large = [run_large(work, size_mib)]
        too_slow = large[0].import_s > SLOW_IMPORT_S
        if (too_slow or large[0].failure) and size_mib > FALLBACK_MIB:
            large.append(run_large(work, FALLBACK_MIB, web=False))

    table.section(f"1. baselines: raw libsodium in memory (best of {REPEATS})")
    table.add(
        f"secretstream pull, 64 KiB chunks ({PULL_MIB} MiB)", rate(PULL_MIB, pull_s), "1.000x"
    )
    table.add("crypto_box_seal_open", f"{1 / open_s:,.0f} /s")
    per_raw = raw_small_s / count
    table.add("open one small item: seal_open + init_pull + pull", f"{per_raw * 1e6:,.1f} µs")
    table.add(f"control: 4 KiB write + fsync in {tempfile.gettempdir()}", f"{1 / fsync_s:,.0f} /s")

    sizes = small.bundle.plaintext_sizes
    imported = small.report.imported
    cases_ok = (
        imported == count
        and not small.report.problems
        and small.report.listed == count
        and small.listed == count
    )
    table.section(f"2. import {count:,} small cases (one answers item each) from one bundle")
    table.add(
        "answers item plaintext: mean (min-max)",
        f"{statistics.mean(sizes):,.0f} B ({min(sizes):,}-{max(sizes):,})",
    )
    table.add(
        "build bundle (seal every item; not timed below)",
        f"{small.bundle.seconds:.2f} s",
    )
    table.add("  bundle size", f"{small.bundle.envelope_bytes / MIB:,.2f} MiB of envelopes")
    raw_rate = count / raw_small_s
    table.add(
        f"raw libsodium, same work ({count:,} x open one small item)",
        f"{raw_small_s:.3f} s",
        "1.000x",
    )
    table.add("Desk.import_bundle", f"{small.import_s:.2f} s")
    table.add(
        "  cases/s",
        f"{count / small.import_s:,.0f} /s",
        ratio(count / small.import_s, raw_rate),
    )
    table.add("  per case", f"{small.import_s / count * 1000:,.2f} ms")
    table.add(
        "  first 10% / last 10% of items",
        f"{small.first_tenth_s:.2f} s / {small.last_tenth_s:.2f} s",
    )
    table.add("Desk.list_cases (all of them)", f"{small.list_s:.2f} s")
    table.add(
        "imported, and cases listed",
        f"{imported:,} / {small.listed:,} of {count:,}",
    )
    table.add("case count", "verified" if cases_ok else "MISMATCH")
    if not cases_ok:
        failed.append(
            f"small cases: imported {imported}, problems {len(small.report.problems)}, "
            f"listed {small.listed}, bundled {count}"
        )

    for number, run in zip(("3", "3b"), large, strict=False):
        if number == "3b":
            why = "ran out of memory" if large[0].failure else f"took over {SLOW_IMPORT_S:.0f} s"
            table.add(f"NOTE the {size_mib:,} MiB import {why}", f"{FALLBACK_MIB} MiB too")
        add_large(table, run, pull_base, number)
        add_web(table, run, "4")
        if not web_verified(run):
            failed.append(f"{run.size_mib} MiB attachment through the web desk: {run.web}")
        if not large_verified(run):
            failed.append(
                f"{run.size_mib} MiB attachment: {run.failure or 'imported'}, "
                f"listed {run.listed}, sha256 "
                f"{(run.sha256 or '-')[:16]}... vs {run.bundle.source_sha256[:16]}..."
            )
    default_cap: int = Settings.model_fields["max_submission_bytes"].default
    if size_mib * MIB > default_cap:
        table.add(
            "NOTE the server's default max_submission_bytes is",
            f"{default_cap // MIB} MiB",
        )

    say()
    say(table.render())
    say()
    say(
        f"baselines: section 2 against raw libsodium opening the same {count:,} items; "
        f"section 3 against raw pull = {pull_base:,.1f} MiB/s."
    )
    for run in large:
        for line in memory_notes(run):
            say(line)
    say(f"total run time {time.perf_counter() - started:.1f} s")
    for line in failed:
        say(f"FAILED: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
