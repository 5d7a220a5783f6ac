"""The HTTP connections themselves: a deadline and a size cap for every request head, and
a bound on how many connections the process holds (attack review F2, F6, F10).

uvicorn's h11 protocol gives a connection that never finishes its request head no
deadline at all, and caps the head only while it is incomplete (one write of 100 KiB
passed). A few hundred idle connections then used up the process's file descriptors, the
intake stopped answering, and asyncio's accept loop spun a core writing tracebacks.

``GuardedH11Protocol`` closes that:

- **Head deadline.** From the moment a connection opens, and again after each response,
  the next request head must be complete within ``head_timeout`` seconds, however its
  bytes arrive (all at once, one a minute, or none). Data does not extend it.
- **Head size.** A head larger than ``max_head_bytes`` is refused whether it came in one
  read or many (h11 checks only incomplete buffers).
- **Connection bound.** At most ``max_connections`` connections are open at once, a
  number ``aryz serve`` keeps well below the process's descriptor limit. A connection
  past the bound first pushes out the connection that has waited longest for a request
  head (an idle one costs its owner nothing but a reconnect); only if every connection is
  in the middle of a request is the new one closed at once. So a flood of idle
  connections can never keep other people's requests out, and ``accept()`` never meets
  EMFILE.
- **Quiet.** What uvicorn would log per connection (malformed requests, upgrade
  attempts) is counted, not written; refusals it writes itself carry the same security
  headers as every other answer (F6).

The counts (``ConnectionGuard.counts``) hold numbers only: no address (there is none
behind Tor), no time, no path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from service.common.webkit.security import REFUSED_PAGE, SECURITY_HEADERS, secure_headers

# Counted events (ConnectionGuard.counts keys).
HEAD_TIMEOUT = "head_timeout"
HEAD_TOO_LARGE = "head_too_large"
EVICTED = "idle_evicted"
REFUSED = "refused_full"
MALFORMED = "malformed"
UPGRADE = "upgrade_refused"

# uvicorn's protocol logs through this logger; every record it writes is one of a few
# fixed per-request sentences, so they are counted and dropped (see _QuietProtocolLog).
_PROTOCOL_LOG = logging.getLogger("aryz.http")


class ConnectionGuard:
    """Every open connection of the process (all listeners share one descriptor table)."""

    def __init__(self, *, max_connections: int, head_timeout: float, max_head_bytes: int) -> None:
        self.max_connections = max_connections
        self.head_timeout = head_timeout
        self.max_head_bytes = max_head_bytes
        # Insertion-ordered: the first connection waiting for a head has waited longest.
        self._open: dict[GuardedH11Protocol, None] = {}
        self.counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, protocol: GuardedH11Protocol) -> bool:
        """Make room for ``protocol``; False when every open connection is busy."""
        if len(self._open) >= self.max_connections:
            victim = next((p for p in self._open if p.awaiting_head), None)
            if victim is None:
                self.counts[REFUSED] += 1
                return False
            self.counts[EVICTED] += 1
            self.release(victim)
            victim.close_quietly()
        self._open[protocol] = None
        return True

    def waiting_again(self, protocol: GuardedH11Protocol) -> None:
        """After a response: the connection now waits for a head, newest of all."""
        if protocol in self._open:
            del self._open[protocol]
            self._open[protocol] = None

    def release(self, protocol: GuardedH11Protocol) -> None:
        self._open.pop(protocol, None)


class _QuietProtocolLog(logging.Filter):
    """Counts uvicorn's per-connection warnings instead of writing them; whatever else
    passes keeps its fixed message but never a traceback (it could name a route)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return False
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


_PROTOCOL_LOG.addFilter(_QuietProtocolLog())


def _head_size(request: h11.Request) -> int:
    """Bytes the head took on the wire, near enough: request line and header lines."""
    size = len(request.method) + len(request.target) + len(b"  HTTP/1.1\r\n\r\n")
    for name, value in request.headers:
        size += len(name) + len(value) + 4  # ": " and CRLF
    return size


class _HeadLimitedConnection(h11.Connection):
    """h11's connection, told about each complete request head before uvicorn sees it."""

    def __init__(self, protocol: GuardedH11Protocol, max_incomplete: int) -> None:
        super().__init__(h11.SERVER, max_incomplete)
        self._protocol = protocol

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            if _head_size(event) > self._protocol.guard.max_head_bytes:
                self._protocol.guard.counts[HEAD_TOO_LARGE] += 1
                # uvicorn answers a RemoteProtocolError with its 400 (ours, below).
                raise h11.RemoteProtocolError("request head too large", 431)
            self._protocol.head_complete()
        return event


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a head deadline, a head cap and a connection bound."""

    guard: ClassVar[ConnectionGuard]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _HeadLimitedConnection(self, self.guard.max_head_bytes)
        self.logger = _PROTOCOL_LOG
        self.awaiting_head = True
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            self.close_quietly()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        self._disarm()
        super().connection_lost(exc)

    def head_complete(self) -> None:
        self.awaiting_head = False
        self._disarm()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            # Armed before uvicorn looks at pipelined data, which may hold the next head.
            self.awaiting_head = True
            self.guard.waiting_again(self)
            self._arm()
        super().on_response_complete()

    def close_quietly(self) -> None:
        self.awaiting_head = False
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own 400 (malformed HTTP, head too large) carried no security headers.
        self.guard.counts[MALFORMED] += 1
        headers = secure_headers(
            [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(REFUSED_PAGE)).encode()),
                (b"connection", b"close"),
            ],
            SECURITY_HEADERS,
        )
        try:
            output = self.conn.send(h11.Response(status_code=400, headers=headers, reason=b""))
            output = (output or b"") + (self.conn.send(h11.Data(data=REFUSED_PAGE)) or b"")
            output += self.conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            # A response had already begun on this connection: nothing more can be said.
            output = b""
        if output:
            self.transport.write(output)
        self.close_quietly()

    def _unsupported_upgrade_warning(self) -> None:
        # Upgrade: websocket / h2c are ignored and the request answered as plain HTTP.
        self.guard.counts[UPGRADE] += 1

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.guard.head_timeout, self._head_deadline)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline(self) -> None:
        self._head_timer = None
        if self.awaiting_head:
            self.guard.counts[HEAD_TIMEOUT] += 1
            self.close_quietly()


def protocol_class(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class bound to ``guard`` (uvicorn instantiates the class it is given)."""
    return type("AryzH11Protocol", (GuardedH11Protocol,), {"guard": guard})
