"""Run the intake app, and optionally the courier app, under uvicorn in one process.

Nothing identifies or dates a response: no access log, no ``Server`` or ``Date`` header
(SECURITY.md guarantees 8 and 9). The courier app gets its own listener (port or unix
socket) so that it can be published on a separate, client-authorised staff onion while
the public onion reaches only the intake listener. Both servers share one event loop and
one ``Runtime`` (one database pool, one key-derivation limiter).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import signal
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from service.common.errors import ConfigError
from service.common.webkit.security import REQUEST_EVENTS, LastResort
from service.server.app import build_runtime, configure_logging, create_app, create_courier_app
from service.server.cli.onions import Onions, Target, load_keys, start_onions, with_onion_hosts
from service.server.registry.reload import Watcher
from service.server.settings import Settings
from service.server.web.connections import ConnectionGuard, protocol_class

log = logging.getLogger("aryz")

# Connections the kernel may queue per listener before uvicorn accepts them. asyncio
# accepts up to this many in one go, so it is part of the descriptor budget below.
BACKLOG = 128
# Descriptors kept for everything that is not a client connection: the database pool
# (SQLite opens three files per connection), tor's control port, logs, libraries.
FD_RESERVE = 128
MIN_CONNECTIONS = 64
# The largest request head (request line and headers) accepted, however it arrives.
MAX_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class Listener:
    """Where one app listens: a TCP port on ``host``, or a unix socket."""

    host: str = "127.0.0.1"
    port: int = 8080
    uds: str | None = None


def run(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    uds: str | None = None,
    courier_port: int | None = None,
    courier_uds: str | None = None,
    force_host: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM. Start-up checks run first (``build_runtime``).

    With onion services configured (always in production), the keys are loaded or made
    first, so their hostnames join the allowed hosts; the onions are published before the
    listeners open, and a refusal from tor stops start-up. SIGHUP reloads the registry and
    re-publishes them (after a courier's client key was added or revoked); the registry is
    also reloaded when its files change (``service.server.registry.reload``).
    """
    configure_logging()
    with_courier = courier_port is not None or courier_uds is not None
    check_host(settings, host, uds, force=force_host)
    guard = ConnectionGuard(
        max_connections=connection_bound(settings.max_connections, 2 if with_courier else 1),
        head_timeout=settings.head_timeout,
        max_head_bytes=MAX_HEAD_BYTES,
    )
    onions: Onions | None = None
    # ARYZ_ONION_PUBLISH=false: the torrc publishes them from keys only tor may read, and
    # the operator names the hosts; serve never touches the keys.
    if settings.onion_configured and settings.onion_publish:
        # Refuse bad settings before a key is made or tor is asked anything.
        settings.check(require_hosts=False)
        intake_key, staff_key = load_keys(settings, with_courier)
        settings = with_onion_hosts(settings, intake_key, staff_key)
        onions = Onions(intake_key, staff_key)
    runtime = build_runtime(settings)
    if settings.is_production and not settings.onion_publish:
        sys.stdout.write("onions: published by the torrc (ARYZ_ONION_PUBLISH=false)\n")
        sys.stdout.flush()
    servers = [_server(LastResort(create_app(runtime=runtime)), Listener(host, port, uds), guard)]
    if with_courier:
        courier = Listener(host, courier_port or 0, courier_uds)
        servers.append(_server(LastResort(create_courier_app(runtime)), courier, guard))
    try:
        watcher = Watcher(runtime)
        republish: Callable[[], None] | None = None
        if onions is not None:
            start_onions(
                settings,
                onions,
                Target.of(host, port, uds),
                Target.of(host, courier_port, courier_uds) if with_courier else None,
            )
            _announce(onions)
            republish = onions.keeper.republish if onions.keeper else None
        asyncio.run(
            _serve_all(
                servers,
                _on_hangup(watcher, republish),
                guard,
                watch=(watcher, settings.registry_poll_seconds),
            )
        )
    finally:
        _report(guard)
        if onions is not None:
            onions.stop()
        runtime.engine.dispose()


def _announce(onions: Onions) -> None:
    # The addresses are public by design; printing them is how the operator learns them.
    lines = [f"intake onion: http://{onions.intake.hostname}/"]
    if onions.staff is not None:
        lines.append(f"staff onion:  http://{onions.staff.hostname}/ (client authorisation)")
    lines += onions.notes
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def check_host(settings: Settings, host: str, uds: str | None, *, force: bool) -> None:
    """Production listens on loopback or a unix socket only (security audit F-15).

    Tor reaches the app locally. A server bound to a public address answers anyone who
    sends ``Host: <the onion>``, which confirms that this machine hosts the onion.
    """
    if uds is not None or not settings.is_production or force:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a name: whatever it resolves to, it is not provably loopback
    if not loopback:
        raise ConfigError(
            "In production --host must be a loopback address (127.0.0.1 or ::1); "
            "use --force-host only if a firewall keeps everyone else out."
        )


