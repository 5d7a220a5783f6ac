"""Benchmark: sealing and uploading one large file, opening it again, deriving tokens.

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_intake             # 1 GiB file (the default)
    .venv/bin/python -m tests.benchmarks.bench_intake --quick     # 64 MiB, a fast check
    .venv/bin/python -m tests.benchmarks.bench_intake --size-mib 256

It prints figures, not verdicts: every throughput is set against raw libsodium
secretstream measured in the same run on the same machine, so the ratios stay comparable
across machines where the absolute MiB/s do not. Nothing here is asserted against a time.
The one thing that can fail is correctness: the uploaded item is opened with the demo
desk key and its SHA-256 compared with the source file's; a mismatch exits with status 1.

What is measured, in order:

1. Raw ``crypto_secretstream_xchacha20poly1305_push`` over 64 KiB chunks, in memory
   (the baseline; with a 32-byte AD, as the envelope binds one to every chunk).
2. ``service.common.crypto.envelope.Sealer`` on the same data, fed the client's read size.
3. The HTTP path end to end: a demo server in a subprocess on a free loopback port with a
   fresh data dir; a case filed with ``submit``; the file sealed to a temporary file with
   ``seal_file`` and uploaded with ``upload_item``, each timed on its own. The server's
   RSS is sampled from ``/proc`` during the upload, and its ``VmHWM`` read at the end.
4. The stored item streamed out of SQLite and opened with the demo desk key.
5. Argon2id token derivation at ``PRODUCTION_LIMITS``: latency, and throughput with two
   threads (each derivation holds 64 MiB, so this is what bounds a server's KDF pool).

The server runs in demo mode with the settings ``aryz demo`` uses, except that
``max_submission_bytes`` is raised when the file would not fit under its default; the
run says so when it does.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import nacl
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)
from sqlalchemy import select

from service.common.crypto.envelope import CHUNK_SIZE, Opener, Sealer
from service.common.crypto.keys import generate_box_keypair
from service.common.crypto.payload import PayloadReader
from service.common.crypto.token import PRODUCTION_LIMITS, derive, generate_token
from service.field.client import (
    READ_SIZE,
    fetch_info,
    make_client,
    seal_file,
    submit,
    upload_item,
)
from service.server.cli.demo_read import demo_keys
from service.server.models import COMPLETE, Case, Item
from service.server.settings import Settings
from service.server.storage.db import make_engine, make_sessionmaker
from service.server.storage.items import iter_ciphertext
from tests.benchmarks.report import Table, rate, ratio, say, timed
from tests.support import demo_trust

MIB = 1024 * 1024
FULL_MIB = 1024  # the issue asks for a 1 GiB file
QUICK_MIB = 64
WRITE_SIZE = MIB  # the plaintext file is written in 1 MiB pieces
SERVER_START_TIMEOUT = 60.0
RSS_INTERVAL = 0.05
MEMORY_REPEATS = 3
DEMO_COUNTRY = "KZ"

# Started with ``sys.executable -c`` so that the process we sample and stop is the server
# itself, not a shell or a console-script wrapper around it. Settings passed to the
# constructor win over ARYZ_* variables, so overrides go through model_copy, as in
# ``aryz demo``.
LAUNCHER = """
import sys
from pathlib import Path
from service.server.cli.demo import create_demo
from service.server.cli.serve import run
data_dir, port, cap = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
settings = create_demo(data_dir).model_copy(update={
    "allowed_hosts": [f"127.0.0.1:{port}"],
    "max_submission_bytes": cap,
})
run(settings, host="127.0.0.1", port=port)
"""


# --- 1 and 2: sealing in memory --------------------------------------------------------


def bench_raw_secretstream(block: bytes, chunks: int) -> float:
    """Seconds for raw libsodium to push ``chunks`` 64 KiB chunks (the last one final)."""
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_push(
        state, crypto_secretstream_xchacha20poly1305_keygen()
    )
    ad = os.urandom(32)  # the envelope's AD is a 32-byte BLAKE2b of its header
    with timed() as elapsed:
        for _ in range(chunks - 1):
            crypto_secretstream_xchacha20poly1305_push(
                state, block, ad, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
            )
        crypto_secretstream_xchacha20poly1305_push(
            state, block, ad, crypto_secretstream_xchacha20poly1305_TAG_FINAL
        )
    return elapsed()


def bench_sealer(piece: bytes, pieces: int) -> float:
    """Seconds for ``Sealer`` to seal ``pieces`` pieces, fed as the client feeds a file."""
    with timed() as elapsed:
        sealer = Sealer([generate_box_keypair().public])
        for _ in range(pieces):
            sealer.update(piece)
        sealer.finish()
    return elapsed()


# --- 3: the server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (0.0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``VmRSS``/``VmHWM``-style line of /proc/<pid>/status, in KiB (None if gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


class RssSampler:
    """Samples a process's VmRSS from a thread and keeps the highest value seen."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_kib = 0
        self.samples = 0

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            value = proc_status_kib(self._pid, "VmRSS")
            if value is not None:
                self.peak_kib = max(self.peak_kib, value)
                self.samples += 1
            if self._stop.wait(RSS_INTERVAL):
                return


