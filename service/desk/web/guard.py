"""The web desk's door: a per-launch secret, no other site, and a lock after idle time.

Why: the desk's pages show decrypted cases. The Host check (DNS rebinding) and the
same-site POST check of :class:`service.common.webkit.security.SecurityMiddleware` keep remote
sites from *acting*; this keeps everything else on the laptop from *reading*:

- **A per-launch secret.** ``aryz desk web`` prints one link, ``/login?key=SECRET``
  (256 random bits, new at every start, never stored). Opening it sets a cookie
  (``HttpOnly``, ``SameSite=Strict``, ``Path=/``) holding a *different* random value,
  and redirects to a clean address, so the secret does not stay in the address bar.
  Every other request without that cookie gets a fixed page and nothing of the desk:
  another user of the laptop, a local program, or a browser that never opened the link.
- **No other site.** A request that a browser marks as coming from another site
  (``Sec-Fetch-Site`` other than ``same-origin`` or ``none``, or an ``Origin`` that is not
  this desk) is refused for every method, downloads included: a page elsewhere cannot
  make the browser fetch a decrypted file, even with the cookie.
- **Idle lock.** After :data:`DEFAULT_IDLE_MINUTES` without a request (``--idle-lock``),
  the desk locks: every page says so, and ``aryz desk web`` stops, which closes the
  store and ends the process holding the keys. Unlocking is starting it again (the
  passphrase, then a new link).
- **Key rotation.** ``keys.json`` is watched: after ``aryz desk rotate`` this running
  desk still holds the old keys, so imports are refused with what to do (restart).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.desk.store.keys import KEYS_FILE
from service.desk.web.settings import DEFAULT_IDLE_MINUTES

COOKIE = "aryz_desk"
LOGIN_PATH = "/login"
_ALLOWED_SITES = {b"same-origin", b"none"}


class Gate:
    """The state of the door for one launch: secret, session, idle clock, key file."""

    def __init__(
        self,
        folder: Path,
        idle_seconds: float = DEFAULT_IDLE_MINUTES * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret = secrets.token_urlsafe(32)
        self._session = secrets.token_urlsafe(32)
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._last_seen = clock()
        self._locked = threading.Event()
        self._keys_file = folder / KEYS_FILE
        self._keys_digest = self._digest()

    @property
    def login_path(self) -> str:
        return f"{LOGIN_PATH}?key={self.secret}"

    def login_url(self, host: str) -> str:
        return f"http://{host}{self.login_path}"

    # --- the lock -----------------------------------------------------------------

    @property
    def locked(self) -> bool:
        if not self._locked.is_set() and self.clock() - self._last_seen > self.idle_seconds:
            self._locked.set()
        return self._locked.is_set()

    def lock(self) -> None:
        self._locked.set()

    def seen(self) -> None:
        self._last_seen = self.clock()

    # --- the keys -----------------------------------------------------------------

    def keys_changed(self) -> bool:
        """True once ``keys.json`` differs from what it was at unlock (``desk rotate``)."""
        return self._digest() != self._keys_digest

    def _digest(self) -> bytes:
        try:
            return hashlib.sha256(self._keys_file.read_bytes()).digest()
        except OSError:
            return b""

    # --- checks -------------------------------------------------------------------

    def key_matches(self, typed: str) -> bool:
        return hmac.compare_digest(typed.encode(), self.secret.encode())

    def session_matches(self, cookie: str | None) -> bool:
        return cookie is not None and hmac.compare_digest(cookie.encode(), self._session.encode())

    def cookie_header(self) -> bytes:
        return f"{COOKIE}={self._session}; HttpOnly; SameSite=Strict; Path=/".encode()


def from_another_site(headers: dict[bytes, bytes], own_origins: set[bytes]) -> bool:
    site = headers.get(b"sec-fetch-site")
    if site is not None and site.strip().lower() not in _ALLOWED_SITES:
        return True
    origin = headers.get(b"origin")
    return origin is not None and origin not in (b"null", *own_origins)


class DeskGuard:
    """ASGI middleware in front of every desk page (inside the security headers)."""

    def __init__(self, app: ASGIApp, gate: Gate, hosts: list[str]) -> None:
        self.app = app
        self.gate = gate
        self.own_origins = {f"http://{h}".encode() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        path: str = scope.get("path", "/")
        language = _language(path)
        if from_another_site(headers, self.own_origins):
            await _gate_page(send, "refused", language)
            return
        if self.gate.locked:
            await _gate_page(send, "locked", language)
            return
        if path == LOGIN_PATH:
            await self._login(scope, send)
            return
        if not self.gate.session_matches(_cookie(headers.get(b"cookie", b""))):
            await _gate_page(send, "login", language)
            return
        self.gate.seen()
        await self.app(scope, receive, send)

    async def _login(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        typed = query.get("key", [""])[-1]
        if scope.get("method") != "GET" or not self.gate.key_matches(typed):
            await _gate_page(send, "login", DEFAULT_LANGUAGE)
            return
        self.gate.seen()
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", f"/{DEFAULT_LANGUAGE}/".encode()),
                    (b"set-cookie", self.gate.cookie_header()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _cookie(header: bytes) -> str | None:
    for part in header.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def _language(path: str) -> str:
    first = path.strip("/").split("/", 1)[0]
    return first if first in LANGUAGES else DEFAULT_LANGUAGE


async def _gate_page(send: Send, code: str, language: str) -> None:
    from service.desk.web.render import environment

    html = environment(language).get_template("gate.html").render(code=code, lang=language)
    body = html.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
