"""Apply a coalition's signed outbox: all of it in one transaction, or none of it.

SECURITY.md guarantee 5: every record is signed with the coalition's Ed25519 key
(``service.common.contract.outbox.decode`` checks each signature), and each case's records must
continue exactly from the last sequence number applied to it — one more each time, in
order. A replay, a gap, a reordering, a record for another coalition's case, or an
acknowledgement of an item outside its case refuses the whole outbox; nothing changes.

Item 7: an ``ack`` record means a desk backup holds those items, so their ciphertext is
deleted here and then; the items stay as rows so the submitter's count does not drop.
An ``imported`` record only notes the week the desk imported them: they stay, sealed,
until an ``ack`` or the end of the retention window (``service.server.courier.retention``).

A ``transfer`` record passes the case to another coalition the server serves: the items
re-sealed on the desk to that coalition's current keys replace the case's items (which
must be exactly the ones it names; uploads still in progress, sealed to the source, are
dropped), the case's coalition changes, its status starts again at "received" under the
new coalition, and the source's signature of the transfer is kept for the status page.
From then on the source's records for the case are refused like any foreign case's, and
the case's items go to the new coalition's bundles.

An outbox identical to one already applied (same SHA-256) is answered "already applied"
without change: the courier retrying after a lost response must not be told it failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.common.clock import current_week
from service.common.contract.outbox import OutboxError, Record, decode
from service.common.contract.vocabulary import INITIAL_STATUS
from service.common.crypto.envelope import check_framing, parse_header
from service.common.crypto.keys import key_id
from service.common.errors import EnvelopeError
from service.server.cases.logic import check_sealed_for, new_item
from service.server.courier.errors import (
    OutboxCaseError,
    OutboxCoalitionError,
    OutboxItemError,
    OutboxReplyError,
    OutboxSequenceError,
    OutboxTransferItemsError,
    OutboxTransferSealError,
    OutboxTransferTargetError,
)
from service.server.courier.retention import expire_imported, mark_imported
from service.server.deps import Runtime
from service.server.models import (
    ACKNOWLEDGED,
    COMPLETE,
    AppliedOutbox,
    Bundle,
    BundleItem,
    Case,
    Item,
    Reply,
)
from service.server.registry.logic import CoalitionEntry
from service.server.storage.db import transaction
from service.server.storage.items import delete_pieces, store_whole

# Keeps every IN (...) list far below SQLite's and PostgreSQL's bound-parameter limits.
_BATCH = 500
_T = TypeVar("_T")


@dataclass(frozen=True)
class Applied:
    applied: bool
    already: bool
    records: int


def apply_outbox(runtime: Runtime, coalition: CoalitionEntry, data: bytes) -> Applied:
    """Verify and apply ``data`` for the courier's ``coalition``."""
    keys = {c.id: c.signing_key for c in runtime.registry.coalitions}
    try:
        outbox = decode(data, keys)
    except RecursionError:
        # JSON nested deeper than Python's parser or the record reader can follow: a
        # refusal like any other malformed outbox, never a 500 (attack F5).
        raise OutboxError() from None
    if outbox.coalition != coalition.id:
        # Signed by another coalition (and verified with its key): still not this
        # courier's to deliver.
        raise OutboxCoalitionError()
    digest = bytes.fromhex(outbox.digest)
    with transaction(runtime.sessions) as session:
        cases = _lock_cases(session, coalition.id, outbox.records)
        # Checked after the cases are locked: a second, concurrent push of the same
        # outbox waits for the first and then sees it applied.
        if session.get(AppliedOutbox, digest) is not None:
            return Applied(applied=False, already=True, records=0)
        acknowledged: list[int] = []
        passed: set[bytes] = set()
        for record in outbox.records:
            case = cases.get(bytes.fromhex(record.case))
            if case is None or case.ref in passed:
                # A record after the case's transfer: it is no longer this coalition's.
                raise OutboxCaseError()
            if record.seq != case.status_seq + 1:
                raise OutboxSequenceError()
            case.status_seq = record.seq
            if record.key is not None and bytes.fromhex(record.key) != case.reply_public_key:
                # Signed for another case's family: never apply it to this one.
                raise OutboxCaseError()
            if record.type == "status":
                case.status = str(record.status)
                case.status_signed_seq = record.seq
                case.status_signature = record.signature
                case.status_keyed = record.key is not None
                case.status_answer_by = record.answer_by
            elif record.type == "reply":
                session.add(_reply(case, record))
            elif record.type == "imported":
                mark_imported(session, case, record.items)
            elif record.type == "transfer":
                acknowledged += _transfer(session, runtime, case, record)
                passed.add(case.ref)
            else:
                acknowledged += _acknowledge(session, case, record.items)
        _forget_bundles(session, acknowledged)
        session.add(AppliedOutbox(digest=digest, coalition_id=coalition.id))
        expire_imported(session, runtime.settings.keep_imported_weeks)
    return Applied(applied=True, already=False, records=len(outbox.records))


