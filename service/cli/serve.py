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
from collections.abc import Generator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from service.app import build_runtime, configure_logging, create_app, create_courier_app
from service.settings import Settings


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
    """Serve until SIGINT or SIGTERM. Start-up checks run first (``build_runtime``)."""
    configure_logging()
    runtime = build_runtime(settings)
    servers = [_server(create_app(runtime=runtime), Listener(host, port, uds))]
    if courier_port is not None or courier_uds is not None:
        courier = Listener(host, courier_port or 0, courier_uds)
        servers.append(_server(create_courier_app(runtime), courier))
    try:
        asyncio.run(_serve_all(servers))
    finally:
        runtime.engine.dispose()


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


async def _serve_all(servers: list[_Server]) -> None:
    loop = asyncio.get_running_loop()

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
