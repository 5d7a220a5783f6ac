"""Sealed items and their ciphertext chunks.

An item is one envelope (service/common/crypto/ENVELOPE-v1.md): the answers, a message or a file.
Its ciphertext is stored in the database in pieces (``item_chunks``) so that every app
instance sharing one PostgreSQL serves the same cases, and so durability is one thing: a
database commit. An item stays ``pending`` — invisible to the submitter, the courier and
counts — until its last piece is committed and it flips to ``complete`` in that same
transaction (SECURITY.md guarantee 6). Once the coalition's desk has sent a signed import
acknowledgement it becomes ``acknowledged``: its pieces are deleted and only the row stays,
so the submitter's count of items received does not drop (SECURITY.md guarantee 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.server.models.base import Base

if TYPE_CHECKING:
    from service.server.models.case import Case

PENDING = "pending"
COMPLETE = "complete"
# The desk holds it in a backup (or the retention window after import ended): its
# ciphertext is gone from the server.
ACKNOWLEDGED = "acknowledged"
RECEIVED_STATES = (COMPLETE, ACKNOWLEDGED)  # what the submitter counts as received


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    # Ciphertext bytes stored so far, and for resumable uploads the declared total.
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    next_seq: Mapped[int] = mapped_column(Integer, default=0)
    # BLAKE2b of the resumable-upload capability; NULL for items stored in one request.
    upload_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True, default=None)
    created_week: Mapped[str] = mapped_column(String(8))
    # ISO week the desk reported it imported (an "imported" outbox record). The item stays
    # complete and sealed here until an "ack" (a desk backup holds it) or until the
    # retention window after this week ends (service/server/courier/retention.py).
    imported_week: Mapped[str | None] = mapped_column(String(8), default=None)

    case: Mapped[Case] = relationship(back_populates="items", lazy="raise")


class ItemChunk(Base):
    """One stored piece (up to ``service.server.storage.items.PIECE_SIZE``) of an item's
    ciphertext."""

    __tablename__ = "item_chunks"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
