"""Key statements: a coalition's own signed word on which keys to seal to (audit F-02).

The server names the keys a client seals to; a seized or adversary-run server could name
its own. So each coalition's desk signs, with its Ed25519 signing key (the one that signs
outboxes, which never leaves the air-gapped desk), a statement of its current X25519
encryption keys and the countries it serves. The operator pastes it into the registry
(``key_statement``), the server checks it at start and serves it at ``/api/v1/info``, and
``aryz submit`` / ``aryz status`` check it against a signing-key fingerprint the person
already holds (``service.field.trust``). A server can withhold a statement or replay an
older one; it cannot make one.

Statement JSON: ``{"body": {...}, "signature": hex}``, the signature over
``b"aryz-key-statement-v1\\n" + canonical JSON(body)``. Body::

    {"format": "aryz-key-statement", "version": 1, "coalition": id,
     "countries": [sorted codes], "fallback": bool, "serial": n,
     "keys": [{"epoch": e, "public_key": hex}, ...]}   # sorted by epoch

A coalition with a duty key (the urgent lane, ``service.common.contract.duty``) also
lists it, and only then: ``"duty": [{"epoch": e, "public_key": hex, "verify_key": hex}]``
(the X25519 key urgent records are sealed to, the Ed25519 key its acknowledgements are
signed with). A statement without duty keys is byte for byte what it was before.

``serial`` grows with each statement the desk makes; a client remembers the highest it
has seen and refuses an older one (a server replaying the keys of before a rotation).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from service.common.crypto.keys import sign, verify
from service.common.errors import AryzError, EnvelopeKeyError

FORMAT = "aryz-key-statement"
VERSION = 1
DOMAIN = b"aryz-key-statement-v1\n"
MAX_BYTES = 8192
_HEX32 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_COUNTRY = re.compile(r"[A-Z]{2}")


class StatementError(AryzError):
    code = "key_statement"
    message = "The coalition's key statement is not valid."


@dataclass(frozen=True)
class KeyStatement:
    coalition: str
    countries: tuple[str, ...]
    fallback: bool
    serial: int
    keys: tuple[tuple[int, bytes], ...]  # (epoch, X25519 public key), by epoch
    # The duty keys (urgent lane): (epoch, X25519 public key, Ed25519 verify key), by epoch.
    duty: tuple[tuple[int, bytes, bytes], ...] = ()

    @property
    def recipients(self) -> list[bytes]:
        return [public for _epoch, public in self.keys]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "coalition": self.coalition,
            "countries": sorted(self.countries),
            "fallback": self.fallback,
            "serial": self.serial,
            "keys": [{"epoch": e, "public_key": k.hex()} for e, k in self.keys],
        }
        if self.duty:
            body["duty"] = [
                {"epoch": e, "public_key": k.hex(), "verify_key": v.hex()} for e, k, v in self.duty
            ]
        return body


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def make_statement(statement: KeyStatement, signing_seed: bytes) -> str:
    """Sign ``statement`` (on the desk); returns the compact JSON the registry carries."""
    body = _checked(statement).body()
    signature = sign(signing_seed, DOMAIN + _canonical(body))
    return json.dumps({"body": body, "signature": signature.hex()}, sort_keys=True)


def _checked(statement: KeyStatement) -> KeyStatement:
    epochs = [e for e, _k in statement.keys]
    if (
        not _ID.fullmatch(statement.coalition)
        or not 0 < len(statement.keys) <= 8
        or epochs != sorted(set(epochs))
        or any(e < 1 or len(k) != 32 for e, k in statement.keys)
        or statement.serial < 1
        or not all(_COUNTRY.fullmatch(c) for c in statement.countries)
        or len(set(statement.countries)) != len(statement.countries)
        or len(statement.duty) > 8
        or [e for e, _k, _v in statement.duty] != sorted({e for e, _k, _v in statement.duty})
        or any(e < 1 or len(k) != 32 or len(v) != 32 for e, k, v in statement.duty)
    ):
        raise StatementError()
    return statement


def parse_statement(document: object, verify_key: bytes) -> KeyStatement:
    """Check a statement (JSON text or its parsed object) with the coalition's key."""
    try:
        if isinstance(document, str):
            if len(document) > MAX_BYTES:
                raise StatementError()
            document = json.loads(document)
        if not isinstance(document, dict) or set(document) != {"body", "signature"}:
            raise StatementError()
        body, signature = document["body"], bytes.fromhex(str(document["signature"]))
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise StatementError()
        if body.get("version") != VERSION:
            raise StatementError()
        keys = []
        for k in body["keys"]:
            if not _HEX32.fullmatch(str(k["public_key"])) or type(k["epoch"]) is not int:
                raise StatementError()
            keys.append((k["epoch"], bytes.fromhex(k["public_key"])))
        duty = []
        for d in body.get("duty", ()):
            if not _HEX32.fullmatch(str(d["public_key"])) or type(d["epoch"]) is not int:
                raise StatementError()
            if not _HEX32.fullmatch(str(d["verify_key"])):
                raise StatementError()
            duty.append(
                (d["epoch"], bytes.fromhex(d["public_key"]), bytes.fromhex(d["verify_key"]))
            )
        if type(body["serial"]) is not int or type(body["fallback"]) is not bool:
            raise StatementError()
        statement = KeyStatement(
            coalition=str(body["coalition"]),
            countries=tuple(str(c) for c in body["countries"]),
            fallback=body["fallback"],
            serial=body["serial"],
            keys=tuple(keys),
            duty=tuple(duty),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StatementError() from None
    if _canonical(_checked(statement).body()) != _canonical(body):
        raise StatementError()  # extra or reordered fields: refuse rather than guess
    try:
        verify(verify_key, DOMAIN + _canonical(body), signature)
    except EnvelopeKeyError:
        raise StatementError("The coalition's key statement is not signed by its key.") from None
    return statement
