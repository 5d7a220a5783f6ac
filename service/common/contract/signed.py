"""Check the desk's signature on a status or reply, end to end (audit F-08).

The desk signs every status change and reply as an outbox record
(``service.common.contract.outbox``); the server keeps each record's signature next to what it
applied, and serves both. From the stored columns this module rebuilds the exact signed
body and checks it with the coalition's Ed25519 key. Pure: the status page uses it with
the registry's key, ``aryz status`` with the key the person pinned.

A record that names the case's reply key (``key``) is bound to the family: only then can
``aryz status``, which knows its own reply key but not the server's case ref, tell that a
signed record is for its case and not another one the server copied over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.common.contract.outbox import Record, signed_bytes
from service.common.crypto.keys import verify
from service.common.errors import EnvelopeKeyError


@dataclass(frozen=True)
class Signed:
    """What the server stored of one signed record: sequence, signature, keyed or not."""

    seq: int
    signature: bytes
    keyed: bool
    answer_by: str | None = None  # a status record's "answer expected by" week, if set


def status_record(
    coalition: str, case_ref: bytes, status: str, signed: Signed, reply_key: bytes
) -> Record:
    return Record(
        type="status",
        coalition=coalition,
        case=case_ref.hex(),
        seq=signed.seq,
        status=status,
        key=reply_key.hex() if signed.keyed else None,
        answer_by=signed.answer_by,
    )


def reply_record(
    coalition: str, case_ref: bytes, sealed: bytes, signed: Signed, reply_key: bytes
) -> Record:
    return Record(
        type="reply",
        coalition=coalition,
        case=case_ref.hex(),
        seq=signed.seq,
        reply=sealed,
        key=reply_key.hex() if signed.keyed else None,
    )


def transfer_record(
    coalition: str, case_ref: bytes, to: str, content: bytes, signed: Signed, reply_key: bytes
) -> Record:
    """The signed body of the transfer that passed a case from ``coalition`` to ``to``
    (the items that rode beside it are bound by ``content``, not needed here)."""
    return Record(
        type="transfer",
        coalition=coalition,
        case=case_ref.hex(),
        seq=signed.seq,
        key=reply_key.hex(),
        to=to,
        content=content.hex(),
    )


def is_signed(record: Record, signature: bytes, verify_key: bytes) -> bool:
    """True when ``signature`` is the coalition's signature of ``record``."""
    try:
        verify(verify_key, signed_bytes(record.body()), signature)
    except EnvelopeKeyError:
        return False
    return True


def is_signed_by_any(record: Record, signature: bytes, verify_keys: Sequence[bytes]) -> bool:
    """True when one of ``verify_keys`` signed ``record``: the coalition's current signing
    key and those it rotated away from, so a reply or status signed before a rotation
    (a stolen desk, ``aryz desk rotate --signing``) still shows as the coalition's."""
    return any(is_signed(record, signature, key) for key in verify_keys)
