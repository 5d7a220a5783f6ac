"""Courier API request and response bodies (JSON, strict: unknown fields are errors)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.common.contract.outbox import MAX_OUTBOX_BYTES as MAX_OUTBOX_BYTES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChallengeOut(Strict):
    challenge: str = Field(description="32 random bytes, hex; good for one signed request.")


class BundleRequest(Strict):
    max_bytes: int | None = Field(
        default=None, gt=0, description="Upper bound on the bundle file's size, in bytes."
    )
    sync: bool = Field(
        default=False,
        description="After a desk restore: list every case with applied records and its "
        "status_seq, even with no item waiting.",
    )


class BundlePrepared(Strict):
    bundle: str | None = Field(description="Bundle id (16 bytes, hex); null if nothing new.")
    size: int = Field(description="Size of the bundle file in bytes.")
    items: int


class OutboxApplied(Strict):
    applied: bool
    already: bool = Field(description="True when this very outbox was applied before.")
    records: int


class CasesRequest(Strict):
    cases: list[str] = Field(
        max_length=100_000, description="Case references (16 bytes, hex) of the coalition."
    )


class CaseSequence(Strict):
    case: str
    status_seq: int = Field(description="The last sequence number applied to the case.")


class CasesOut(Strict):
    cases: list[CaseSequence] = Field(
        description="Each named case of this coalition; others (unknown, foreign) are left out."
    )


class UrgentRecordOut(Strict):
    ref: str = Field(description="The urgent record's ref (16 bytes, hex).")
    epoch: int = Field(description="The duty key epoch it is sealed to.")
    data: str = Field(description="The sealed record (envelope), base64.")


class UrgentListOut(Strict):
    records: list[UrgentRecordOut]


class UrgentAckOut(Strict):
    applied: bool = Field(description="False when this very acknowledgement was applied before.")