@contextmanager
def demo_server(
    data_dir: Path, cap: int, log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A demo server on a free loopback port; stopped by its PID however the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(data_dir), str(port), str(cap)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_until_ready(proc, url, log)
        yield proc, url
    finally:
        stop(proc)


def wait_until_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    with httpx.Client(base_url=url, timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{log.read_text()[-2000:]}")
            try:
                if client.get("/api/v1/info").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError("the server did not answer within the start timeout")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM to this PID: uvicorn shuts down cleanly
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_plaintext(path: Path, size_mib: int) -> str:
    """Write ``size_mib`` MiB of pseudo-random data in 1 MiB writes; return its SHA-256.

    One random MiB is reused with its first 8 bytes set to the piece number, so the file
    costs no memory to make, yet pieces stored or opened out of order change the digest.
    """
    base = bytearray(os.urandom(WRITE_SIZE))
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for index in range(size_mib):
            base[:8] = index.to_bytes(8, "big")
            out.write(base)
            digest.update(base)
    return digest.hexdigest()


@dataclass(frozen=True)
class UploadRun:
    write_s: float
    submit_s: float
    derive_s: float
    seal_s: float
    upload_s: float
    upload_client_cpu_s: float
    upload_server_cpu_s: float
    sealed_bytes: int
    rss_idle_kib: int
    rss_peak_kib: int
    rss_samples: int
    hwm_kib: int
    source_sha256: str


def run_upload(work: Path, data_dir: Path, size_mib: int, cap: int) -> UploadRun:
    source = work / "plaintext.bin"
    with timed() as write_elapsed:
        source_sha256 = write_plaintext(source, size_mib)
    with (
        demo_server(data_dir, cap, work / "server.log") as (proc, url),
        make_client(url, proxy=None) as client,
    ):
        with timed() as submit_elapsed:
            token = submit(
                client,
                country=DEMO_COUNTRY,
                coalition_id=None,
                message="Benchmark case: one large file follows.",
                files=[],
                trust=demo_trust(data_dir),
            )
        info = fetch_info(client)
        coalition = info.coalition(DEMO_COUNTRY, None)
        # submit() keeps its secrets to itself; deriving again is what a returning
        # submitter's client does (and is timed here as the client-side cost).
        with timed() as derive_elapsed:
            secrets = derive(token, info.limits)
        with timed() as seal_elapsed:
            sealed = seal_file(source, coalition, secrets, work)
        sealed_bytes = sealed.stat().st_size
        rss_idle = proc_status_kib(proc.pid, "VmRSS") or 0
        server_cpu, client_cpu = proc_cpu_seconds(proc.pid), time.process_time()
        with RssSampler(proc.pid) as sampler, timed() as upload_elapsed:
            upload_item(client, secrets.lookup_id, sealed)
        server_cpu = proc_cpu_seconds(proc.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        hwm = proc_status_kib(proc.pid, "VmHWM") or 0
        sealed.unlink()
    return UploadRun(
        write_s=write_elapsed(),
        submit_s=submit_elapsed(),
        derive_s=derive_elapsed(),
        seal_s=seal_elapsed(),
        upload_s=upload_elapsed(),
        upload_client_cpu_s=client_cpu,
        upload_server_cpu_s=server_cpu,
        sealed_bytes=sealed_bytes,
        rss_idle_kib=rss_idle,
        rss_peak_kib=sampler.peak_kib,
        rss_samples=sampler.samples,
        hwm_kib=hwm,
        source_sha256=source_sha256,
    )


# --- 4: opening the stored item --------------------------------------------------------


@dataclass(frozen=True)
class OpenRun:
    seconds: float
    read_seconds: float  # of which: waiting for iter_ciphertext (SQLite)
    body_bytes: int
    sha256: str
    name: object


def open_uploaded(data_dir: Path) -> OpenRun:
    """Stream the uploaded item out of SQLite through the desk's opener into SHA-256.

    ``demo_read.open_item`` gathers the whole body in memory, which is fine for a form's
    answers and not for 1 GiB; this is the same pipeline, hashing as it goes.
    """
    keys = demo_keys(data_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'aryz.sqlite3'}")
    try:
        factory = make_sessionmaker(engine)
        with factory() as session:
            item_id, coalition_id = session.execute(
                select(Item.id, Case.coalition_id)
                .join(Case, Case.id == Item.case_id)
                .where(Item.state == COMPLETE, Item.upload_key.is_not(None))
            ).one()
        opener = Opener([keys[coalition_id]])
        reader = PayloadReader()
        digest = hashlib.sha256()
        body_bytes = 0
        pieces = iter_ciphertext(factory, item_id)
        read_s = 0.0
        with timed() as elapsed:
            while True:
                with timed() as read:
                    piece = next(pieces, None)
                read_s += read()
                if piece is None:
                    break
                body = reader.feed(opener.feed(piece))
                digest.update(body)
                body_bytes += len(body)
            body = reader.feed(opener.close())
            reader.close()
            digest.update(body)
            body_bytes += len(body)
    finally:
        engine.dispose()
    meta = reader.meta or {}
    return OpenRun(elapsed(), read_s, body_bytes, digest.hexdigest(), meta.get("name"))


# --- 5: token derivation ---------------------------------------------------------------


def bench_derivations(runs: int) -> tuple[list[float], float]:
    """Serial latencies (s) and the wall time (s) of ``runs`` derivations on 2 threads."""
    tokens = [generate_token() for _ in range(runs)]
    latencies = []
    for token in tokens:
        with timed() as elapsed:
            derive(token, PRODUCTION_LIMITS)
        latencies.append(elapsed())
    with ThreadPoolExecutor(max_workers=2) as pool, timed() as elapsed:
        list(pool.map(lambda t: derive(t, PRODUCTION_LIMITS), tokens))
    return latencies, elapsed()


def bench_parallel_control(block: bytes, rounds: int) -> float:
    """Speed-up of 2 threads over 1 on C work that releases the GIL (SHA-256 of 1 MiB).

    The control for the 2-thread derivation figure: it shows what this machine gives two
    threads at all, so a low figure there can be told apart from a lock in the KDF path.
    """

    def work(_: int) -> None:
        for _ in range(rounds):
            hashlib.sha256(block).digest()

    with timed() as one:
        work(0)
        work(1)
    with ThreadPoolExecutor(max_workers=2) as pool, timed() as two:
        list(pool.map(work, range(2)))
    return one() / two()


def p90(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


# --- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--size-mib", type=int, default=FULL_MIB, help=f"file size in MiB (default {FULL_MIB})"
    )
    size.add_argument("--quick", action="store_true", help=f"use {QUICK_MIB} MiB")
    parser.add_argument(
        "--kdf-runs", type=int, default=10, help="token derivations to time (default 10)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib = QUICK_MIB
    if args.size_mib < 1 or args.kdf_runs < 1:
        parser.error("sizes and counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size_mib: int = args.size_mib
    size = size_mib * MIB
    started = time.perf_counter()
    say(
        f"Aryz intake benchmark: {size_mib} MiB file, Python {platform.python_version()}, "
        f"PyNaCl {nacl.__version__}, {os.cpu_count()} CPUs"
    )

    table = Table()
    block = os.urandom(CHUNK_SIZE)
    piece = block * (READ_SIZE // CHUNK_SIZE)
    # Best of a few, interleaved, so a noisy neighbour on a shared machine skews neither
    # the baseline nor the figure set against it more than the other.
    raw_runs, sealer_runs = [], []
    for _ in range(MEMORY_REPEATS):
        raw_runs.append(bench_raw_secretstream(block, size // CHUNK_SIZE))
        sealer_runs.append(bench_sealer(piece, size // READ_SIZE))
    raw_s, sealer_s = min(raw_runs), min(sealer_runs)
    base = size_mib / raw_s  # MiB/s every other throughput is set against
    table.section(
        f"1. baseline: raw secretstream push, 64 KiB chunks, in memory (best of {MEMORY_REPEATS})"
    )
    table.add("seal", rate(size_mib, raw_s), "1.000x")
    table.section(
        f"2. Sealer alone, fed {READ_SIZE // 1024} KiB pieces, in memory (best of {MEMORY_REPEATS})"
    )
    table.add("seal", rate(size_mib, sealer_s), ratio(size_mib / sealer_s, base))

    default_cap: int = Settings.model_fields["max_submission_bytes"].default
    # Room for the envelope: header, metadata, and 17 bytes per 64 KiB frame.
    cap = max(default_cap, size + size // 1024 + MIB)
    with tempfile.TemporaryDirectory(prefix="aryz-bench-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        up = run_upload(work, data_dir, size_mib, cap)
        opened = open_uploaded(data_dir)

    table.section("3. HTTP API end to end (demo server, SQLite, loopback)")
    table.add(f"write plaintext file ({size_mib} MiB, 1 MiB writes)", f"{up.write_s:.2f} s")
    table.add("submit(): file a case (client Argon2id + POST)", f"{up.submit_s:.2f} s")
    table.add("derive the case's secrets again (client)", f"{up.derive_s:.2f} s")
    table.add("seal_file() to temp file", f"{up.seal_s:.2f} s")
    table.add(
        "  throughput (plaintext)", rate(size_mib, up.seal_s), ratio(size_mib / up.seal_s, base)
    )
    table.add("upload_item() (one resumable PATCH)", f"{up.upload_s:.2f} s")
    table.add(
        "  throughput (plaintext)", rate(size_mib, up.upload_s), ratio(size_mib / up.upload_s, base)
    )
    table.add("  ciphertext sent", f"{up.sealed_bytes / MIB:,.2f} MiB")
    table.add(
        "  CPU time: server / client",
        f"{up.upload_server_cpu_s:.2f} s / {up.upload_client_cpu_s:.2f} s",
    )
    table.add("seal + upload", f"{up.seal_s + up.upload_s:.2f} s")
    both = up.seal_s + up.upload_s
    table.add("  throughput (plaintext)", rate(size_mib, both), ratio(size_mib / both, base))
    table.add("server RSS before upload", f"{up.rss_idle_kib / 1024:,.1f} MiB")
    table.add(
        f"server RSS peak during upload ({up.rss_samples} samples)",
        f"{up.rss_peak_kib / 1024:,.1f} MiB",
    )
    table.add("server VmHWM (lifetime peak)", f"{up.hwm_kib / 1024:,.1f} MiB")
    if cap != default_cap:
        table.add(
            f"NOTE max_submission_bytes raised from {default_cap // MIB} MiB",
            f"{cap / MIB:,.0f} MiB",
        )

    verified = (
        opened.sha256 == up.source_sha256
        and opened.body_bytes == size
        and opened.name == "plaintext.bin"
    )
    table.section("4. open the stored item with the demo desk key (streaming)")
    table.add("iter_ciphertext -> Opener -> PayloadReader -> sha256", f"{opened.seconds:.2f} s")
    table.add(
        "  throughput (plaintext)",
        rate(size_mib, opened.seconds),
        ratio(size_mib / opened.seconds, base),
    )
    table.add("  of which reading pieces from SQLite", f"{opened.read_seconds:.2f} s")
    table.add("body size, name and sha256 vs source", "verified" if verified else "MISMATCH")

    latencies, pair_s = bench_derivations(args.kdf_runs)
    ms = [s * 1000 for s in latencies]
    serial_rate = len(latencies) / sum(latencies)
    pair_rate = args.kdf_runs / pair_s
    limits = PRODUCTION_LIMITS
    table.section(
        f"5. token derivation, Argon2id {limits.memlimit // MIB} MiB, "
        f"opslimit {limits.opslimit}, {args.kdf_runs} runs"
    )
    table.add("latency median", f"{statistics.median(ms):,.0f} ms")
    table.add("latency p90", f"{p90(ms):,.0f} ms")
    table.add("derivations/s, 1 thread", f"{serial_rate:.2f} /s", "1.000x")
    table.add("derivations/s, 2 threads", f"{pair_rate:.2f} /s", ratio(pair_rate, serial_rate))
    control = bench_parallel_control(os.urandom(MIB), rounds=200)
    table.add("control: SHA-256 (GIL released), 2 threads", "", f"{control:.3f}x")

    say()
    say(table.render())
    say()
    say(f"baseline = {base:,.1f} MiB/s (section 1); section 5 is relative to 1 thread.")
    say(f"total run time {time.perf_counter() - started:.1f} s")
    if not verified:
        say(
            f"FAILED: opened {opened.body_bytes} bytes, sha256 {opened.sha256[:16]}..., "
            f"source {size} bytes, sha256 {up.source_sha256[:16]}..."
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
