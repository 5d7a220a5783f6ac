"""Replies from the coalition's desk, sealed on the desk to the case's reply key.

The server stores them exactly as they arrived in a signed outbox and cannot open them:
only the case token derives the key pair whose public half they are sealed to. ``seq`` is
the sequence number of the signed outbox record that carried the reply, so replies keep
the order the desk gave them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.server.models.base import Base


class Reply(Base):
    __tablename__ = "replies"
    # One reply per signed record; also the index the status page reads replies by.
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_replies_case_id_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    # An envelope v1 sealed to the case's reply key (payload type "reply").
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # The desk's signature of the outbox record that carried the reply, and whether that
    # record named the case's reply key (service/common/contract/signed.py rebuilds it).
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64), default=None)
    keyed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # The coalition that signed it, set when the case passed on to another coalition
    # (a transfer); None: the case's own coalition.
    coalition_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_week: Mapped[str] = mapped_column(String(8))
