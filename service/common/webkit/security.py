"""ASGI middleware that every response passes through: headers, Host and origin checks.

Why each header (SECURITY.md guarantee 9):
- a strict CSP with ``default-src 'none'``: nothing loads from elsewhere, and no script
  runs — except, on the intake site only (``INTAKE_CSP``), our own scripts from
  ``/static/`` that seal files in the browser when JavaScript is on (no inline script, no
  eval, no WebAssembly: libsodium falls back to its pure-JavaScript build); the desk and
  the courier listener keep ``STRICT_CSP``;
- ``no-referrer``, ``no-store``: nothing about the visit lingers or leaks onward;
- no ``Server``/``Date``/``ETag``/``Last-Modified``: a server clock seen through an onion
  service helps locate it, and validators let a page be fingerprinted or tracked.
Uvicorn's own ``server``/``date`` headers are switched off where it is started
(``service.server.cli.serve``); this middleware removes any that a framework layer adds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Protocol

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.common.errors import ClientGoneError, FormError, TooLargeError

# Requests that ended early, by kind: numbers only, reported once when the server stops.
REQUEST_EVENTS: Counter[str] = Counter()
CLIENT_GONE = "client_gone"
BODY_STALLED = "body_stalled"

STRICT_CSP = (
    b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    b"base-uri 'none'; frame-ancestors 'none'"
)
# 'self' scripts and fetches for the browser-side sealing (service/server/web/static/upload.js).
# No 'wasm-unsafe-eval': Tor Browser at "Safer" has no WebAssembly anyway, and libsodium's
# pure-JavaScript build is fast enough for what a Tor circuit carries.
INTAKE_CSP = (
    b"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    b"img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_OTHER_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), interest-cohort=(), payment=(), usb=()",
    ),
)


def header_set(csp: bytes) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"content-security-policy", csp), *_OTHER_HEADERS)


SECURITY_HEADERS = header_set(STRICT_CSP)
_DROPPED = {b"server", b"date", b"etag", b"last-modified", b"x-powered-by"}
_OURS = {b"content-security-policy"} | {name for name, _ in _OTHER_HEADERS}
CUT_OFF = "The upload stopped before it finished. What arrived complete was kept."
SLACK = 64 * 1024  # multipart framing and headers on top of the content caps
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Fetch-metadata values a same-site form POST or a non-browser client may carry.
_ALLOWED_FETCH_SITES = {b"same-origin", b"none"}
# Headers the checks below read, which a request may carry once only.
_SINGLE = (b"host", b"origin", b"sec-fetch-site", b"content-length", b"content-type")

REFUSED_PAGE = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Aryz</title></head><body>"
    b"<p>This request was refused. / \xd0\x97\xd0\xb0\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81 "
    b"\xd0\xbe\xd1\x82\xd0\xba\xd0\xbb\xd0\xbe\xd0\xbd\xd1\x91\xd0\xbd.</p></body></html>"
)


def secure_headers(
    headers: Iterable[tuple[bytes, bytes]],
    ours: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS,
) -> list[tuple[bytes, bytes]]:
    given = list(headers)
    kept = [(k, v) for k, v in given if k.lower() not in _DROPPED and k.lower() not in _OURS]
    # One exception to no-store: a response that names itself immutable (the stylesheet
    # under its content-versioned address, service/server/web/render.py) may be cached, so
    # each page costs one Tor round trip less. Same bytes for everyone, no validators.
    cache = [v for k, v in given if k.lower() == b"cache-control" and b"immutable" in v]
    if cache:
        own = [(k, v) for k, v in ours if k not in (b"cache-control", b"pragma")]
        return kept + own + [(b"cache-control", cache[0])]
    return kept + list(ours)


class SecurityMiddleware:
    """Adds the security headers to every response and refuses foreign requests.

    A request is refused (fixed page, nothing echoed) when its Host is not one we serve —
    a wrong Host means DNS rebinding or a misrouted request — or when an unsafe method
    comes from another site (by ``Sec-Fetch-Site``, or an ``Origin`` naming another host).
    ``Origin: null`` is accepted: with ``Referrer-Policy: no-referrer`` browsers send it
    for our own forms.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], csp: bytes = STRICT_CSP) -> None:
        self.app = app
        self.allowed_hosts = {h.lower().encode("latin-1") for h in allowed_hosts}
        self.headers = header_set(csp)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._acceptable(scope):
            await _refuse(send, ours=self.headers)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = secure_headers(message.get("headers", []), self.headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secure)

    def _acceptable(self, scope: Scope) -> bool:
        pairs = list(_lower(scope.get("headers", [])))
        headers = dict(pairs)
        names = [name for name, _ in pairs]
        if any(names.count(name) > 1 for name in _SINGLE):
            # Two Origins: which one a check reads and which one a proxy or framework
            # reads could differ (attack F9). Browsers never send two.
            return False
        host = headers.get(b"host", b"")
        if host not in self.allowed_hosts:
            return False
        if scope.get("method", "GET") in _UNSAFE_METHODS:
            site = headers.get(b"sec-fetch-site")
            if site is not None and site not in _ALLOWED_FETCH_SITES:
                return False
            origin = headers.get(b"origin")
            if origin is not None and origin != b"null":
                scheme, _, rest = origin.partition(b"://")
                if scheme not in (b"http", b"https") or rest not in self.allowed_hosts:
                    return False
        return True


