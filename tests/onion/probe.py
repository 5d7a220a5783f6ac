"""Ask a tor SOCKS port to connect to ``host:80`` and print tor's one-byte reply code.

Run inside the private network's namespace (``python -m tests.onion.probe HOST PORT``).
With ``ExtendedErrors`` tor tells why an onion connection failed: 0xF0 descriptor not
found (not uploaded yet: retry), 0xF4 client authorisation missing, 0x00 connected.
"""

from __future__ import annotations

import socket
import sys


def probe(host: str, socks_port: int, timeout: float = 60.0) -> int:
    with socket.create_connection(("127.0.0.1", socks_port), timeout=timeout) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return 0xFF
        name = host.encode("ascii")
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + (80).to_bytes(2, "big"))
        reply = s.recv(4)
        return reply[1] if len(reply) >= 2 else 0xFF


if __name__ == "__main__":
    try:
        code = probe(sys.argv[1], int(sys.argv[2]))
    except OSError:
        code = 0xFE  # timed out or refused
    sys.stdout.write(f"{code:#04x}\n")
