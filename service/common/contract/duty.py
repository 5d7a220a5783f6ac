"""The urgent lane: the urgent record and the duty officer's signed acknowledgement.

When the person says someone is held or in danger now and gives the separate urgent
consent, the intake seals a **minimal** record to the coalition's duty key (an online
X25519 key held by its duty officer on the courier machine), next to the full case, which
goes to the air-gapped desk as before. The record holds only :data:`FIELDS`; nothing else
of the report can be put in it (:func:`urgent_plaintext` refuses any other key).

Urgent record plaintext (sealed with envelope v1/v3 to the duty public key, padded)::

    {"format": "aryz-urgent", "version": 1, "coalition": id, "ref": hex (16 bytes),
     "key": hex (the case's reply public key), "week": "2026-W49",
     "answers": {subset of FIELDS}}

``ref`` and ``key`` are inside the seal, so a server cannot move a record to another case:
the officer signs the acknowledgement over the values it opened, and the server applies it
only to the case whose reply key and urgent ref they are.

Acknowledgement (the duty officer's Ed25519 duty signing key, over
``b"aryz-duty-ack-v1\\n" + canonical JSON(body)``)::

    {"format": "aryz-duty-ack", "version": 1, "coalition": id, "urgent": ref hex,
     "key": reply key hex, "epoch": duty key epoch, "seq": n (grows per record),
     "status": one of ACK_STATUSES, "week": ISO week seen, "answer_by": ISO week or null}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.common.crypto.keys import sign, verify
from service.common.errors import AryzError, EnvelopeKeyError
from service.common.questionnaire.istanbul import DETENTION
from service.common.questionnaire.regions import REGIONS

RECORD_FORMAT = "aryz-urgent"
ACK_FORMAT = "aryz-duty-ack"
VERSION = 1
ACK_DOMAIN = b"aryz-duty-ack-v1\n"
MAX_RECORD_BYTES = 16 * 1024
MAX_ACK_BYTES = 4096

# The only answers an urgent record may hold (issue 17: place, since when, what is
# needed, how to be reached if agreed). Adding one is a change of this contract.
FIELDS = ("country", "region", "place_type", "place", "since", "needs", "contact")
# What the duty officer can arrange at once.
NEEDS = ("lawyer", "doctor", "family")
# The codes of the questionnaire's "what kind of place" (detention.type), so the desk
# and the duty officer read the same words.
PLACE_CHOICES = next(q.choices for q in DETENTION.questions if q.id == "type")
PLACE_TYPES = tuple(c.value for c in PLACE_CHOICES if c.value != "unknown")
TEXT_LIMITS = {"place": 300, "since": 100, "contact": 300}
ACK_STATUSES = ("seen", "lawyer_told", "doctor_told", "family_told")

_HEX16 = re.compile(r"[0-9a-f]{32}")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_WEEK = re.compile(r"[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])")


class UrgentError(AryzError):
    code = "urgent"
    message = "The urgent record is not valid."
    http_status = 400


class DutyAckError(AryzError):
    code = "duty_ack"
    message = "The duty officer's acknowledgement is not valid."
    http_status = 400


def canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def is_week(value: object) -> bool:
    return isinstance(value, str) and _WEEK.fullmatch(value) is not None


def clean_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The urgent answers, checked: only :data:`FIELDS`, each of its own kind.

    Raises :class:`UrgentError` for any other key or a value out of its list, so no answer
    from elsewhere in the report can reach the duty key, even by a programming mistake.
    Empty values are dropped.
    """
    extra = set(answers) - set(FIELDS)
    if extra:
        raise UrgentError("An urgent record may hold only its own few answers.")
    out: dict[str, Any] = {}
    country = answers.get("country") or ""
    if country:
        if country not in REGIONS:
            raise UrgentError()
        out["country"] = country
    region = answers.get("region") or ""
    if region:
        if region not in {code for code, _ in REGIONS.get(country, ())}:
            raise UrgentError()
        out["region"] = region
    place_type = answers.get("place_type") or ""
    if place_type:
        if place_type not in PLACE_TYPES:
            raise UrgentError()
        out["place_type"] = place_type
    needs = answers.get("needs") or []
    if needs:
        if not isinstance(needs, list | tuple) or not set(needs) <= set(NEEDS):
            raise UrgentError()
        out["needs"] = [n for n in NEEDS if n in needs]
    for name, limit in TEXT_LIMITS.items():
        value = answers.get(name) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise UrgentError()
        if value.strip():
            out[name] = value.strip()
    return out


