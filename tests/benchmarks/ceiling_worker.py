"""One side of ``bench_ceiling``: N clients upload sealed files at once; print JSON.

Each client has its own case (made through the API first, one at a time) and its own
sealed file; then all start their resumable uploads together (``upload_item``, the
intermediaries' client code) and the wall time from the common start to the last
completion gives the aggregate throughput. Through Tor each client gives its own SOCKS
username, so tor builds it a circuit of its own (``IsolateSOCKSAuth``, on by default):
one onion service tor, many circuits, as when many people upload at once.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from service.common.crypto.token import derive
from service.field.client import (
    fetch_info,
    make_client,
    seal_file,
    submit,
    trusted_coalition,
    upload_item,
)
from service.field.trust import Trust

TRUST = Trust(store=None, confirm=lambda _coalition, _fingerprint: True)
MIB = 1024 * 1024


def _proxy(proxy: str | None, number: int) -> str | None:
    if proxy is None:
        return None
    scheme, _, rest = proxy.partition("://")
    return f"{scheme}://client{number}:x@{rest}"  # a circuit of its own


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proxy")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--file-mib", type=int, default=8)
    args = parser.parse_args()
    clients: list[httpx.Client] = []
    with tempfile.TemporaryDirectory(prefix="aryz-ceiling-") as tmp:
        work = Path(tmp)
        plain = work / "evidence.bin"
        plain.write_bytes(os.urandom(args.file_mib * MIB))
        jobs = []
        for number in range(args.clients):
            client = make_client(args.server, _proxy(args.proxy, number), timeout=600.0)
            clients.append(client)
            info = fetch_info(client)
            token = submit(client, country="KZ", coalition_id=None, message="ceiling",
                           files=[], trust=TRUST)  # fmt: skip
            secrets = derive(token, info.limits)
            coalition = trusted_coalition(info, TRUST, "KZ", None)
            sealed = seal_file(plain, coalition, secrets, work, 2)
            jobs.append((client, secrets.lookup_id, sealed))
        sealed_bytes = sum(path.stat().st_size for _c, _l, path in jobs)
        durations: list[float] = []
        errors: list[str] = []
        gate = threading.Barrier(len(jobs) + 1)

        def run(client: httpx.Client, lookup_id: bytes, sealed: Path) -> None:
            gate.wait()
            started = time.perf_counter()
            try:
                upload_item(client, lookup_id, sealed)
                durations.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
                errors.append(type(exc).__name__)

        threads = [threading.Thread(target=run, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        gate.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    for client in clients:
        client.close()
    result = {
        "clients": args.clients,
        "file_mib": args.file_mib,
        "sealed_mib": sealed_bytes / MIB,
        "wall": wall,
        "aggregate_mib_s": sealed_bytes / MIB / wall,
        "client_median_s": statistics.median(durations) if durations else 0.0,
        "errors": len(errors),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
