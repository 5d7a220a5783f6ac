"""Run the intake app under uvicorn with nothing that identifies or dates a response."""

from __future__ import annotations

import uvicorn

from service.app import configure_logging, create_app
from service.settings import Settings


def run(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 8080, uds: str | None = None
) -> None:
    configure_logging()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        uds=uds,
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
    uvicorn.Server(config).run()