def connection_bound(wanted: int, listeners: int) -> int:
    """How many connections may be open at once: ``wanted``, but always well below the
    process's descriptor limit, so ``accept()`` never fails with EMFILE (attack F2).

    The soft limit is raised to the hard one first (the systemd unit sets both with
    ``LimitNOFILE``).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - FD_RESERVE - listeners * BACKLOG
    if room < MIN_CONNECTIONS:
        raise ConfigError(
            "The open-file limit is too low to serve safely: raise LimitNOFILE (see "
            "deploy/systemd/aryz.service)."
        )
    return min(wanted, room)


def _report(guard: ConnectionGuard) -> None:
    """One line at exit with what was refused or cut off: counts only, nothing else."""
    counts = guard.counts + REQUEST_EVENTS
    if counts:
        summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        log.warning("connections: %s", summary)


def _server(app: ASGIApp, listener: Listener, guard: ConnectionGuard) -> _Server:
    config = uvicorn.Config(
        app,
        host=listener.host,
        port=listener.port,
        uds=listener.uds,
        # No access log, no Server or Date header (SECURITY.md guarantees 8 and 9).
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        log_level="warning",
        # Head deadline, head cap and connection bound (service/server/web/connections.py).
        http=protocol_class(guard),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=max(1, round(guard.head_timeout)),
        backlog=BACKLOG,
        # No WebSocket route exists; an Upgrade header is ignored (and counted).
        ws="none",
        lifespan="off",
    )
    return _Server(config)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to ``_serve_all``.

    Each ``uvicorn.Server`` would install its own SIGINT/SIGTERM handlers, and the second
    would replace the first's; one handler here stops them all.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


ACCEPT_EXHAUSTED = "accept_exhausted"


def _quiet_loop_errors(guard: ConnectionGuard) -> Callable[[Any, dict[str, Any]], None]:
    """asyncio's own failures, in one line each and never with a traceback.

    Should ``accept()`` ever run out of descriptors after all, asyncio would log one
    traceback per refused connection, thousands a second (attack F2): that is counted and
    said once. Other messages are asyncio's fixed sentences, cut before any object's repr,
    with only the exception's class name added.
    """

    def handle(_loop: Any, context: dict[str, Any]) -> None:
        message = str(context.get("message", "event loop error"))
        if message.startswith("socket.accept() out of system resource"):
            guard.counts[ACCEPT_EXHAUSTED] += 1
            if guard.counts[ACCEPT_EXHAUSTED] > 1:
                return
        message = message.splitlines()[0].split(" <", 1)[0].split(" {", 1)[0][:80]
        exc = context.get("exception")
        log.error("event loop: %s%s", message, f" ({type(exc).__name__})" if exc else "")

    return handle


def _on_hangup(watcher: Watcher, republish: Callable[[], None] | None) -> Callable[[], None]:
    """SIGHUP: read the registry and its changes again (audit F-12), then re-publish the
    onions (a courier's onion client key added or revoked)."""

    def hangup() -> None:
        try:
            watcher.reload()
        finally:
            # The onions are re-published whatever became of the registry.
            if republish is not None:
                republish()

    return hangup


async def _watch(watcher: Watcher, every: float) -> None:
    """Reload the registry when its file or a change file is written (a revoked courier
    is refused within ``every`` seconds, with no signal and no restart)."""
    while True:
        await asyncio.sleep(every)
        try:
            watcher.poll()
        except Exception as exc:  # noqa: BLE001 - the watch must outlive any one failure
            # Never stop watching: the next revocation must still arrive. Class name only.
            log.error("registry watch: %s", type(exc).__name__)


async def _serve_all(
    servers: list[_Server],
    hangup: Callable[[], None] | None,
    guard: ConnectionGuard,
    *,
    watch: tuple[Watcher, float] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_loop_errors(guard))
    if hangup is not None:
        loop.add_signal_handler(signal.SIGHUP, hangup)
    watching = asyncio.create_task(_watch(*watch)) if watch is not None else None

    def stop_all() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_all)

    async def serve(server: _Server) -> None:
        try:
            await server.serve()
        finally:
            # One listener failing (a port in use) or stopping stops the other too.
            stop_all()

    try:
        await asyncio.gather(*(serve(s) for s in servers))
    finally:
        if watching is not None:
            watching.cancel()
