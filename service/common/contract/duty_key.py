"""The duty key file, as ``aryz duty keygen`` writes it (and ``aryz demo`` for the demo).

JSON ``{"format": "aryz-duty-key", "version": 1, "coalition": id, "epoch": n,
"box_seed": hex (32 bytes), "signing_seed": hex (32 bytes)}``. The X25519 key pair derived
from ``box_seed`` opens urgent records; the Ed25519 pair from ``signing_seed`` signs the
duty officer's acknowledgements. Both public halves go into the coalition's
``[[coalition.duty]]`` entry in the registry (``public_key``, ``ack_key``) and into the
desk's key statement.

This key lives online, on the courier machine: whoever holds this file reads the urgent
records still on the server and can acknowledge them. It opens nothing else — not a case,
not a file, not a reply — and it is revoked in the registry on its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from service.common.crypto.keys import (
    BoxKeyPair,
    box_keypair_from_seed,
    fingerprint,
    signing_keypair_from_seed,
)
from service.common.errors import AryzError

FORMAT = "aryz-duty-key"
PUBLIC_FORMAT = "aryz-duty-public"
MAX_FILE = 4096


class DutyKeyError(AryzError):
    code = "duty_key"
    message = "The duty key file cannot be read or is not valid."


@dataclass(frozen=True)
class DutyKey:
    coalition: str
    epoch: int
    box_seed: bytes
    signing_seed: bytes

    def __repr__(self) -> str:
        # The seeds open urgent records and sign for the officer: keep them out of logs.
        return f"DutyKey(coalition={self.coalition!r}, epoch={self.epoch})"

    @property
    def box(self) -> BoxKeyPair:
        return box_keypair_from_seed(self.box_seed)

    @property
    def verify_key(self) -> bytes:
        return signing_keypair_from_seed(self.signing_seed).verify

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.verify_key)

    def public_json(self) -> str:
        """What the desk's key statement and the registry need (``aryz desk statement
        --duty``): public halves only."""
        return json.dumps(
            {
                "format": PUBLIC_FORMAT,
                "coalition": self.coalition,
                "epoch": self.epoch,
                "public_key": self.box.public.hex(),
                "verify_key": self.verify_key.hex(),
            },
            indent=2,
        )

    def registry_lines(self) -> list[str]:
        return [
            "[[coalition.duty]]",
            f"epoch = {self.epoch}",
            f'public_key = "{self.box.public.hex()}"',
            f'ack_key = "{self.verify_key.hex()}"',
            f'fingerprint = "{self.fingerprint}"',
        ]


def duty_key_json(key: DutyKey) -> str:
    return json.dumps(
        {
            "format": FORMAT,
            "version": 1,
            "coalition": key.coalition,
            "epoch": key.epoch,
            "box_seed": key.box_seed.hex(),
            "signing_seed": key.signing_seed.hex(),
        },
        indent=2,
    )


def new_duty_key(coalition: str, epoch: int) -> DutyKey:
    return DutyKey(coalition, epoch, os.urandom(32), os.urandom(32))


def write_duty_key(path: Path, key: DutyKey) -> None:
    """Write the private file, readable by its owner only, never over an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(duty_key_json(key))


def load_duty_key(path: Path) -> DutyKey:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE + 1)
        if len(raw) > MAX_FILE:
            raise ValueError
        data = json.loads(raw.decode("utf-8"))
        if data.get("format") != FORMAT or data.get("version") != 1:
            raise ValueError
        key = DutyKey(
            coalition=str(data["coalition"]),
            epoch=int(data["epoch"]),
            box_seed=bytes.fromhex(data["box_seed"]),
            signing_seed=bytes.fromhex(data["signing_seed"]),
        )
        if len(key.box_seed) != 32 or len(key.signing_seed) != 32 or key.epoch < 1:
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise DutyKeyError() from None
    return key


def load_duty_public(path: Path) -> tuple[str, int, bytes, bytes]:
    """(coalition, epoch, X25519 public key, Ed25519 verify key) from a public file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != PUBLIC_FORMAT:
            raise ValueError
        public, verify_key = bytes.fromhex(data["public_key"]), bytes.fromhex(data["verify_key"])
        if len(public) != 32 or len(verify_key) != 32 or int(data["epoch"]) < 1:
            raise ValueError
        return str(data["coalition"]), int(data["epoch"]), public, verify_key
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise DutyKeyError("The duty key's public file cannot be read or is not valid.") from None
