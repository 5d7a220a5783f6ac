"""What the client makes of tor's SOCKS answers (a small SOCKS5 server stands in for tor).

tor's extended replies (0xF0-0xF7) are not in the SOCKS5 standard; the client must not
crash on them, must retry the passing ones (descriptor not found yet) and stop at once,
with a clear message, on the ones no retry can change (client authorisation missing)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from service.field.client import ClientError, make_client


@pytest.fixture
def fake_tor() -> Iterator[tuple[int, list[int]]]:
    """A SOCKS5 server on loopback answering every CONNECT with the next queued code."""
    codes: list[int] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.recv(16)
                conn.sendall(b"\x05\x00")
                conn.recv(512)
                code = codes.pop(0) if codes else 0x01
                conn.sendall(bytes([5, code, 0, 1]) + b"\x00" * 6)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], codes
    stop.set()
    thread.join(timeout=5)
    server.close()


ONION = "http://" + "a" * 55 + "d.onion"


def test_missing_client_authorisation_is_said_at_once(fake_tor: tuple[int, list[int]]) -> None:
    port, codes = fake_tor
    codes.append(0xF4)
    proxy = f"socks5h://127.0.0.1:{port}"
    with make_client(ONION, proxy) as client, pytest.raises(ClientError, match="authorisation"):
        client.get("/")


@pytest.mark.parametrize("code", [0xF0, 0xF6, 0x01, 0x04])
def test_other_failures_are_transport_errors_to_retry(
    fake_tor: tuple[int, list[int]], code: int
) -> None:
    port, codes = fake_tor
    codes.append(code)
    proxy = f"socks5h://127.0.0.1:{port}"
    with make_client(ONION, proxy) as client, pytest.raises(httpx.TransportError):
        client.get("/")