def _lock_cases(
    session: Session, coalition_id: str, records: Iterable[Record]
) -> dict[bytes, Case]:
    """The named cases of this coalition, by ref, locked for this transaction.

    A case of another coalition is simply not found, so the error does not tell the
    courier that it exists. Row locks (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers) keep two concurrent outboxes from both applying seq N+1.
    """
    refs = sorted({bytes.fromhex(r.case) for r in records})
    found: dict[bytes, Case] = {}
    for batch in _batches(refs):
        for case in session.scalars(
            select(Case)
            .where(Case.ref.in_(batch), Case.coalition_id == coalition_id)
            .order_by(Case.id)
            .with_for_update()
        ):
            found[case.ref] = case
    return found


def _reply(case: Case, record: Record) -> Reply:
    """Check a reply is sealed to its case's reply key only, so its family can open it."""
    sealed = record.reply or b""
    try:
        header, header_len = parse_header(sealed)
        check_framing(len(sealed), header_len)
    except EnvelopeError:
        raise OutboxReplyError() from None
    if [kid for kid, _ in header.recipients] != [key_id(case.reply_public_key)]:
        raise OutboxReplyError()
    return Reply(
        case_id=case.id,
        seq=record.seq,
        data=sealed,
        signature=record.signature,
        keyed=record.key is not None,
        created_week=current_week(),
    )


def _transfer(session: Session, runtime: Runtime, case: Case, record: Record) -> list[int]:
    """Pass ``case`` to ``record.to``: its items replaced by the re-sealed ones.

    Returns the ids of the items whose bundles must be forgotten (as for an ``ack``)."""
    target = runtime.registry.get(str(record.to))
    if target is None or target.id == case.coalition_id:
        raise OutboxTransferTargetError()
    for envelope in record.envelopes:
        # The server cannot open them, but it can refuse what the receiving desk could
        # never open: an item sealed to a stale or foreign key.
        try:
            check_framing(len(envelope), check_sealed_for(target, envelope))
        except EnvelopeError:
            raise OutboxTransferSealError() from None
    rows = session.execute(select(Item.id, Item.ref, Item.state).where(Item.case_id == case.id))
    held: dict[bytes, int] = {}
    dropped: list[int] = []
    for item_id, ref, state in rows:
        if state in (COMPLETE, ACKNOWLEDGED):
            held[ref] = item_id
        else:
            dropped.append(item_id)  # an upload in progress, sealed to the source
    if {bytes.fromhex(r) for r in record.replaces} != set(held):
        # An item reached the server after the desk's last import: the desk must re-seal
        # it too, or the new coalition would never read it.
        raise OutboxTransferItemsError()
    old = [*held.values(), *dropped]
    _forget_bundles(session, old)
    for batch in _batches(old):
        delete_pieces(session, batch)
        session.execute(delete(Item).where(Item.id.in_(batch)))
    # Replies signed before the transfer keep their signer, so the status page still
    # checks them with the source's key.
    session.execute(
        update(Reply)
        .where(Reply.case_id == case.id, Reply.coalition_id.is_(None))
        .values(coalition_id=case.coalition_id)
    )
    for envelope in record.envelopes:
        item = new_item(session, case.id)
        session.flush()
        store_whole(session, item, envelope)
    case.transfer_from = case.coalition_id
    case.transfer_seq = record.seq
    case.transfer_signature = record.signature
    case.transfer_content = bytes.fromhex(str(record.content))
    case.coalition_id = target.id
    # The new coalition has not looked at it yet: what the server itself knows.
    case.status = INITIAL_STATUS
    case.status_signed_seq = None
    case.status_signature = None
    case.status_keyed = None
    case.status_answer_by = None
    return old


def _acknowledge(session: Session, case: Case, item_refs: tuple[str, ...]) -> list[int]:
    """Mark the case's received items acknowledged and delete their ciphertext."""
    refs = sorted({bytes.fromhex(r) for r in item_refs})
    rows: list[tuple[int, int, str]] = []
    for ref_batch in _batches(refs):
        rows += [
            (item_id, case_id, state)
            for item_id, case_id, state in session.execute(
                select(Item.id, Item.case_id, Item.state).where(Item.ref.in_(ref_batch))
            )
        ]
    # Every item must exist, be in this very case, and have been complete (a pending
    # item was never in a bundle). Acknowledging an item twice changes nothing.
    if len(rows) != len(refs) or any(
        case_id != case.id or state not in (COMPLETE, ACKNOWLEDGED) for _, case_id, state in rows
    ):
        raise OutboxItemError()
    ids = [item_id for item_id, _, state in rows if state == COMPLETE]
    for batch in _batches(ids):
        session.execute(update(Item).where(Item.id.in_(batch)).values(state=ACKNOWLEDGED))
        delete_pieces(session, batch)
    return ids


def _forget_bundles(session: Session, item_ids: list[int]) -> None:
    """Bundles holding an acknowledged item can no longer be served; drop them now."""
    for batch in _batches(item_ids):
        holding = select(BundleItem.bundle_id).where(BundleItem.item_id.in_(batch))
        session.execute(delete(Bundle).where(Bundle.id.in_(holding)))


def _batches(values: list[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]