def _lower(headers: Iterable[tuple[bytes, bytes]]) -> Iterable[tuple[bytes, bytes]]:
    return ((k.lower(), v.strip().lower()) for k, v in headers)


async def _refuse(
    send: Send, status: int = 400, ours: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": secure_headers(
                [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(REFUSED_PAGE)).encode()),
                    (b"connection", b"close"),
                ],
                ours,
            ),
        }
    )
    await send({"type": "http.response.body", "body": REFUSED_PAGE})


class BodyLimitMiddleware:
    """Caps every request body before any handler buffers it.

    Uploads (file forms and resumable PATCHes) may be large and are streamed; every other
    body is small. A declared Content-Length over the cap is refused at once; a chunked
    body is counted as it arrives and cut off at the cap.

    A client that stops sending in the middle of a body (a slow-loris, or a circuit that
    died without closing) is cut off after ``idle_timeout`` seconds without a byte: the
    handler sees the upload end early, discards the unfinished item and frees the slot.
    A client that goes away is the same, at once, as ``ClientGoneError``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        small: int,
        upload: int,
        idle_timeout: float = 120.0,
        small_timeout: float | None = None,
        room: UploadRoom | None = None,
    ) -> None:
        self.app = app
        self.small = small
        self.upload = upload
        self.idle_timeout = idle_timeout
        self.small_timeout = small_timeout
        self.room = room

    def _limit(self, scope: Scope) -> int:
        return self.upload if _is_upload(scope) else self.small

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit + SLACK):
            await _refuse(send, status=413)
            return
        writes = scope.get("method") in ("POST", "PATCH")
        room = self.room if writes and _is_upload(scope) else None
        if room is None:
            # A small body has a deadline as a whole, so trickling a byte just inside
            # every idle timeout cannot hold a connection for ever; uploads, which may
            # rightly take hours over Tor, have the idle timeout only.
            whole = None if _is_upload(scope) else self.small_timeout
            await self.app(scope, self._limited(receive, limit, deadline=whole), send)
            return
        # An upload body (a file form, a resumable PATCH) holds its Content-Length (or the
        # cap) while it runs, and is refused up front if the storage bounds have no room
        # for it (service/server/storage/quota.py).
        promised = int(declared) if declared is not None else limit + SLACK
        with room.hold(promised):
            await self.app(scope, self._limited(receive, limit, room.check), send)

    def _limited(
        self,
        receive: Receive,
        limit: int,
        check: Callable[[], None] | None = None,
        deadline: float | None = None,
    ) -> Receive:
        seen = 0
        pending_check = check
        ends_at = None if deadline is None else anyio.current_time() + deadline

        async def limited() -> Message:
            nonlocal seen, pending_check
            if pending_check is not None:
                run, pending_check = pending_check, None
                # In the handler's first read, so the app's error page answers.
                await run_in_threadpool(run)
            wait = self.idle_timeout
            if ends_at is not None:
                wait = min(wait, max(ends_at - anyio.current_time(), 0.0))
            try:
                with anyio.fail_after(wait):
                    message = await receive()
            except TimeoutError:
                REQUEST_EVENTS[BODY_STALLED] += 1
                raise FormError(CUT_OFF) from None
            if message["type"] == "http.disconnect":
                # A dropped circuit mid-upload is routine over Tor: a fixed error the
                # handlers already clean up after, and no log line (attack F3).
                REQUEST_EVENTS[CLIENT_GONE] += 1
                raise ClientGoneError()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit + SLACK:
                    # Raised inside the handler's read, so the app's error page answers.
                    raise TooLargeError()
            return message

        return limited


def _is_upload(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    # The write page's form may carry a file too (service/server/intake/routes.py).
    return path.endswith(("/case/files", "/report/send")) or path.startswith("/api/v1/uploads/")


class UploadRoom(Protocol):
    """What the body limit asks of the storage bounds for an upload body."""

    def hold(self, amount: int) -> AbstractContextManager[None]: ...

    def check(self) -> None:
        """Raise ``StorageFullError`` unless what is held so far fits."""


class LastResort:
    """Outermost wrapper for a served app: nothing it raises reaches uvicorn.

    Starlette's error middleware answers an unexpected exception with the fixed 500 page
    (and ``service.server.web.errors`` logs its class name) and then re-raises it, and uvicorn
    would log it again with the whole stack, route included (attack F3). Here it stops.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:  # already answered, and logged by class name
            REQUEST_EVENTS["unexpected"] += 1
