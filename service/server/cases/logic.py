"""Create cases, find them by token-derived key, add items. Logic never commits.

Every function takes the caller's session; the request's session dependency (or
``service.server.storage.db.transaction``) commits. Nothing here sees plaintext: items arrive
sealed, and a case is found by a keyed derivation of its token, never the token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.common.clock import current_week
from service.common.contract.signed import (
    Signed,
    is_signed_by_any,
    reply_record,
    status_record,
    transfer_record,
)
from service.common.contract.vocabulary import INITIAL_STATUS, parse_kdf_id
from service.common.crypto.envelope import check_framing, parse_header
from service.common.crypto.token import KdfLimits, stored_lookup_key
from service.common.errors import EnvelopeFormatError, NotFoundError, UploadError
from service.server.models import ACKNOWLEDGED, PENDING, RECEIVED_STATES, Case, Item, Reply
from service.server.registry.logic import CoalitionEntry
from service.server.storage.items import store_whole


@dataclass(frozen=True)
class CaseView:
    """What the submitter may learn about their own case.

    ``replies`` are still sealed (to the case's reply key): the token holder opens them,
    in memory on the status page or on their own machine with ``aryz status``.
    """

    status: str
    items_received: int  # complete or already taken by the organisation
    items_collected: int = 0  # of those, taken: the desk acknowledged the import
    replies: tuple[bytes, ...] = ()  # oldest first
    # The desk's signatures (service/common/contract/signed.py): of the record that set ``status``
    # (None for the server's own "received"), and of each reply's record, in order.
    status_signed: Signed | None = None
    # The week the desk's signed status record promised an answer by (only when signed).
    answer_by: str | None = None
    replies_signed: tuple[Signed | None, ...] = ()
    # Per reply: the coalition that signed it when that is not the case's own (a reply
    # given before the case was passed on); None: the case's coalition.
    replies_by: tuple[str | None, ...] = ()
    # The case was passed here from this coalition (its signed transfer record), or None.
    transferred_from: str | None = None
    transfer_signed: Signed | None = None


# The signing keys of a coalition (current first, then those it rotated away from).
KeysFor = Callable[[str], Sequence[bytes]]


def lookup_key(lookup_id: bytes, pepper: bytes) -> bytes:
    return stored_lookup_key(lookup_id, pepper)


def find_case(session: Session, key: bytes) -> Case | None:
    return session.scalar(select(Case).where(Case.lookup_key == key))


def older_kdfs(session: Session, current: str) -> list[KdfLimits]:
    """The token-KDF parameters of cases made before the current ones, oldest name
    first. A lookup derives with each of them for every token, found or not, so the work
    depends on this list (the same for everyone), never on the token."""
    recorded = session.scalars(select(Case.kdf).where(Case.kdf != current).distinct())
    older = []
    for value in sorted(recorded):
        try:
            older.append(KdfLimits(*parse_kdf_id(value)))
        except ValueError:
            continue  # a name this version cannot re-derive (a later algorithm)
    return older


def get_case(session: Session, key: bytes) -> Case:
    case = find_case(session, key)
    if case is None:
        raise NotFoundError()
    return case


def get_case_by_ref(session: Session, ref: bytes) -> Case:
    """The case an upload grant names (only the server can make one, see crypto/grants)."""
    case = session.scalar(select(Case).where(Case.ref == ref))
    if case is None:
        raise NotFoundError()
    return case


def check_sealed_for(coalition: CoalitionEntry, ciphertext_head: bytes) -> int:
    """Check an envelope header names exactly the coalition's current keys.

    The server cannot decrypt, but it can refuse an item a client sealed to a stale or
    foreign key, which the coalition could never open. Returns the header length.
    """
    header, length = parse_header(ciphertext_head)
    wanted = sorted(k.key_id for k in coalition.current_keys)
    if sorted(kid for kid, _ in header.recipients) != wanted:
        raise EnvelopeFormatError("The item is not sealed to this coalition's current keys.")
    return length


def create_case(
    session: Session,
    *,
    coalition: CoalitionEntry,
    key: bytes,
    kdf: str,
    reply_public_key: bytes,
    answers: bytes,
) -> tuple[Case, bool]:
    """Create a case holding its first sealed item (the answers).

    Idempotent per token: a retried submission (a refreshed page, a client retrying after a
    dropped circuit) finds the case it already made and returns ``(case, False)``.
    """
    existing = find_case(session, key)
    if existing is not None:
        if existing.coalition_id != coalition.id:
            raise UploadError()
        return existing, False
    header_len = check_sealed_for(coalition, answers)
    check_framing(len(answers), header_len)
    week = current_week()
    case = Case(
        ref=secrets.token_bytes(16),
        coalition_id=coalition.id,
        lookup_key=key,
        kdf=kdf,
        reply_public_key=reply_public_key,
        status=INITIAL_STATUS,
        status_seq=0,
        created_week=week,
        activity_week=week,
    )
    session.add(case)
    session.flush()
    item = new_item(session, case.id)
    session.flush()
    store_whole(session, item, answers)
    return case, True


def new_item(
    session: Session,
    case_id: int,
    *,
    expected_size: int | None = None,
    upload_key: bytes | None = None,
) -> Item:
    """A pending item in case ``case_id``; it becomes visible only once complete."""
    item = Item(
        ref=secrets.token_bytes(16),
        case_id=case_id,
        state=PENDING,
        size=0,
        next_seq=0,
        expected_size=expected_size,
        upload_key=upload_key,
        created_week=current_week(),
    )
    session.add(item)
    session.execute(update(Case).where(Case.id == case_id).values(activity_week=current_week()))
    return item


def add_whole_item(session: Session, case: Case, coalition: CoalitionEntry, sealed: bytes) -> Item:
    """Add a small sealed item (a follow-up message) in the caller's transaction."""
    header_len = check_sealed_for(coalition, sealed)
    check_framing(len(sealed), header_len)
    item = new_item(session, case.id)
    session.flush()
    store_whole(session, item, sealed)
    return item


def upload_key_hash(capability: bytes) -> bytes:
    """Resumable uploads are addressed by a random capability; only its hash is stored."""
    return hashlib.blake2b(capability, digest_size=32, person=b"aryz-upload-v1").digest()


def view(session: Session, case: Case, signing_keys: KeysFor | None = None) -> CaseView:
    """The case as its family may see it.

    With ``signing_keys`` (the status page: for a coalition id, its current signing key
    and those it rotated away from), only what carries the coalition's valid signature is
    shown: a reply the desk did not sign is left out, and a status it did not sign reads as
    "received", which is all the server itself knows. A restored or edited database
    cannot put words in the coalition's mouth on the page (audit F-08). A reply given
    before the case was passed on is checked with the key of the coalition that gave it,
    and the transfer itself ("passed to …") with the source's.
    """
    counts = dict(
        session.execute(
            select(Item.state, func.count())
            .where(Item.case_id == case.id, Item.state.in_(RECEIVED_STATES))
            .group_by(Item.state)
        ).all()
    )
    rows = session.execute(
        select(Reply.data, Reply.seq, Reply.signature, Reply.keyed, Reply.coalition_id)
        .where(Reply.case_id == case.id)
        .order_by(Reply.seq)
    ).all()
    status_signed = None
    if case.status_signature is not None and case.status_signed_seq is not None:
        status_signed = Signed(
            case.status_signed_seq,
            case.status_signature,
            bool(case.status_keyed),
            case.status_answer_by,
        )
    replies = [
        (data, Signed(seq, signature, bool(keyed)) if signature is not None else None, by)
        for data, seq, signature, keyed, by in rows
    ]
    transfer_signed = None
    if (
        case.transfer_from is not None
        and case.transfer_seq is not None
        and case.transfer_signature is not None
    ):
        transfer_signed = Signed(case.transfer_seq, case.transfer_signature, True)
    status = case.status
    if signing_keys is not None:
        if status_signed is None or not is_signed_by_any(
            status_record(
                case.coalition_id, case.ref, status, status_signed, case.reply_public_key
            ),
            status_signed.signature,
            signing_keys(case.coalition_id),
        ):
            status, status_signed = INITIAL_STATUS, None
        replies = [
            (data, signed, by)
            for data, signed, by in replies
            if signed is not None
            and is_signed_by_any(
                reply_record(
                    by or case.coalition_id, case.ref, data, signed, case.reply_public_key
                ),
                signed.signature,
                signing_keys(by or case.coalition_id),
            )
        ]
        if transfer_signed is not None and not _transfer_signed(
            case, transfer_signed, signing_keys
        ):
            transfer_signed = None
    return CaseView(
        status=status,
        items_received=int(sum(counts.values())),
        items_collected=int(counts.get(ACKNOWLEDGED, 0)),
        replies=tuple(data for data, _, _ in replies),
        status_signed=status_signed,
        replies_signed=tuple(signed for _, signed, _ in replies),
        replies_by=tuple(by for _, _, by in replies),
        answer_by=status_signed.answer_by if status_signed is not None else None,
        transferred_from=case.transfer_from if transfer_signed is not None else None,
        transfer_signed=transfer_signed,
    )


def _transfer_signed(case: Case, signed: Signed, signing_keys: KeysFor) -> bool:
    source = str(case.transfer_from)
    record = transfer_record(
        source,
        case.ref,
        case.coalition_id,
        case.transfer_content or b"",
        signed,
        case.reply_public_key,
    )
    return is_signed_by_any(record, signed.signature, signing_keys(source))
