"""A load generator for real ``aryz serve`` processes on loopback (asyncio + httpx).

It does what people's browsers do, without JavaScript: walk the multi-step form and send
it, upload files through the form, check a case's status — many at once — and what an
attacker's slow client does: open an upload and then dribble its body slower than the
server's idle timeout. Every count and wait is bounded by the caller.

What counts as an error (``Recorder.errors``): any answer other than the one the step
expects, and any transport failure — with two documented exceptions. (1) A ``503`` from
the key-derivation queue (``BusyError``: more derivations waiting than
``ARYZ_KDF_MAX_WAITING``) is the server shedding load by design; it is counted as
``busy`` and retried after a pause, as a person pressing the button again would, up to
``BUSY_RETRIES`` times (running out of retries is an error). (2) The slow clients are
meant to be cut off: they are counted as ``cut_off`` when the server ends them, and as an
error if it does not.

With two instances (``urls`` of two servers sharing one PostgreSQL database), requests go
to the instances in turn: status checks and uploads land on either (a case filed on one
is found on the other), while a form session keeps to the instance it started on, since
its sealed state opens only in the process that sealed it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import count

import httpx

from service.common.crypto.token import generate_token

MIB = 1024 * 1024
BUSY_RETRIES = 40
BUSY_PAUSE = 0.25  # seconds before a 503 is retried; grows with each retry
BOUNDARY = "aryzloadboundary"
TOKEN_FIELD = re.compile(r'name="token" value="(\d{24})"')
MARK_FIELD = re.compile(r'name="token_mark" value="([0-9a-f]{32})"')
STATE_FIELD = re.compile(r'name="state" value="([A-Za-z0-9_=-]+)"')


class LoadError(Exception):
    """A step got an answer it did not expect (the kind is the message; no body echoed)."""


@dataclass
class Recorder:
    """Latencies per kind of request, and what went wrong."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    busy: int = 0
    cut_off: list[float] = field(default_factory=list)  # seconds until each slow client ended

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def percentiles(self, kind: str) -> tuple[float, float]:
        """(p50, p99) in seconds of one kind of request."""
        values = sorted(self.latencies.get(kind, []))
        if not values:
            return (0.0, 0.0)
        if len(values) == 1:
            return (values[0], values[0])
        p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
        return (statistics.median(values), p99)


