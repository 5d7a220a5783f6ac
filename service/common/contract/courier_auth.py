"""How the courier machine proves it holds a coalition's courier credential.

The server hands out a one-time random challenge; the courier signs
``b"aryz-courier-v1\\n" + method + "\\n" + path + "\\n" + challenge + "\\n" + sha256(body)``
with its Ed25519 credential and sends ``Authorization: Aryz-Courier key=<key id hex>,
challenge=<hex>, signature=<hex>``. Each challenge works once, so a captured request
cannot be replayed, and no clock is involved (a server's clock is something to hide).
The credential is distinct from the coalition's signing and decryption keys: a seized
courier machine can fetch ciphertext and deliver outboxes it cannot forge.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from service.common.crypto.keys import sign

SCHEME = "Aryz-Courier"
_HEADER = re.compile(
    r"^Aryz-Courier key=([0-9a-f]{16}), challenge=([0-9a-f]{64}), signature=([0-9a-f]{128})$"
)


@dataclass(frozen=True)
class CourierProof:
    key_id: bytes
    challenge: bytes
    signature: bytes


def message(method: str, path: str, challenge: bytes, body: bytes) -> bytes:
    return b"\n".join(
        [
            b"aryz-courier-v1",
            method.upper().encode("ascii"),
            path.encode("utf-8"),
            challenge.hex().encode("ascii"),
            hashlib.sha256(body).hexdigest().encode("ascii"),
        ]
    )


def authorization(
    key_id: bytes, seed: bytes, method: str, path: str, challenge: bytes, body: bytes = b""
) -> str:
    signature = sign(seed, message(method, path, challenge, body))
    return f"{SCHEME} key={key_id.hex()}, challenge={challenge.hex()}, signature={signature.hex()}"


def parse(header: str | None) -> CourierProof | None:
    match = _HEADER.fullmatch(header or "")
    if match is None:
        return None
    key, challenge, signature = (bytes.fromhex(g) for g in match.groups())
    return CourierProof(key, challenge, signature)
