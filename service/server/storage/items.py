"""Write and read sealed items' ciphertext, in pieces, durably.

Each piece is committed together with the item's new size and next sequence number, in one
short transaction, so a crash leaves the item at a consistent length and a resumable upload
knows exactly where to continue. The final piece and the flip to ``complete`` share one
transaction: an item is either wholly there or invisible (SECURITY.md guarantee 6).
Long uploads never hold a database transaction (or SQLite's write lock) open.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.common.errors import UploadError
from service.server.models import COMPLETE, PENDING, Item, ItemChunk
from service.server.storage.db import transaction

PIECE_SIZE = 1024 * 1024  # bytes of ciphertext per stored row


def store_whole(session: Session, item: Item, ciphertext: bytes) -> None:
    """Store a small item's ciphertext inside the caller's transaction and mark it complete."""
    for seq, start in enumerate(range(0, max(len(ciphertext), 1), PIECE_SIZE)):
        session.add(
            ItemChunk(item_id=item.id, seq=seq, data=ciphertext[start : start + PIECE_SIZE])
        )
        item.next_seq = seq + 1
    item.size = len(ciphertext)
    item.state = COMPLETE


class ItemWriter:
    """Appends ciphertext to one pending item; one writer per item at a time.

    The conditional UPDATE (matching the expected ``next_seq``) makes a second concurrent
    writer on the same item fail loudly instead of interleaving pieces.
    """

    def __init__(self, factory: sessionmaker[Session], item_id: int, next_seq: int, size: int):
        self._factory = factory
        self._item_id = item_id
        self._next_seq = next_seq
        self.size = size
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        if self.append(data):
            self.drain()

    def append(self, data: bytes) -> bool:
        """Buffer ``data`` without I/O; True when a full piece is ready for ``drain``.

        Async callers append on the event loop and go to a worker thread only to drain,
        once per stored piece instead of once per received chunk.
        """
        self._buffer += data
        return len(self._buffer) >= PIECE_SIZE

    def drain(self) -> None:
        """Store every full piece buffered so far."""
        while len(self._buffer) >= PIECE_SIZE:
            piece = bytes(self._buffer[:PIECE_SIZE])
            del self._buffer[:PIECE_SIZE]
            self._store(piece, complete=False)

    def flush(self) -> None:
        """Store whatever is buffered (a resumable upload acknowledges only stored bytes)."""
        self.drain()
        if self._buffer:
            piece = bytes(self._buffer)
            self._buffer.clear()
            self._store(piece, complete=False)

    def complete(self) -> None:
        """Store the rest and make the item visible, atomically."""
        self.drain()
        piece = bytes(self._buffer)
        self._buffer.clear()
        self._store(piece, complete=True)

    def _store(self, piece: bytes, *, complete: bool) -> None:
        with transaction(self._factory) as session:
            values: dict[str, object] = {
                "next_seq": self._next_seq + (1 if piece else 0),
                "size": self.size + len(piece),
            }
            if complete:
                values["state"] = COMPLETE
            result = session.execute(
                update(Item)
                .where(
                    Item.id == self._item_id,
                    Item.state == PENDING,
                    Item.next_seq == self._next_seq,
                )
                .values(**values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise UploadError()
            if piece:
                session.add(ItemChunk(item_id=self._item_id, seq=self._next_seq, data=piece))
        if piece:
            self._next_seq += 1
            self.size += len(piece)


def iter_ciphertext(
    factory: sessionmaker[Session], item_id: int, *, offset: int = 0
) -> Iterator[bytes]:
    """Yield a stored item's ciphertext piece by piece (bounded memory).

    With ``offset``, start that many bytes in (a courier resuming a cut download): pieces
    before it are skipped by their stored lengths, never read.
    """
    seq, skip = 0, 0
    if offset:
        seq, skip = _locate(factory, item_id, offset)
    while True:
        with factory() as session:
            data = session.scalar(
                select(ItemChunk.data).where(ItemChunk.item_id == item_id, ItemChunk.seq == seq)
            )
        if data is None:
            return
        if skip:
            data, skip = data[skip:], 0
        if data:
            yield data
        seq += 1


def _locate(factory: sessionmaker[Session], item_id: int, offset: int) -> tuple[int, int]:
    """The piece holding byte ``offset`` and where in it; past the end if there is none.

    Pieces are not all ``PIECE_SIZE``: a resumable upload cut off mid-piece stores what it
    has, so the stored lengths are asked for.
    """
    with factory() as session:
        lengths = session.execute(
            select(ItemChunk.seq, func.length(ItemChunk.data))
            .where(ItemChunk.item_id == item_id)
            .order_by(ItemChunk.seq)
        ).all()
    for seq, length in lengths:
        if offset < length:
            return seq, offset
        offset -= length
    return len(lengths), 0


def delete_pieces(session: Session, item_ids: list[int]) -> None:
    """Delete items' ciphertext in the caller's transaction (after the desk acknowledged it).

    SQLite's ``secure_delete`` overwrites the freed pages (service.server.storage.db). PostgreSQL
    keeps the dead rows on disk until VACUUM reuses their space: the rows are gone from
    every query at once, the bytes from the disk only later.
    """
    if item_ids:
        session.execute(delete(ItemChunk).where(ItemChunk.item_id.in_(item_ids)))


def discard_pending(session: Session, item_id: int) -> None:
    """Remove an unfinished item and its pieces (an upload that was cut off)."""
    session.execute(delete(ItemChunk).where(ItemChunk.item_id == item_id))
    session.execute(delete(Item).where(Item.id == item_id, Item.state == PENDING))


def sweep_unfinished(session: Session, *, single_instance: bool, stale_before: str) -> int:
    """Delete items that can never complete; returns how many.

    A form upload cut off by a crash can never resume (the browser starts over), so its
    pending item is garbage. With one server on SQLite nothing else can be writing, so all
    such items go at start. With several instances on PostgreSQL another instance may be
    mid-upload right now, so only items created before the ISO week ``stale_before`` go
    (ISO week strings such as ``2026-W07`` sort in time order). Resumable API uploads
    stay until they are stale too. Complete items are never touched here: acknowledged
    items leave the server only on the coalition's signed import acknowledgement.
    """
    form_pending = (Item.state == PENDING) & (Item.upload_key.is_(None))
    stale = (Item.state == PENDING) & (Item.created_week < stale_before)
    condition = or_(form_pending, stale) if single_instance else stale
    ids = list(session.scalars(select(Item.id).where(condition)))
    for item_id in ids:
        discard_pending(session, item_id)
    return len(ids)
