"""ASGI middleware that every response passes through: headers, Host and origin checks.

Why each header (security brief item 9):
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

from collections.abc import Iterable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.common.errors import FormError, TooLargeError

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

REFUSED_PAGE = (
    b"<!doctype html><html><head><meta charset=utf-8><title>Aryz</title></head><body>"
    b"<p>This request was refused. / \xd0\x97\xd0\xb0\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81 "
    b"\xd0\xbe\xd1\x82\xd0\xba\xd0\xbb\xd0\xbe\xd0\xbd\xd1\x91\xd0\xbd.</p></body></html>"
)


def secure_headers(
    headers: Iterable[tuple[bytes, bytes]],
    ours: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS,
) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED and k.lower() not in _OURS]
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
        headers = dict(_lower(scope.get("headers", [])))
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
    """

    def __init__(
        self, app: ASGIApp, *, small: int, upload: int, idle_timeout: float = 120.0
    ) -> None:
        self.app = app
        self.small = small
        self.upload = upload
        self.idle_timeout = idle_timeout

    def _limit(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        if path.endswith("/case/files") or path.startswith("/api/v1/uploads/"):
            return self.upload
        return self.small

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit + SLACK):
            await _refuse(send, status=413)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            try:
                with anyio.fail_after(self.idle_timeout):
                    message = await receive()
            except TimeoutError:
                raise FormError(CUT_OFF) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit + SLACK:
                    # Raised inside the handler's read, so the app's error page answers.
                    raise TooLargeError()
            return message

        await self.app(scope, limited, send)
