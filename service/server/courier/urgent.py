"""The urgent lane on the server: keep urgent records, hand them to the duty officer,
apply the officer's signed acknowledgement (``service.common.contract.duty``).

The server cannot open an urgent record (it is sealed to the duty key) and cannot make an
acknowledgement (it is signed with the duty officer's key): it stores the one, hands it to
the coalition's courier credential, and checks and keeps the other. The record is deleted
as soon as an acknowledgement for it is applied; the acknowledgement stays on the case,
and the status page shows it only when its signature checks with the registry's duty key.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.common.contract.duty import (
    MAX_RECORD_BYTES,
    DutyAck,
    DutyAckError,
    UrgentError,
    ack_is_signed,
    parse_ack,
)
from service.common.crypto.envelope import parse_header, sealed_size
from service.common.crypto.keys import key_id
from service.common.errors import EnvelopeError
from service.server.deps import Runtime
from service.server.models import Case, UrgentRecord
from service.server.registry.logic import CoalitionEntry
from service.server.storage.db import transaction

# The largest record a client can seal: the largest plaintext the contract allows, padded.
MAX_SEALED_RECORD = sealed_size(MAX_RECORD_BYTES, 1, padded=True)
MAX_LISTED = 50  # records per answer; the watch asks again at once when there are more


class DutyAckRefusedError(DutyAckError):
    """Signed by no current duty key of the courier's coalition, or for no case of it."""

    message = "The acknowledgement is not signed by this coalition's duty key or names no case."


class DutyAckStaleError(DutyAckError):
    code = "duty_ack_stale"
    message = "A newer acknowledgement of this urgent record is already applied."
    http_status = 409


@dataclass(frozen=True)
class UrgentView:
    """What the family sees of the urgent lane on the status page."""

    waiting: bool  # sent to the duty officer, not acknowledged yet
    status: str | None = None  # the officer's signed word (contract.duty.ACK_STATUSES)
    week: str | None = None
    answer_by: str | None = None


def new_ref() -> bytes:
    return secrets.token_bytes(16)


def check_client_record(
    coalition: CoalitionEntry, ref: bytes, epoch: int, data: bytes
) -> tuple[bytes, int, bytes]:
    """An urgent record a client sealed (``aryz submit``, the API): refused unless it is
    sealed to exactly the coalition's current duty key of that epoch, so the duty officer
    can open it. The server cannot see inside; the watch checks coalition, ref and reply
    key there. Returns ``(ref, epoch, data)`` for :func:`store_record`."""
    duty = coalition.duty
    if duty is None or duty.epoch != epoch:
        raise UrgentError("This coalition has no duty key of that epoch.")
    if len(data) > MAX_SEALED_RECORD:
        raise UrgentError()
    try:
        header, _length = parse_header(data)
    except EnvelopeError:
        raise UrgentError() from None
    if [kid for kid, _ in header.recipients] != [key_id(duty.public_key)]:
        raise UrgentError("The urgent record is not sealed to this coalition's duty key.")
    return ref, epoch, data


def store_record(
    session: Session, case: Case, coalition: CoalitionEntry, ref: bytes, epoch: int, data: bytes
) -> None:
    """Keep a sealed urgent record for ``case`` (in the transaction that created it)."""
    case.urgent_ref = ref
    session.add(
        UrgentRecord(ref=ref, case_id=case.id, coalition_id=coalition.id, epoch=epoch, data=data)
    )


def waiting(runtime: Runtime, coalition_id: str) -> list[dict[str, object]]:
    """The coalition's urgent records not yet acknowledged, oldest first."""
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(UrgentRecord.ref, UrgentRecord.epoch, UrgentRecord.data)
            .where(UrgentRecord.coalition_id == coalition_id)
            .order_by(UrgentRecord.id)
            .limit(MAX_LISTED)
        ).all()
    return [
        {"ref": ref.hex(), "epoch": epoch, "data": base64.b64encode(data).decode("ascii")}
        for ref, epoch, data in rows
    ]


def apply_ack(runtime: Runtime, coalition: CoalitionEntry, document: bytes) -> bool:
    """Check and apply one acknowledgement; False when this very one was applied before."""
    ack, signature = parse_ack(document)
    verify_key = coalition.duty_verify_key(ack.epoch)
    if (
        ack.coalition != coalition.id
        or verify_key is None
        or not ack_is_signed(ack, signature, verify_key)
    ):
        raise DutyAckRefusedError()
    with transaction(runtime.sessions) as session:
        case = session.scalar(
            select(Case)
            .where(Case.urgent_ref == ack.urgent, Case.coalition_id == coalition.id)
            .with_for_update()
        )
        # The reply key was sealed inside the record the officer opened: an acknowledgement
        # can only land on the case the person filed.
        if case is None or case.reply_public_key != ack.reply_key:
            raise DutyAckRefusedError()
        if case.urgent_seq is not None and ack.seq <= case.urgent_seq:
            if ack.seq == case.urgent_seq and case.urgent_signature == signature:
                return False  # a retry after a lost answer
            raise DutyAckStaleError()
        case.urgent_epoch = ack.epoch
        case.urgent_seq = ack.seq
        case.urgent_status = ack.status
        case.urgent_week = ack.week
        case.urgent_answer_by = ack.answer_by
        case.urgent_signature = signature
        session.execute(delete(UrgentRecord).where(UrgentRecord.ref == ack.urgent))
    return True


def view(session: Session, case: Case, coalition: CoalitionEntry | None) -> UrgentView | None:
    """The urgent lane as the family may see it: the officer's word only when signed."""
    if case.urgent_ref is None:
        return None
    if (
        coalition is not None
        and case.urgent_signature is not None
        and case.urgent_epoch is not None
        and case.urgent_seq is not None
        and case.urgent_status is not None
        and case.urgent_week is not None
    ):
        verify_key = coalition.duty_verify_key(case.urgent_epoch)
        try:
            ack = DutyAck(
                coalition=case.coalition_id,
                urgent=case.urgent_ref,
                reply_key=case.reply_public_key,
                epoch=case.urgent_epoch,
                seq=case.urgent_seq,
                status=case.urgent_status,
                week=case.urgent_week,
                answer_by=case.urgent_answer_by,
            )
            if verify_key is not None and ack_is_signed(ack, case.urgent_signature, verify_key):
                return UrgentView(False, ack.status, ack.week, ack.answer_by)
        except DutyAckError:
            pass
    record = session.scalar(select(UrgentRecord.id).where(UrgentRecord.case_id == case.id))
    # Acknowledged by a key since revoked, or a row someone edited: say only what the
    # server itself knows.
    return UrgentView(waiting=record is not None)
