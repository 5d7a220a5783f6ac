"""Outbox v1: the desk's signed answers, applied by the server all or nothing.

An outbox is JSON: ``{"format": "aryz-outbox", "version": 1, "coalition": id,
"records": [{"body": {...}, "signature": hex}, …]}``. Each record's body is signed with
the coalition's Ed25519 key over ``b"aryz-outbox-v1\\n" + canonical JSON(body)``; the body
names its coalition and case, and carries a per-case sequence number that must be exactly
one more than the last one the server applied for that case. So the server refuses
forged records (signature), replays and reordering (sequence), and records for another
coalition's cases (coalition and key).

Record types:
- ``status``: ``{"status": <workflow state>}``, and optionally ``"answer_by"``: the ISO
  week by which the family can expect an answer (shown on the status page; the key is
  absent when not set, so records made without it sign the same bytes as before)
- ``reply``: ``{"reply": base64 envelope sealed to the case's reply key}``
- ``imported``: ``{"items": [item refs]}`` — the desk imported these; the server keeps
  them (sealed) until an ``ack`` or until its retention window ends.
- ``ack``: ``{"items": [item refs]}`` — a desk backup holds these; the server deletes them.
- ``quarantine``: ``{"items": [item refs]}`` — the desk set these aside (it keeps their
  sealed bytes; they are malformed, altered or over a limit): the server drops them like
  acknowledged items, so they stop coming back in every bundle.
- ``transfer``: ``{"to": coalition id, "key": reply key, "content": 64 hex}`` — the
  desk passes the case to another coalition (EXCHANGE-v1.md §3.1). The case's items,
  re-sealed on the desk to the other coalition's keys, ride *beside* the body in the
  record (``"items"``: the refs they replace, ``"sealed"``: base64 envelopes), and
  ``content`` (:func:`transfer_content`) binds both to the signature, so the server can
  keep the small signed body and check it again later without the items.

A ``status`` or ``reply`` record may also name ``"key"``: the hex reply public key of the
case it is for. The case ref means nothing to the family, the reply key does: with it the
signed record can be checked end to end by ``aryz status`` (``service.common.contract.signed``). The
server keeps each such record's signature next to the status or reply it applied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from service.common.contract.vocabulary import STATUSES
from service.common.crypto.keys import sign, verify
from service.common.errors import AryzError, EnvelopeKeyError

VERSION = 1
DOMAIN = b"aryz-outbox-v1\n"
TYPES = ("status", "reply", "ack", "imported", "quarantine", "transfer")
ITEM_TYPES = ("ack", "imported", "quarantine")  # records that list items
MAX_REPLY_BYTES = 256 * 1024
# The largest outbox the courier API takes. The courier's client checks it too, before
# sending anything over Tor.
MAX_OUTBOX_BYTES = 64 * 1024 * 1024
_HEX32 = re.compile(r"[0-9a-f]{64}")
_WEEK = re.compile(r"[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
TRANSFER_DOMAIN = b"aryz-transfer-v1\n"
# A transfer carries its items in the outbox, base64 (4/3): what fits under the limit with
# room for the rest of the outbox. The desk refuses a larger case before writing anything.
MAX_TRANSFER_BYTES = (MAX_OUTBOX_BYTES // 4) * 3 - (1 << 20)


class OutboxError(AryzError):
    code = "outbox"
    message = "The outbox is not valid."
    http_status = 400


@dataclass(frozen=True)
class Record:
    type: str
    coalition: str
    case: str  # hex case ref
    seq: int
    status: str | None = None
    reply: bytes | None = None
    items: tuple[str, ...] = ()
    key: str | None = None  # hex reply public key of the case (status and reply records)
    answer_by: str | None = None  # status records: ISO week an answer is expected by
    to: str | None = None  # transfer records: the coalition the case passes to
    content: str | None = None  # transfer records: transfer_content() of what rides beside
    # Transfer records: the refs of the items replaced and their re-sealed envelopes. Not
    # in the body: ``content`` stands for them in what is signed.
    replaces: tuple[str, ...] = field(default=(), compare=False, repr=False)
    envelopes: tuple[bytes, ...] = field(default=(), compare=False, repr=False)
    # The desk's signature over ``signed_bytes(body())``, kept by ``decode``.
    signature: bytes = field(default=b"", compare=False, repr=False)

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "coalition": self.coalition,
            "case": self.case,
            "seq": self.seq,
        }
        if self.type == "status":
            data["status"] = self.status
            if self.answer_by is not None:
                data["answer_by"] = self.answer_by
        elif self.type == "reply":
            data["reply"] = base64.b64encode(self.reply or b"").decode("ascii")
        elif self.type == "transfer":
            data["to"] = self.to
            data["content"] = self.content
        else:
            data["items"] = list(self.items)
        if self.key is not None and self.type in ("status", "reply", "transfer"):
            data["key"] = self.key
        return data


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signed_bytes(body: dict[str, Any]) -> bytes:
    return DOMAIN + canonical(body)


def transfer_content(replaces: tuple[str, ...], envelopes: tuple[bytes, ...]) -> str:
    """SHA-256 (hex) over the refs a transfer replaces and its re-sealed envelopes, each
    length-prefixed, so neither list can be changed without breaking the signature."""
    digest = hashlib.sha256(TRANSFER_DOMAIN)
    digest.update(len(replaces).to_bytes(4, "big"))
    for ref in replaces:
        digest.update(bytes.fromhex(ref))
    digest.update(len(envelopes).to_bytes(4, "big"))
    for envelope in envelopes:
        digest.update(len(envelope).to_bytes(8, "big"))
        digest.update(envelope)
    return digest.hexdigest()


def transfer_record(
    coalition: str,
    case: str,
    seq: int,
    to: str,
    key: str,
    replaces: tuple[str, ...],
    envelopes: tuple[bytes, ...],
) -> Record:
    """A transfer record whose ``content`` matches what rides beside it."""
    refs = tuple(sorted(replaces))
    return Record(
        type="transfer",
        coalition=coalition,
        case=case,
        seq=seq,
        key=key,
        to=to,
        content=transfer_content(refs, envelopes),
        replaces=refs,
        envelopes=envelopes,
    )


def _check(record: Record) -> Record:
    if record.type not in TYPES or record.seq < 1 or len(record.case) != 32:
        raise OutboxError()
    if record.type == "status" and record.status not in STATUSES:
        raise OutboxError("The outbox names an unknown status.")
    if record.type == "reply" and not 0 < len(record.reply or b"") <= MAX_REPLY_BYTES:
        raise OutboxError()
    if record.type in ITEM_TYPES and not record.items:
        raise OutboxError()
    if record.key is not None and (record.type == "ack" or not _HEX32.fullmatch(record.key)):
        raise OutboxError()
    if record.answer_by is not None and (
        record.type != "status" or not _WEEK.fullmatch(record.answer_by)
    ):
        raise OutboxError()
    if record.type == "transfer" and (
        record.key is None
        or record.to is None
        or not _ID.fullmatch(record.to)
        or record.to == record.coalition
        or record.content is None
        or not _HEX32.fullmatch(record.content)
    ):
        raise OutboxError()
    if record.type != "transfer" and (record.to is not None or record.content is not None):
        raise OutboxError()
    return record


def record_from_body(body: Any) -> Record:
    try:
        kind = body["type"]
        reply = None
        if kind == "reply":
            reply = base64.b64decode(body["reply"], validate=True)
        record = Record(
            type=kind,
            coalition=str(body["coalition"]),
            case=str(body["case"]),
            seq=int(body["seq"]),
            status=body.get("status") if kind == "status" else None,
            reply=reply,
            items=tuple(str(i) for i in body["items"]) if kind in ITEM_TYPES else (),
            key=str(body["key"]) if "key" in body else None,
            answer_by=str(body["answer_by"]) if kind == "status" and "answer_by" in body else None,
            to=str(body["to"]) if kind == "transfer" else None,
            content=str(body["content"]) if kind == "transfer" else None,
        )
        bytes.fromhex(record.case)
        for item in record.items:
            if len(bytes.fromhex(item)) != 16:
                raise ValueError
    # OverflowError: int() of an infinity, which Python's JSON reader accepts.
    except (KeyError, TypeError, ValueError, OverflowError, binascii.Error):
        raise OutboxError() from None
    if canonical(record.body()) != canonical(body):
        raise OutboxError()  # unknown or extra fields: refuse rather than ignore
    return _check(record)


def encode(coalition: str, records: list[Record], signing_seed: bytes) -> bytes:
    """Sign every record and serialise the outbox (the desk's side)."""
    signed = []
    for record in records:
        body = _check(record).body()
        entry: dict[str, Any] = {
            "body": body,
            "signature": sign(signing_seed, signed_bytes(body)).hex(),
        }
        if record.type == "transfer":
            if transfer_content(record.replaces, record.envelopes) != record.content:
                raise OutboxError()
            entry["items"] = list(record.replaces)
            entry["sealed"] = [base64.b64encode(e).decode("ascii") for e in record.envelopes]
        signed.append(entry)
    document = {
        "format": "aryz-outbox",
        "version": VERSION,
        "coalition": coalition,
        "records": signed,
    }
    return json.dumps(document, sort_keys=True, indent=1).encode()


def _beside(record: Record, entry: Any) -> Record:
    """A transfer record with the items that ride beside its body, checked against its
    signed ``content``; any other record must carry nothing beside its body."""
    if record.type != "transfer":
        if set(entry) != {"body", "signature"}:
            raise OutboxError()
        return record
    try:
        if set(entry) != {"body", "signature", "items", "sealed"}:
            raise ValueError
        replaces = tuple(str(r) for r in entry["items"])
        if any(len(bytes.fromhex(r)) != 16 or r != r.lower() for r in replaces):
            raise ValueError
        envelopes = tuple(base64.b64decode(str(e), validate=True) for e in entry["sealed"])
    except (TypeError, ValueError, binascii.Error):
        raise OutboxError() from None
    if (
        not envelopes
        or list(replaces) != sorted(set(replaces))
        or transfer_content(replaces, envelopes) != record.content
    ):
        raise OutboxError("A transfer in the outbox does not match its signed content.")
    return replace(record, replaces=replaces, envelopes=envelopes)


@dataclass(frozen=True)
class Outbox:
    coalition: str
    records: tuple[Record, ...]
    digest: str  # SHA-256 of the file, to recognise a re-push of the same outbox


def decode(data: bytes, verify_key_for: dict[str, bytes]) -> Outbox:
    """Parse and verify every signature (the server's side). All or nothing."""
    try:
        document = json.loads(data.decode("utf-8"))
        if document.get("format") != "aryz-outbox" or document.get("version") != VERSION:
            raise OutboxError("This outbox's format version is not supported.")
        coalition = str(document["coalition"])
        entries = list(document["records"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise OutboxError() from None
    key = verify_key_for.get(coalition)
    if key is None:
        raise OutboxError("The outbox is for a coalition this server does not know.")
    records = []
    for entry in entries:
        try:
            body, signature = entry["body"], bytes.fromhex(entry["signature"])
        except (KeyError, TypeError, ValueError):
            raise OutboxError() from None
        record = record_from_body(body)
        record = _beside(record, entry)
        if record.coalition != coalition:
            raise OutboxError("The outbox holds a record for another coalition.")
        try:
            verify(key, signed_bytes(body), signature)
        except EnvelopeKeyError:
            raise OutboxError("A signature in the outbox is not valid.") from None
        records.append(replace(record, signature=signature))
    if not records:
        raise OutboxError("The outbox is empty.")
    return Outbox(coalition, tuple(records), hashlib.sha256(data).hexdigest())
