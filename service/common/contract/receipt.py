"""Receipt v1: the server's answer to an outbox, kept by the courier for the desk.

``aryz courier push`` writes it next to the outbox (``OUTBOX.receipt.json``); the desk
imports it with ``aryz desk receipt`` (service/desk/casework/resync.py)::

    {"format": "aryz-receipt", "version": 1, "coalition": id,
     "outbox": sha256 of the outbox file (hex), "applied": true | false,
     "refused": null | the server's error code,
     "cases": [{"case": <32 hex>, "status_seq": n}, …]}

``cases`` holds each case of the outbox with the last sequence number the server has
applied to it: after an applied outbox, the outbox's own last numbers; after a refusal,
the server's answer to ``POST /courier/v1/cases``. A receipt is not signed (the server
holds no coalition key); see the desk's module for what a forged one could do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from service.common.errors import AryzError

FORMAT = "aryz-receipt"
VERSION = 1
MAX_BYTES = 16 << 20


class ReceiptError(AryzError):
    code = "receipt"
    message = "The receipt is not a valid Aryz receipt, or it is for another coalition."


@dataclass(frozen=True)
class Receipt:
    outbox: str  # SHA-256 of the outbox file, hex
    applied: bool
    cases: dict[str, int]  # case ref -> the server's last applied sequence number


def encode(
    coalition: str, outbox: bytes, applied: bool, sequences: dict[str, int], refused: str | None
) -> bytes:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "coalition": coalition,
        "outbox": hashlib.sha256(outbox).hexdigest(),
        "applied": applied,
        "refused": refused,
        "cases": [{"case": c, "status_seq": s} for c, s in sorted(sequences.items())],
    }
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def decode(data: bytes, coalition: str) -> Receipt:
    try:
        document = json.loads(data.decode("utf-8"))
        if document["format"] != FORMAT or document["version"] != VERSION:
            raise ReceiptError()
        if document["coalition"] != coalition:
            raise ReceiptError()
        outbox = str(document["outbox"])
        if len(bytes.fromhex(outbox)) != 32:
            raise ReceiptError()
        applied = document["applied"]
        found: dict[str, int] = {}
        for entry in document["cases"]:
            ref, seq = str(entry["case"]), entry["status_seq"]
            if len(bytes.fromhex(ref)) != 16 or type(seq) is not int or seq < 0:
                raise ReceiptError()
            found[ref] = seq
        if not isinstance(applied, bool):
            raise ReceiptError()
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise ReceiptError() from None
    return Receipt(outbox, applied, found)
