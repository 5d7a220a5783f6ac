"""Bundles built the way the server builds them, without a server.

Items are sealed with ``service.common.crypto.envelope.seal`` to the desk's public keys, with the
payload prefixes the intake writes (answers, file, message); the bundle is
``head_bytes(Manifest(...))`` followed by the envelopes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field

from service.common.contract.bundle import BundleCase, BundleItem, Manifest, head_bytes
from service.common.crypto.envelope import seal
from service.common.crypto.keys import BoxKeyPair, generate_box_keypair
from service.common.crypto.payload import encode_payload_prefix
from service.common.questionnaire.basic import BASIC
from service.desk.casework.desk import Desk

COALITION = "kz-coalition"
# Seven words from the desk's own list: what staff are told to use.
PASSPHRASE = "orchard lantern walrus pebble violin harbor quilt"  # noqa: S105 - a test value


@dataclass
class FakeCase:
    """A case as the server knows it: a reference, a reply key pair, a status."""

    ref: str = field(default_factory=lambda: secrets.token_hex(16))
    reply: BoxKeyPair = field(default_factory=generate_box_keypair)
    status: str = "received"
    status_seq: int = 0

    @property
    def public_hex(self) -> str:
        return self.reply.public.hex()


def answers_plaintext(
    case: FakeCase,
    answers: dict[str, str],
    *,
    language: str = "ru",
    country: str | None = "KZ",
    week: str = "2026-W47",
    case_key: str | None = "",
) -> bytes:
    """Like service.common.questionnaire.payload.answers_plaintext, with a chosen week."""
    meta: dict[str, object] = {
        "type": "answers",
        "created": week,
        "questionnaire": BASIC.reference(),
    }
    _claim(meta, case, case_key)
    body = {"language": language, "country": country, "coalition": COALITION, "answers": answers}
    return encode_payload_prefix(meta) + json.dumps(body, ensure_ascii=False).encode("utf-8")


def file_plaintext(
    case: FakeCase, name: str, data: bytes, *, media_type: str = "image/jpeg"
) -> bytes:
    meta: dict[str, object] = {
        "type": "file",
        "name": name,
        "media_type": media_type,
        "created": "2026-W47",
    }
    _claim(meta, case, "")
    return encode_payload_prefix(meta) + data


def message_plaintext(case: FakeCase, text: str, *, week: str = "2026-W48") -> bytes:
    meta: dict[str, object] = {
        "type": "message",
        "created": week,
        "media_type": "text/plain; charset=utf-8",
    }
    _claim(meta, case, "")
    return encode_payload_prefix(meta) + text.encode("utf-8")


def _claim(meta: dict[str, object], case: FakeCase, case_key: str | None) -> None:
    # "" means "the case's own key" (what an honest server writes); None leaves it out.
    if case_key is not None:
        meta["case_public_key"] = case_key or case.public_hex


@dataclass
class Sealed:
    case: FakeCase
    ref: str
    envelope: bytes


def sealed(case: FakeCase, plaintext: bytes, recipients: list[bytes]) -> Sealed:
    return Sealed(case, secrets.token_hex(16), seal(plaintext, recipients))


def bundle_bytes(
    items: list[Sealed],
    *,
    coalition: str = COALITION,
    cases: list[FakeCase] | None = None,
) -> bytes:
    """A bundle listing ``items`` (and their cases, or ``cases`` if given)."""
    listed: dict[str, FakeCase] = {}
    for case in cases if cases is not None else [i.case for i in items]:
        listed.setdefault(case.ref, case)
    manifest = Manifest(
        coalition=coalition,
        bundle=secrets.token_hex(16),
        created="2026-W48",
        cases=tuple(
            BundleCase(c.ref, c.public_hex, c.status, c.status_seq) for c in listed.values()
        ),
        items=tuple(
            BundleItem(i.ref, i.case.ref, len(i.envelope), hashlib.sha256(i.envelope).hexdigest())
            for i in items
        ),
    )
    return head_bytes(manifest) + b"".join(i.envelope for i in items)


def recipients(desk: Desk) -> list[bytes]:
    """The desk's current public key, as the registry lists it for sealing."""
    return [desk.public.epochs[-1][1]]
