"""What the courier round trip keeps: one-time challenges, prepared bundles, applied outboxes.

- ``courier_challenges``: random values handed out by ``POST /courier/v1/challenge``, each
  good for one authenticated request. Only a hash is stored, and there are no timestamps:
  the table is bounded by count instead (the oldest go first), so it needs no clock.
- ``bundles`` / ``bundle_items``: a bundle prepared for a coalition's courier. The head
  (magic, version, manifest) is stored as bytes and the items are listed in order, so a
  download cut off over Tor resumes with a ``Range`` request and gets identical bytes.
- ``applied_outboxes``: the SHA-256 of every outbox applied, so a courier retrying after
  a lost response is told "already applied" instead of being refused as a replay.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from service.server.models.base import Base


class CourierChallenge(Base):
    __tablename__ = "courier_challenges"

    # Increasing id: the sweep keeps the newest N and deletes the rest, no clock needed.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 of the challenge: a copy of the database cannot be used to answer one.
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)


class Bundle(Base):
    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Random id the courier names the bundle by; also the manifest's "bundle" field.
    ref: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    coalition_id: Mapped[str] = mapped_column(String(64), index=True)
    # service.common.contract.bundle.head_bytes(manifest): fixed once prepared.
    head: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)


class BundleItem(Base):
    """One item of a bundle, at its position in the manifest."""

    __tablename__ = "bundle_items"

    bundle_id: Mapped[int] = mapped_column(
        ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)


class AppliedOutbox(Base):
    __tablename__ = "applied_outboxes"

    # SHA-256 of the outbox file as delivered.
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    coalition_id: Mapped[str] = mapped_column(String(64))
