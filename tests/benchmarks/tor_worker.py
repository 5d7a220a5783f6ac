"""One side of ``bench_tor``: file cases through the API from this machine and print the
timings as JSON. Run once inside the private Tor network (through its SOCKS port) and once
on plain loopback, so both sides do exactly the same client work."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service.field.client import make_client, submit
from service.field.trust import Trust

# A benchmark of its own test server: trust whatever it names, on first use, in memory.
TRUST = Trust(store=None, confirm=lambda _coalition, _fingerprint: True)

MIB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proxy")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--file-mib", type=int, default=10)
    args = parser.parse_args()
    latencies: list[float] = []
    page: list[float] = []
    with make_client(args.server, args.proxy) as client:
        client.get("/en/")  # warm: circuit built, descriptor fetched
        for _ in range(args.runs):
            start = time.perf_counter()
            client.get("/en/")
            page.append(time.perf_counter() - start)
            start = time.perf_counter()
            submit(
                client,
                country="KZ",
                coalition_id=None,
                message="benchmark",
                files=[],
                trust=TRUST,
            )
            latencies.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "evidence.bin"
            path.write_bytes(os.urandom(args.file_mib * MIB))
            start = time.perf_counter()
            submit(
                client, country="KZ", coalition_id=None, message="file", files=[path], trust=TRUST
            )
            upload = time.perf_counter() - start
    sys.stdout.write(
        json.dumps(
            {
                "page_median": statistics.median(page),
                "submit_median": statistics.median(latencies),
                "submit_p90": sorted(latencies)[int(0.9 * (len(latencies) - 1))],
                "upload_seconds": upload,
                "file_mib": args.file_mib,
            }
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
