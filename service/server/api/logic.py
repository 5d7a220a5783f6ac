"""Resumable uploads of items sealed on the client.

An upload is a pending item addressed by a random capability (only its hash is stored).
``PATCH`` appends at the stored offset; bytes are acknowledged only once committed. When
the declared size is reached the header is checked against the coalition's current keys
and the framing against the length, and the item becomes visible in the same transaction
as its last piece. A bad item is discarded whole.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.common.crypto.envelope import check_framing
from service.common.errors import EnvelopeError, NotFoundError, TooLargeError, UploadError
from service.server.cases import logic as cases
from service.server.deps import Runtime
from service.server.models import PENDING, Case, Item
from service.server.storage.db import transaction
from service.server.storage.items import ItemWriter, discard_pending, iter_ciphertext

HEADER_MAX = 6 + 88 * 8 + 24  # the largest v1 header (8 recipients)


@dataclass(frozen=True)
class UploadSnapshot:
    item_id: int
    case_id: int
    coalition_id: str
    size: int
    expected_size: int
    next_seq: int
    complete: bool


def start_upload(session: Session, case: Case, size: int) -> bytes:
    capability = secrets.token_bytes(32)
    cases.new_item(
        session, case.id, expected_size=size, upload_key=cases.upload_key_hash(capability)
    )
    session.flush()
    return capability


def snapshot(session: Session, capability: bytes) -> UploadSnapshot:
    row = session.execute(
        select(Item, Case.coalition_id)
        .join(Case, Case.id == Item.case_id)
        .where(Item.upload_key == cases.upload_key_hash(capability))
    ).first()
    if row is None:
        raise NotFoundError()
    item, coalition_id = row
    return UploadSnapshot(
        item_id=item.id,
        case_id=item.case_id,
        coalition_id=coalition_id,
        size=item.size,
        expected_size=item.expected_size or 0,
        next_seq=item.next_seq,
        # Acknowledged counts as complete: the desk took it, the upload is long finished.
        complete=item.state != PENDING,
    )


async def append(
    runtime: Runtime, capability: bytes, offset: int, body: AsyncIterator[bytes]
) -> UploadSnapshot:
    """Append a PATCH body at ``offset``; returns the state after what was committed."""
    snap = await run_in_threadpool(current, runtime, capability)
    if snap.complete or offset != snap.size:
        raise UploadError()
    remaining = snap.expected_size - snap.size
    writer = ItemWriter(runtime.sessions, snap.item_id, snap.next_seq, snap.size)
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > remaining:
                raise TooLargeError()
            if writer.append(chunk):
                await run_in_threadpool(writer.drain)
    finally:
        # Whatever arrived before a cut-off is kept (committed), so the client resumes
        # from there; this is the point of a resumable upload over a flaky Tor circuit.
        await run_in_threadpool(writer.flush)
    if received == remaining:
        await run_in_threadpool(_finish, runtime, snap, writer)
    return await run_in_threadpool(current, runtime, capability)


def _finish(runtime: Runtime, snap: UploadSnapshot, writer: ItemWriter) -> None:
    """All bytes are stored; check the item, then flip it to complete (or discard it)."""
    coalition = runtime.registry.get(snap.coalition_id)
    try:
        if coalition is None:
            raise NotFoundError()
        header_len = cases.check_sealed_for(coalition, _stored_head(runtime, snap.item_id))
        check_framing(snap.expected_size, header_len)
    except (EnvelopeError, NotFoundError):
        with transaction(runtime.sessions) as session:
            discard_pending(session, snap.item_id)
        raise
    writer.complete()


def _stored_head(runtime: Runtime, item_id: int) -> bytes:
    """The first HEADER_MAX stored bytes (a slow client may have sent them in tiny pieces)."""
    head = bytearray()
    for piece in iter_ciphertext(runtime.sessions, item_id):
        head += piece
        if len(head) >= HEADER_MAX:
            break
    return bytes(head[:HEADER_MAX])


def current(runtime: Runtime, capability: bytes) -> UploadSnapshot:
    with transaction(runtime.sessions) as session:
        return snapshot(session, capability)
