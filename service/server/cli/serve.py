"""Run the intake app, and optionally the courier app, under uvicorn in one process.

Nothing identifies or dates a response: no access log, no ``Server`` or ``Date`` header
(security brief items 8 and 9). The courier app gets its own listener (port or unix
socket) so that it can be published on a separate, client-authorised staff onion while
the public onion reaches only the intake listener. Both servers share one event loop and
one ``Runtime`` (one database pool, one key-derivation limiter).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from service.server.app import build_runtime, configure_logging, create_app, create_courier_app
from service.server.cli.onions import Onions, Target, load_keys, start_onions, with_onion_hosts
from service.server.settings import Settings


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
) -> None:
    """Serve until SIGINT or SIGTERM. Start-up checks run first (``build_runtime``).

    With onion services configured (always in production), the keys are loaded or made
    first, so their hostnames join the allowed hosts; the onions are published before the
    listeners open, and a refusal from tor stops start-up. SIGHUP re-publishes them (after
    a courier's client key was added or revoked).
    """
    configure_logging()
    with_courier = courier_port is not None or courier_uds is not None
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
    servers = [_server(create_app(runtime=runtime), Listener(host, port, uds))]
    if with_courier:
        courier = Listener(host, courier_port or 0, courier_uds)
        servers.append(_server(create_courier_app(runtime), courier))
    try:
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
        asyncio.run(_serve_all(servers, republish))
    finally:
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


def _server(app: ASGIApp, listener: Listener) -> _Server:
    config = uvicorn.Config(
        app,
        host=listener.host,
        port=listener.port,
        uds=listener.uds,
        # No access log, no Server or Date header (security brief items 8 and 9).
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        log_level="warning",
        # Slow-loris: a client that sends nothing for this long is cut off.
        timeout_keep_alive=30,
        h11_max_incomplete_event_size=16 * 1024,
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


async def _serve_all(servers: list[_Server], republish: Callable[[], None] | None) -> None:
    loop = asyncio.get_running_loop()
    if republish is not None:
        loop.add_signal_handler(signal.SIGHUP, republish)

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

    await asyncio.gather(*(serve(s) for s in servers))
