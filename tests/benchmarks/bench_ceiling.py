"""The ceiling: can one tor ever outrun the server behind it? Measured in one run.

1. **Tor**: a private Tor network on this machine (tests/onion/network.py), ``aryz serve``
   publishing the intake onion from one tor; N clients, each on a circuit of its own,
   upload sealed files at once (``tests/benchmarks/ceiling_worker.py``): the aggregate
   throughput one onion-service tor delivers to the server.
2. **The server's sealed-storage path**: the same server build on 127.0.0.1, the same N
   clients and files, no Tor; with the server's CPU seconds per GiB stored.
3. **Raw libsodium secretstream** in memory (64 KiB chunks): the cipher's own limit.

Then the ratio server / tor. The goal is ≥ 3×: tor stays the bottleneck, so more people
at once means more backends (Onionbalance), never a server that falls behind its tor.
Every relay of the private network shares this machine's cores with the server, so the
tor figure is a floor of what a real onion-service tor does on its own machine; the
ratio is conservative in the server's favour only if the server keeps its lead.

    python -m tests.benchmarks.bench_ceiling [--clients 8] [--file-mib 8]
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
from typing import Any

from service.server.cli.demo import write_demo_registry
from service.server.storage import migrate
from tests.benchmarks.bench_intake import bench_raw_secretstream, proc_cpu_seconds
from tests.benchmarks.report import Table, rate, ratio, say
from tests.onion.deployment import OnionDeployment
from tests.onion.network import PrivateTorNetwork
from tests.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def _worker(
    prefix: list[str], server: str, proxy: str | None, clients: int, mib: int
) -> dict[str, Any]:
    argv = [*prefix, sys.executable, "-m", "tests.benchmarks.ceiling_worker",
            "--server", server, "--clients", str(clients), "--file-mib", str(mib)]  # fmt: skip
    if proxy:
        argv += ["--proxy", proxy]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=1800, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _database(directory: Path) -> str:
    url = f"sqlite:///{directory / 'aryz.sqlite3'}"
    migrate.upgrade(url)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--file-mib", type=int, default=8)
    args = parser.parse_args(argv)
    say(f"Ceiling benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{args.clients} clients x {args.file_mib} MiB at once, SQLite")  # fmt: skip
    raw_mib = 256
    raw = raw_mib / bench_raw_secretstream(os.urandom(64 * 1024), raw_mib * 16)
    with tempfile.TemporaryDirectory(prefix="aryz-bench-ceiling-") as tmp:
        work = Path(tmp)
        write_demo_registry(work / "registry")
        registry = work / "registry" / "registry.toml"

        plain_dir = work / "plain"
        plain_dir.mkdir()
        plain = ServerProcess(plain_dir, _database(plain_dir), registry).start()
        try:
            assert plain.process is not None
            cpu_before = proc_cpu_seconds(plain.process.pid)
            server = _worker([], plain.url, None, args.clients, args.file_mib)
            cpu = proc_cpu_seconds(plain.process.pid) - cpu_before
        finally:
            plain.stop()

        started = time.perf_counter()
        network = PrivateTorNetwork.start()
        where = "own network namespace" if network.prefix else network.namespace.reason
        say(f"private Tor network up in {time.perf_counter() - started:.1f} s ({where})")
        try:
            onion_dir = work / "onion"
            onion_dir.mkdir()
            deployment = OnionDeployment(network, onion_dir, _database(onion_dir), registry)
            deployment.start()
            try:
                code = deployment.wait_reachable(deployment.intake_host)
                if code != 0:
                    raise RuntimeError(f"the onion did not answer (SOCKS {code:#04x})")
                service_tor = network.service.tor
                assert service_tor is not None
                tor_cpu_before = proc_cpu_seconds(service_tor.pid)
                tor = _worker(network.prefix, f"http://{deployment.intake_host}",
                              network.socks_url, args.clients, args.file_mib)  # fmt: skip
                tor_cpu = proc_cpu_seconds(service_tor.pid) - tor_cpu_before
            finally:
                deployment.stop()
        finally:
            network.stop()

    gib = server["sealed_mib"] / 1024
    table = Table()
    table.section("baseline: raw libsodium secretstream, 64 KiB chunks, in memory")
    table.add("one core", rate(raw, 1.0), "1.000x")
    table.section(f"{args.clients} clients uploading {args.file_mib} MiB each, at once")
    table.add(
        "one tor serving the intake onion (private network)",
        f"{rate(tor['aggregate_mib_s'], 1.0)} ({tor['errors']} errors)",
        ratio(tor["aggregate_mib_s"], raw),
    )
    table.add(
        "the server's sealed-storage path, loopback",
        f"{rate(server['aggregate_mib_s'], 1.0)} ({server['errors']} errors)",
        ratio(server["aggregate_mib_s"], raw),
    )
    table.add("server CPU per GiB stored", f"{cpu / gib:.1f} s", "")
    # The onion-service tor is one thread: at one full core it would carry 1 GiB per
    # (its CPU seconds per GiB). An estimate of a tor alone on its machine, above what
    # the shared cores here let it reach.
    tor_cpu_gib = tor_cpu / (tor["sealed_mib"] / 1024)
    tor_full_core = 1024 / tor_cpu_gib if tor_cpu_gib else float("inf")
    table.add("service tor CPU per GiB carried", f"{tor_cpu_gib:.1f} s", "")
    table.add("  -> one tor at a full core (estimate)", rate(tor_full_core, 1.0), "")
    table.section("the ceiling")
    table.add(
        "server / tor, measured (goal: >= 3x)",
        f"{server['aggregate_mib_s'] / tor['aggregate_mib_s']:.1f}x",
        "",
    )
    table.add(
        "server / tor at a full core (estimate)",
        f"{server['aggregate_mib_s'] / tor_full_core:.1f}x",
        "",
    )
    say(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