class Load:
    """One run's client side: a shared connection pool, the instances, the recorder."""

    def __init__(
        self,
        urls: list[str],
        recorder: Recorder,
        *,
        connections: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.urls = urls
        self.recorder = recorder
        self._turn = count()
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(
            limits=limits,
            timeout=httpx.Timeout(300.0, connect=30.0),
            trust_env=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _base(self) -> str:
        return self.urls[next(self._turn) % len(self.urls)]

    def _url(self, path: str) -> str:
        return self._base() + path

    async def _send(
        self,
        kind: str,
        expect: int,
        send: Callable[[str], Awaitable[httpx.Response]],
        path: str,
        base: str | None = None,
    ) -> httpx.Response:
        """Send (again after a 503 busy) to ``base`` or the next instance, time it, and
        check the status."""
        for attempt in range(BUSY_RETRIES + 1):
            started = time.perf_counter()
            response = await send((base or self._base()) + path)
            elapsed = time.perf_counter() - started
            if response.status_code == 503 and attempt < BUSY_RETRIES:
                self.recorder.busy += 1
                await asyncio.sleep(BUSY_PAUSE * (1 + attempt / 4))
                continue
            self.recorder.add(kind, elapsed)
            if response.status_code != expect:
                raise LoadError(f"{kind}: HTTP {response.status_code}")
            return response
        raise LoadError(f"{kind}: still busy")  # unreachable: the last attempt returns

    async def guarded(self, kind: str, work: Awaitable[object]) -> object | None:
        """Run one session; record (never raise) what went wrong."""
        try:
            return await work
        except LoadError as exc:
            self.recorder.errors[str(exc)] += 1
        except httpx.HTTPError as exc:
            self.recorder.errors[f"{kind}: {type(exc).__name__}"] += 1
        return None

    # --- what a browser does ---------------------------------------------------------

    async def form_session(self, country: str = "KZ") -> str:
        """Walk the questionnaire (first step, the account, review) and send it.

        A session stays on one instance: the sealed form state is keyed per process, as
        a Tor circuit through Onionbalance stays with one backend."""
        base = self._base()
        page = await self._send("form page", 200, self.client.get, "/en/report", base)
        state = _state(page.text)
        steps = [
            {"step": "filer", "go": "narrative", "country": country, "recipient": "national"},
            {"step": "narrative", "go": "review", "narrative.text": "Load test account."},
        ]
        for form in steps:
            data = {"state": state, **form}
            page = await self._send(
                "form step", 200, partial(self.client.post, data=data), "/en/report", base
            )
            state = _state(page.text)
        token = _token(page.text)
        mark = MARK_FIELD.search(page.text)
        if mark is None:
            raise LoadError("review page without the token's mark")
        form = {"state": state, "token": token, "token_mark": mark.group(1), "action": "send"}
        await self._send(
            "form send", 200, partial(self.client.post, data=form), "/en/report/submit", base
        )
        return token

    async def status(self, token: str, expect: int) -> None:
        await self._send(
            "status check", expect, partial(self.client.post, data={"token": token}), "/en/status"
        )

    async def upload(self, token: str, size: int, seed: int) -> str:
        """Upload one file of ``size`` bytes through the form; return its SHA-256.

        Each attempt (a 503 busy is retried) streams the file afresh from its first byte;
        the digest returned is that of the attempt the server acknowledged."""
        digests: list[hashlib._Hash] = []

        async def body() -> AsyncIterator[bytes]:
            digest = hashlib.sha256()
            digests.append(digest)
            yield _part_head(token, f"load-{seed}.bin")
            for piece in _Pieces(size, seed):
                digest.update(piece)
                yield piece
                await asyncio.sleep(0)  # let the other sessions run between pieces
            yield f"\r\n--{BOUNDARY}--\r\n".encode()

        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        await self._send(
            "upload",
            200,
            lambda u: self.client.post(u, content=body(), headers=headers),
            "/en/case/files",
        )
        return digests[-1].hexdigest()

    # --- what a slow-loris client does -----------------------------------------------

    async def slow_client(self, token: str, gap: float, limit: float, upload: bool) -> None:
        """Send a request's headers and the start of its body on a raw socket, then a byte
        every ``gap`` seconds (longer than the idle timeout) until the server answers or
        closes — cut off — or ``limit`` seconds pass, which is an error. (An upload's
        body is read only after its token's derivation, which may wait in the KDF queue:
        ``limit`` must cover that wait too.)

        A raw socket, because an HTTP client only reads the answer once it has sent the
        whole body; this one watches for it while it dribbles."""
        url = httpx.URL(self._url("/en/case/files" if upload else "/en/report"))
        if upload:
            content_type = f"multipart/form-data; boundary={BOUNDARY}"
            head = _part_head(token, "slow.bin")
        else:
            content_type, head = "application/x-www-form-urlencoded", b"state=" + b"A" * 64
        request = (
            f"POST {url.path} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(head) + 10_000}\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(url.host, url.port)
        answer: bytes | None = None  # None: still open; b"": closed by the server
        try:
            writer.write(request + head)
            await writer.drain()
            while answer is None and time.perf_counter() - started < limit:
                try:
                    answer = await asyncio.wait_for(reader.readline(), gap)
                except TimeoutError:
                    writer.write(b"x")
                    await writer.drain()
        except ConnectionError:
            answer = b""
        finally:
            writer.close()
        elapsed = time.perf_counter() - started
        status = answer.split(b" ")[1:2] if answer else []
        if status == [b"503"]:
            self.recorder.busy += 1  # the KDF queue was full before the body was read
        elif answer == b"" or status in ([b"400"], [b"408"]):
            self.recorder.cut_off.append(elapsed)
        elif answer is None:
            self.recorder.errors["slow client: not cut off"] += 1
        else:
            self.recorder.errors[f"slow client: HTTP {status[0].decode()[:3]}"] += 1


def _state(html: str) -> str:
    match = STATE_FIELD.search(html)
    if match is None:
        raise LoadError("page without a form state")
    return match.group(1)


def _token(html: str) -> str:
    match = TOKEN_FIELD.search(html)
    if match is None:
        raise LoadError("review page without a token")
    return match.group(1)


def _part_head(token: str, filename: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


class _Pieces:
    """``size`` bytes in 1 MiB pieces: one random MiB, its first 16 bytes the seed and the
    piece number, so no two files or pieces are alike and nothing large is held."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.base = bytearray(os.urandom(MIB))

    def __iter__(self) -> _Pieces:
        self.sent = 0
        self.index = 0
        return self

    def __next__(self) -> bytes:
        if self.sent >= self.size:
            raise StopIteration
        n = min(MIB, self.size - self.sent)
        self.base[:16] = self.seed.to_bytes(8, "big") + self.index.to_bytes(8, "big")
        self.sent += n
        self.index += 1
        return bytes(self.base[:n])


def unknown_token() -> str:
    """A well-formed token no case has (with overwhelming probability)."""
    return generate_token()
