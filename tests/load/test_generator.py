"""The load generator's own bookkeeping: what it reports must be what the server got."""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from tests.load.generator import BOUNDARY, MIB, Load, Recorder


def test_a_retried_upload_reports_the_digest_of_the_attempt_acknowledged() -> None:
    """A 503 busy answer after part of a body was sent must not leave that part in the
    digest the run later compares with the stored file."""
    bodies: list[bytes] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(await request.aread())
        return httpx.Response(503 if len(bodies) == 1 else 200)

    async def run() -> tuple[str, Recorder]:
        recorder = Recorder()
        load = Load(["http://a"], recorder, connections=2, transport=httpx.MockTransport(handler))
        try:
            return await load.upload("1" * 24, 2 * MIB + 5, seed=7), recorder
        finally:
            await load.aclose()

    digest, recorder = asyncio.run(run())
    assert len(bodies) == 2
    assert recorder.busy == 1
    last = bodies[-1]
    start = last.index(b"\r\n\r\n", last.index(b'filename="load-7.bin"')) + 4
    end = last.rindex(f"\r\n--{BOUNDARY}--".encode())
    assert end - start == 2 * MIB + 5
    assert digest == hashlib.sha256(last[start:end]).hexdigest()
