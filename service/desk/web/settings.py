"""Where and how long the desk's local web app listens: 127.0.0.1 only, a port of its
own, an idle lock. Read by the command (``cli.py``), the app (``app.py``) and the gate
(``guard.py``), so none of them imports another for a number."""

from __future__ import annotations

from service.desk.web.errors import PortError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_IDLE_MINUTES = 15
MAX_IDLE_MINUTES = 8 * 60


def check_port(port: int) -> int:
    # Below 1024 needs root; running the desk as root would be a needless risk.
    if not 1024 <= port <= 65535:
        raise PortError()
    return port