@dataclass(frozen=True)
class UrgentRecord:
    coalition: str
    ref: bytes  # 16 random bytes, the server's name for the record
    reply_key: bytes  # the case's reply public key: what the acknowledgement binds to
    week: str
    answers: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "version": VERSION,
            "coalition": self.coalition,
            "ref": self.ref.hex(),
            "key": self.reply_key.hex(),
            "week": self.week,
            "answers": clean_answers(self.answers),
        }


def urgent_plaintext(record: UrgentRecord) -> bytes:
    """What is sealed to the duty key."""
    if not _ID.fullmatch(record.coalition) or len(record.ref) != 16 or len(record.reply_key) != 32:
        raise UrgentError()
    data = canonical(record.body())
    if len(data) > MAX_RECORD_BYTES:
        raise UrgentError()
    return data


def read_urgent(plaintext: bytes) -> UrgentRecord:
    """An opened urgent record, checked as strictly as it was written."""
    try:
        if len(plaintext) > MAX_RECORD_BYTES:
            raise ValueError
        body = json.loads(plaintext.decode("utf-8"))
        if body.get("format") != RECORD_FORMAT or body.get("version") != VERSION:
            raise ValueError
        if not _HEX16.fullmatch(str(body["ref"])) or not _HEX32.fullmatch(str(body["key"])):
            raise ValueError
        if not is_week(body["week"]) or not isinstance(body["answers"], dict):
            raise ValueError
        record = UrgentRecord(
            coalition=str(body["coalition"]),
            ref=bytes.fromhex(body["ref"]),
            reply_key=bytes.fromhex(body["key"]),
            week=body["week"],
            answers=clean_answers(body["answers"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise UrgentError() from None
    if canonical(record.body()) != canonical(body):
        raise UrgentError()  # extra fields or values not as written: refuse
    return record


@dataclass(frozen=True)
class DutyAck:
    coalition: str
    urgent: bytes  # the record's ref
    reply_key: bytes
    epoch: int
    seq: int
    status: str
    week: str
    answer_by: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "format": ACK_FORMAT,
            "version": VERSION,
            "coalition": self.coalition,
            "urgent": self.urgent.hex(),
            "key": self.reply_key.hex(),
            "epoch": self.epoch,
            "seq": self.seq,
            "status": self.status,
            "week": self.week,
            "answer_by": self.answer_by,
        }


def _checked(ack: DutyAck) -> DutyAck:
    if (
        not _ID.fullmatch(ack.coalition)
        or len(ack.urgent) != 16
        or len(ack.reply_key) != 32
        or type(ack.epoch) is not int
        or ack.epoch < 1
        or type(ack.seq) is not int
        or not 1 <= ack.seq < 2**31
        or ack.status not in ACK_STATUSES
        or not is_week(ack.week)
        or (ack.answer_by is not None and not is_week(ack.answer_by))
    ):
        raise DutyAckError()
    return ack


def ack_message(ack: DutyAck) -> bytes:
    return ACK_DOMAIN + canonical(_checked(ack).body())


def sign_ack(ack: DutyAck, duty_signing_seed: bytes) -> str:
    """The acknowledgement as the duty officer sends it: ``{"body", "signature"}`` JSON."""
    signature = sign(duty_signing_seed, ack_message(ack))
    return json.dumps({"body": ack.body(), "signature": signature.hex()}, sort_keys=True)


def parse_ack(document: bytes | str) -> tuple[DutyAck, bytes]:
    """The acknowledgement and its signature, well formed (the signature is not checked
    here: :func:`ack_is_signed` does it with the duty key of ``ack.epoch``)."""
    try:
        if len(document) > MAX_ACK_BYTES:
            raise ValueError
        data = json.loads(document)
        if not isinstance(data, dict) or set(data) != {"body", "signature"}:
            raise ValueError
        body, signature = data["body"], bytes.fromhex(str(data["signature"]))
        if body.get("format") != ACK_FORMAT or body.get("version") != VERSION:
            raise ValueError
        if not _HEX16.fullmatch(str(body["urgent"])) or not _HEX32.fullmatch(str(body["key"])):
            raise ValueError
        ack = _checked(
            DutyAck(
                coalition=str(body["coalition"]),
                urgent=bytes.fromhex(body["urgent"]),
                reply_key=bytes.fromhex(body["key"]),
                epoch=body["epoch"],
                seq=body["seq"],
                status=str(body["status"]),
                week=body["week"],
                answer_by=body["answer_by"],
            )
        )
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise DutyAckError() from None
    if canonical(ack.body()) != canonical(body) or len(signature) != 64:
        raise DutyAckError()
    return ack, signature


def ack_is_signed(ack: DutyAck, signature: bytes, duty_verify_key: bytes) -> bool:
    try:
        verify(duty_verify_key, ack_message(ack), signature)
    except (EnvelopeKeyError, DutyAckError):
        return False
    return True
