"""A malicious relay in front of a real server (audit F-02): it passes every request on,
but answers ``/api/v1/info`` with the coalitions' keys replaced by its own, re-signing
the key statements with its own signing key, and keeps a copy of every upload."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from service.common.contract.statement import KeyStatement, make_statement
from service.common.crypto.keys import (
    BoxKeyPair,
    SigningKeyPair,
    fingerprint,
    generate_box_keypair,
    generate_signing_keypair,
)


class Adversary:
    def __init__(self) -> None:
        self.box: BoxKeyPair = generate_box_keypair()
        self.signing: SigningKeyPair = generate_signing_keypair()
        self.captured: list[bytes] = []

    def substitute(self, info: dict[str, Any]) -> dict[str, Any]:
        """Every coalition's keys, signing key and statement replaced by the adversary's."""
        for c in info["coalitions"]:
            c["keys"] = [
                {
                    "epoch": 1,
                    "public_key": self.box.public.hex(),
                    "key_id": c["keys"][0]["key_id"],
                    "fingerprint": fingerprint(self.box.public),
                }
            ]
            c["signing_key"] = self.signing.verify.hex()
            c["signing_fingerprint"] = fingerprint(self.signing.verify)
            statement = KeyStatement(
                c["id"], tuple(c["countries"]), c["fallback"], 99, ((1, self.box.public),)
            )
            c["key_statement"] = make_statement(statement, self.signing.seed)
        return info


@contextmanager
def relay(
    upstream: str, rewrite: Callable[[dict[str, Any]], dict[str, Any]], captured: list[bytes]
) -> Iterator[str]:
    """Serve on a loopback port; yields its URL. Stopped when the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if body:
                captured.append(body)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() in ("content-type", "upload-offset", "content-length")
            }
            with httpx.Client(base_url=upstream, trust_env=False) as client:
                answer = client.request(self.command, self.path, content=body, headers=headers)
            content = answer.content
            if self.path == "/api/v1/info" and answer.status_code == 200:
                content = json.dumps(rewrite(answer.json())).encode()
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = _relay  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
