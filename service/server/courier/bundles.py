"""Prepare a coalition's bundle and stream it, resumably.

A bundle holds every complete item of the coalition that its desk has not acknowledged
(items it reported imported included: until a desk backup holds them they are sent again,
so a desk restored from a backup gets them back; see ``service.server.courier.retention``),
oldest first, optionally cut to a prefix that fits ``max_bytes`` (a USB stick). Its head
(manifest) is stored and its items listed in order when it is prepared, so the bytes of
a bundle never change: a courier whose download was cut off over Tor resumes with
``Range: bytes=N-`` and gets exactly the rest. Items are ciphertext the server cannot
read; the manifest carries only references, sizes, SHA-256 digests, and each case's
reply key and status (what the desk needs to answer).

Only the coalition's own courier ever sees its bundles: preparing selects by the
courier's coalition, and fetching another coalition's bundle is "not found".
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.common.clock import current_week
from service.common.contract.bundle import (
    HEAD,
    BundleCase,
    BundleItem,
    Manifest,
    head_bytes,
    parse_manifest,
    total_size,
)
from service.common.errors import NotFoundError
from service.server.courier.errors import BundleChangedError, BundleTooSmallError
from service.server.courier.retention import expire_imported
from service.server.deps import Runtime
from service.server.models import COMPLETE, Bundle, Case, Item
from service.server.models import BundleItem as BundleRow
from service.server.storage.db import transaction
from service.server.storage.items import iter_ciphertext

# Prepared bundles kept per coalition; older ones are deleted when a new one is made.
KEEP_BUNDLES = 3
_PLACEHOLDER_SHA = "0" * 64  # same length as a real digest, for sizing the manifest


@dataclass(frozen=True)
class Prepared:
    """What ``POST /courier/v1/bundles`` answers; ``ref`` is None when nothing is new."""

    ref: bytes | None
    size: int
    items: int


@dataclass(frozen=True)
class _Waiting:
    item_id: int
    entry: BundleItem
    case: BundleCase


@dataclass(frozen=True)
class Download:
    """A prepared bundle ready to stream: its head, then its items in order."""

    head: bytes
    items: tuple[tuple[int, int], ...]  # (item id, size)
    size: int


def prepare(
    runtime: Runtime, coalition_id: str, max_bytes: int | None, sync: bool = False
) -> Prepared:
    """Prepare (or reuse) the bundle of everything waiting for ``coalition_id``.

    ``sync`` (after a desk restore): the manifest also lists every case of the coalition
    that has applied records, with its ``status_seq``, so the restored desk continues each
    case from the server's number; such a bundle is made even with no item waiting.
    """
    with transaction(runtime.sessions) as session:
        expire_imported(session, runtime.settings.keep_imported_weeks)
    with runtime.sessions() as session:
        waiting = _waiting(session, coalition_id)
        extra = _numbered_cases(session, coalition_id) if sync else []
    waiting = _fit(coalition_id, waiting, max_bytes, extra)
    if not waiting and not extra:
        return Prepared(None, 0, 0)
    if not sync:
        same = _reusable(runtime, coalition_id, waiting)
        if same is not None:
            return same
    # Hashing reads every item once; it happens outside any transaction.
    entries = [replace(w.entry, sha256=_sha256(runtime, w.item_id, w.entry.size)) for w in waiting]
    ref = secrets.token_bytes(16)
    manifest = _manifest(coalition_id, ref, waiting, entries, extra)
    head = head_bytes(manifest)
    size = total_size(manifest)
    with transaction(runtime.sessions) as session:
        bundle = Bundle(ref=ref, coalition_id=coalition_id, head=head, size=size)
        session.add(bundle)
        session.flush()
        for position, w in enumerate(waiting):
            session.add(BundleRow(bundle_id=bundle.id, position=position, item_id=w.item_id))
        _forget_old(session, coalition_id)
    return Prepared(ref, size, len(waiting))


def _waiting(session: Session, coalition_id: str) -> list[_Waiting]:
    rows = session.execute(
        select(Item.id, Item.ref, Item.size, Case.ref)
        .add_columns(Case.reply_public_key, Case.status, Case.status_seq)
        .join(Case, Case.id == Item.case_id)
        .where(Case.coalition_id == coalition_id, Item.state == COMPLETE)
        .order_by(Item.id)
    ).all()
    return [
        _Waiting(
            item_id,
            BundleItem(
                item=item_ref.hex(), case=case_ref.hex(), size=size, sha256=_PLACEHOLDER_SHA
            ),
            BundleCase(
                case=case_ref.hex(), reply_public_key=reply.hex(), status=status, status_seq=seq
            ),
        )
        for item_id, item_ref, size, case_ref, reply, status, seq in rows
    ]


def _numbered_cases(session: Session, coalition_id: str) -> list[BundleCase]:
    """Every case of the coalition with at least one applied record (for ``sync``)."""
    rows = session.execute(
        select(Case.ref, Case.reply_public_key, Case.status, Case.status_seq)
        .where(Case.coalition_id == coalition_id, Case.status_seq > 0)
        .order_by(Case.id)
    )
    return [
        BundleCase(case=ref.hex(), reply_public_key=reply.hex(), status=status, status_seq=seq)
        for ref, reply, status, seq in rows
    ]


def _manifest(
    coalition_id: str,
    ref: bytes,
    waiting: list[_Waiting],
    entries: list[BundleItem],
    extra: list[BundleCase] | None = None,
) -> Manifest:
    cases = {w.case.case: w.case for w in waiting}  # insertion order: first item's order
    for case in extra or ():
        cases.setdefault(case.case, case)
    return Manifest(
        coalition=coalition_id,
        bundle=ref.hex(),
        created=current_week(),
        cases=tuple(cases.values()),
        items=tuple(entries),
    )


def _fit(
    coalition_id: str,
    waiting: list[_Waiting],
    max_bytes: int | None,
    extra: list[BundleCase] | None = None,
) -> list[_Waiting]:
    """The longest oldest-first prefix whose whole bundle file fits ``max_bytes``.

    Never skips ahead to a smaller, newer item: the oldest reports leave first.
    """
    if max_bytes is None or not waiting:
        return waiting
    chosen: list[_Waiting] = []
    body = 0
    for w in waiting:
        body += w.entry.size
        if body > max_bytes:
            break
        chosen.append(w)
    probe = bytes(16)
    while chosen:
        manifest = _manifest(coalition_id, probe, chosen, [w.entry for w in chosen], extra)
        if total_size(manifest) <= max_bytes:
            return chosen
        chosen.pop()
    if extra and total_size(_manifest(coalition_id, probe, [], [], extra)) <= max_bytes:
        return chosen
    raise BundleTooSmallError()


def _reusable(runtime: Runtime, coalition_id: str, waiting: list[_Waiting]) -> Prepared | None:
    """The newest bundle if it holds exactly these items and case states.

    A courier asking again after a cut (or twice in a row) then gets the same bundle, so
    its partial download stays valid and nothing is hashed twice.
    """
    with runtime.sessions() as session:
        bundle = session.scalars(
            select(Bundle).where(Bundle.coalition_id == coalition_id).order_by(Bundle.id.desc())
        ).first()
        if bundle is None:
            return None
        item_ids = session.scalars(
            select(BundleRow.item_id)
            .where(BundleRow.bundle_id == bundle.id)
            .order_by(BundleRow.position)
        ).all()
    if list(item_ids) != [w.item_id for w in waiting]:
        return None
    stored = parse_manifest(bundle.head[HEAD.size :])
    # The cases' status and sequence must be current too: the desk may rely on them.
    if list(stored.cases) != list(_manifest(coalition_id, bundle.ref, waiting, []).cases):
        return None
    return Prepared(bundle.ref, bundle.size, len(item_ids))


def _forget_old(session: Session, coalition_id: str) -> None:
    keep = session.scalars(
        select(Bundle.id)
        .where(Bundle.coalition_id == coalition_id)
        .order_by(Bundle.id.desc())
        .limit(KEEP_BUNDLES)
    ).all()
    session.execute(
        delete(Bundle).where(Bundle.coalition_id == coalition_id, Bundle.id.not_in(keep))
    )


def _sha256(runtime: Runtime, item_id: int, size: int) -> str:
    digest = hashlib.sha256()
    seen = 0
    for piece in iter_ciphertext(runtime.sessions, item_id):
        digest.update(piece)
        seen += len(piece)
    if seen != size:
        raise BundleChangedError()  # acknowledged (deleted) while we read it
    return digest.hexdigest()


def open_download(runtime: Runtime, coalition_id: str, ref: bytes) -> Download:
    """The bundle ``ref`` of this coalition, if every item in it is still on the server.

    Another coalition's bundle, an unknown one and one whose items the desk has since
    acknowledged all get the same "not found": the courier prepares a new bundle.
    """
    with runtime.sessions() as session:
        bundle = session.scalars(
            select(Bundle).where(Bundle.ref == ref, Bundle.coalition_id == coalition_id)
        ).first()
        if bundle is None:
            raise NotFoundError()
        rows = session.execute(
            select(Item.id, Item.size, Item.state)
            .join(BundleRow, BundleRow.item_id == Item.id)
            .where(BundleRow.bundle_id == bundle.id)
            .order_by(BundleRow.position)
        ).all()
    if any(state != COMPLETE for _, _, state in rows):
        raise NotFoundError()
    return Download(bundle.head, tuple((i, size) for i, size, _ in rows), bundle.size)


def stream(runtime: Runtime, download: Download, offset: int) -> Iterator[bytes]:
    """Yield the bundle's bytes from ``offset`` on, one stored piece at a time."""
    if offset < len(download.head):
        yield download.head[offset:]
        offset = 0
    else:
        offset -= len(download.head)
    for item_id, size in download.items:
        if offset >= size:
            offset -= size
            continue
        sent = 0
        for piece in iter_ciphertext(runtime.sessions, item_id, offset=offset):
            sent += len(piece)
            yield piece
        if sent != size - offset:
            # Acknowledged mid-download: cut the response rather than send wrong bytes.
            raise BundleChangedError()
        offset = 0
