"""A case: what the server knows of one complaint. Nothing here is readable content.

The server keeps only routing (which coalition), a keyed derivation of the case token, the
public half of the case's reply key, the workflow status the desk last signed, and coarse
ISO weeks instead of timestamps (SECURITY.md guarantee 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.common.contract.vocabulary import INITIAL_STATUS
from service.server.models.base import Base

if TYPE_CHECKING:
    from service.server.models.item import Item


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Opaque random reference the courier and desk use. The web pages never show it; the
    # API's status answer gives it to the token holder, because the desk's signatures on
    # statuses and replies cover it (service/common/contract/signed.py).
    ref: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    coalition_id: Mapped[str] = mapped_column(String(64), index=True)
    # BLAKE2b(key=pepper, Argon2id(token)-derived lookup id). Never the token itself.
    lookup_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # The token-KDF parameters that made lookup_key (vocabulary.kdf_id, e.g.
    # "argon2id13:3:67108864"): a lookup re-derives with each recorded set, so the
    # parameters can change without orphaning the cases made before.
    kdf: Mapped[str] = mapped_column(String(64))
    reply_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(32), default=INITIAL_STATUS)
    # Last desk update sequence number applied (signed updates are strictly ordered).
    status_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The signed outbox record that set ``status`` (None: the server's own "received"):
    # its sequence number, the desk's signature, and whether it named the reply key.
    status_signed_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status_signature: Mapped[bytes | None] = mapped_column(LargeBinary(64), default=None)
    status_keyed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # The "answer expected by" ISO week the desk's signed status record named, if any.
    status_answer_by: Mapped[str | None] = mapped_column(String(8), default=None)
    # The urgent lane (service/common/contract/duty.py): the ref of the case's urgent
    # record (kept after the record itself is deleted, so later acknowledgements still
    # find the case) and the duty officer's latest signed acknowledgement, rebuilt and
    # checked with the duty key before the status page shows it.
    urgent_ref: Mapped[bytes | None] = mapped_column(LargeBinary(16), unique=True, default=None)
    urgent_epoch: Mapped[int | None] = mapped_column(Integer, default=None)
    urgent_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    urgent_status: Mapped[str | None] = mapped_column(String(32), default=None)
    urgent_week: Mapped[str | None] = mapped_column(String(8), default=None)
    urgent_answer_by: Mapped[str | None] = mapped_column(String(8), default=None)
    urgent_signature: Mapped[bytes | None] = mapped_column(LargeBinary(64), default=None)
    # The signed transfer record that passed the case here from another coalition
    # (service/common/contract/outbox.py, "transfer"): the source, the record's sequence
    # number, signature and content digest. The status page says "passed to <name>" only
    # when the source's key checks it (service/common/contract/signed.py).
    transfer_from: Mapped[str | None] = mapped_column(String(64), default=None)
    transfer_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    transfer_signature: Mapped[bytes | None] = mapped_column(LargeBinary(64), default=None)
    transfer_content: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    created_week: Mapped[str] = mapped_column(String(8))
    activity_week: Mapped[str] = mapped_column(String(8))

    items: Mapped[list[Item]] = relationship(
        back_populates="case", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
