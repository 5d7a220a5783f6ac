"""Aryz over real Tor vs plain loopback, in one run: a private Tor network on this
machine (tests/onion/network.py), ``aryz serve`` publishing its onions into it, and the
same server build on 127.0.0.1 without Tor as the baseline.

Measured with the API client (``tests/benchmarks/tor_worker.py``, the same code on both
sides): the intake page fetch, a case submission (info, token derivation, seal, create),
and a case with one 10 MiB file (sealed and uploaded in resumable pieces). The private
network's relays all run on this machine, so the figures show Tor's protocol and
circuit overhead (three hops each way, onion rendezvous), not the public network's
latency, which adds hundreds of milliseconds per round trip.

    python -m tests.benchmarks.bench_tor [--runs 10] [--file-mib 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from service.server.cli.demo import write_demo_registry
from service.server.storage import migrate
from tests.benchmarks.report import Table, rate, ratio, say
from tests.onion.deployment import OnionDeployment
from tests.onion.network import PrivateTorNetwork
from tests.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def _worker(
    prefix: list[str], server: str, proxy: str | None, runs: int, mib: int
) -> dict[str, float]:
    argv = [
        *prefix,
        sys.executable,
        "-m",
        "tests.benchmarks.tor_worker",
        "--server",
        server,
        "--runs",
        str(runs),
        "--file-mib",
        str(mib),
    ]
    if proxy:
        argv += ["--proxy", proxy]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--file-mib", type=int, default=10)
    args = parser.parse_args(argv)
    say(f"Aryz over Tor benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="aryz-bench-tor-") as tmp:
        work = Path(tmp)
        write_demo_registry(work / "registry")
        registry = work / "registry" / "registry.toml"
        started = time.perf_counter()
        network = PrivateTorNetwork.start()
        say(
            f"private Tor network up in {time.perf_counter() - started:.1f} s "
            f"({'own network namespace' if network.prefix else network.namespace.reason})"
        )
        try:
            onion_dir = work / "onion"
            onion_dir.mkdir()
            migrate.upgrade(f"sqlite:///{onion_dir / 'aryz.sqlite3'}")
            deployment = OnionDeployment(
                network, onion_dir, f"sqlite:///{onion_dir / 'aryz.sqlite3'}", registry
            ).start()
            plain_dir = work / "plain"
            plain_dir.mkdir()
            migrate.upgrade(f"sqlite:///{plain_dir / 'aryz.sqlite3'}")
            plain = ServerProcess(plain_dir, f"sqlite:///{plain_dir / 'aryz.sqlite3'}", registry)
            try:
                plain.start()
                started = time.perf_counter()
                code = deployment.wait_reachable(deployment.intake_host)
                if code != 0:
                    raise RuntimeError(f"the onion did not answer (SOCKS {code:#04x})")
                say(f"onion reachable {time.perf_counter() - started:.1f} s after publication")
                base = _worker([], plain.url, None, args.runs, args.file_mib)
                tor = _worker(
                    network.prefix,
                    f"http://{deployment.intake_host}",
                    network.socks_url,
                    args.runs,
                    args.file_mib,
                )
            finally:
                plain.stop()
                deployment.stop()
        finally:
            network.stop()
    table = Table()
    table.section("baseline: the same server on 127.0.0.1, no Tor")
    table.add("intake page fetch, median", f"{base['page_median'] * 1000:.1f} ms", "1.000x")
    table.add("case submission, median", f"{base['submit_median'] * 1000:.1f} ms", "1.000x")
    mib = args.file_mib
    table.add(
        f"case with a {mib} MiB file",
        f"{base['upload_seconds']:.2f} s ({rate(mib, base['upload_seconds'])})",
        "1.000x",
    )
    table.section("through the private Tor network (client -> 3 hops -> rendezvous -> 3 hops)")
    table.add(
        "intake page fetch, median",
        f"{tor['page_median'] * 1000:.1f} ms",
        ratio(tor["page_median"], base["page_median"]),
    )
    table.add(
        "case submission, median",
        f"{tor['submit_median'] * 1000:.1f} ms",
        ratio(tor["submit_median"], base["submit_median"]),
    )
    table.add(
        "case submission, p90",
        f"{tor['submit_p90'] * 1000:.1f} ms",
        ratio(tor["submit_p90"], base["submit_p90"]),
    )
    table.add(
        f"case with a {mib} MiB file",
        f"{tor['upload_seconds']:.2f} s ({rate(mib, tor['upload_seconds'])})",
        ratio(tor["upload_seconds"], base["upload_seconds"]),
    )
    say(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
