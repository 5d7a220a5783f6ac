"""The urgent lane's one table: records sealed to a coalition's duty key, waiting.

A row holds only ciphertext the server cannot open (sealed to the duty key), which case it
belongs to and the duty epoch it was sealed to. It is deleted as soon as the duty officer's
signed acknowledgement is applied (``service.server.courier.urgent``); what the family
sees afterwards lives on the case (``Case.urgent_*``), signed by the officer.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from service.server.models.base import Base


class UrgentRecord(Base):
    __tablename__ = "urgent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The random ref sealed inside the record as well (service/common/contract/duty.py).
    ref: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    coalition_id: Mapped[str] = mapped_column(String(64), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
