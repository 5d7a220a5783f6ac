"""The client side of the surge step: people filing reports with files at once, through
Tor, to one public onion address. Runs inside the private network (its SOCKS port); prints
one JSON line.

Each of ``--circuits`` groups of people gives tor its own SOCKS username, so tor builds
each group its own circuits (``IsolateSOCKSAuth``): introductions spread over the
introduction points of every backend Onionbalance lists. Every person walks the form and
sends it (``tests.load.generator.Load``, the same steps as the loopback load), every
``--upload-every``-th then uploads a file through the form, and each checks the status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import httpx

from tests.load.generator import MIB, Load, Recorder

KINDS = ("form page", "form step", "form send", "upload", "status check")


def _proxy(proxy: str, group: int) -> str:
    scheme, _, rest = proxy.partition("://")
    return f"{scheme}://surge{group}:x@{rest}"


async def _person(load: Load, number: int, upload_mib: int, upload: bool) -> int:
    token = await load.guarded("form", load.form_session())
    if not isinstance(token, str):
        return 0
    sent = 0
    if upload:
        done = await load.guarded("upload", load.upload(token, upload_mib * MIB, number))
        sent = upload_mib * MIB if done is not None else 0
    await load.guarded("status", load.status(token, 200))
    return sent


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    recorder = Recorder()
    loads = [
        Load(
            [args.server],
            recorder,
            connections=max(1, args.people // args.circuits),
            transport=httpx.AsyncHTTPTransport(proxy=_proxy(args.proxy, group), retries=2),
        )
        for group in range(args.circuits)
    ]
    started = time.perf_counter()
    try:
        sent = await asyncio.gather(
            *(
                _person(loads[n % args.circuits], n, args.upload_mib, n % args.upload_every == 0)
                for n in range(args.people)
            )
        )
    finally:
        for load in loads:
            await load.aclose()
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "requests": recorder.requests,
        "errors": sum(recorder.errors.values()),
        "error_kinds": dict(recorder.errors),
        "busy": recorder.busy,
        "uploaded_mib": sum(sent) / MIB,
        "percentiles": {kind: recorder.percentiles(kind) for kind in KINDS},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--circuits", type=int, default=8)
    parser.add_argument("--upload-every", type=int, default=5)
    parser.add_argument("--upload-mib", type=int, default=4)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
