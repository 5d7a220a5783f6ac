"""API request and response bodies. Hex and base64 fields are validated strictly."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from service.common.contract.vocabulary import TOKEN_KDF_ALGORITHM

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _hex32(value: str) -> str:
    if not _HEX64.fullmatch(value):
        raise ValueError("must be 64 lowercase hex digits")
    return value


def _b64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be standard base64") from None
    return value


def _hex16(value: str) -> str:
    if not _HEX32.fullmatch(value):
        raise ValueError("must be 32 lowercase hex digits")
    return value


Hex32 = Annotated[str, AfterValidator(_hex32)]
Hex16 = Annotated[str, AfterValidator(_hex16)]
Base64 = Annotated[str, AfterValidator(_b64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StrictRequest(Strict):
    """A request body: JSON types as declared, no coercion (attack F8: ``"size": "100"``,
    ``100.0`` or ``true`` were read as numbers)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class KeyInfo(Strict):
    epoch: int
    public_key: str
    key_id: str
    fingerprint: str


class CoalitionInfo(Strict):
    id: str
    names: dict[str, str]
    countries: list[str]
    fallback: bool
    keys: list[KeyInfo] = Field(description="Current keys: seal every item to all of them.")
    signing_key: str | None = Field(
        default=None, description="The coalition's Ed25519 key (hex); pin its fingerprint."
    )
    signing_fingerprint: str | None = None
    key_statement: str | None = Field(
        default=None,
        description="The desk-signed statement of the keys and countries; seal only to it.",
    )
    signing_rotations: list[str] = Field(
        default_factory=list,
        description=(
            "Registry changes that moved the coalition to a new signing key, oldest first, "
            "each signed by the key before it: a client that pinned an older key follows "
            "them to signing_key."
        ),
    )


class KdfInfo(Strict):
    algorithm: str = TOKEN_KDF_ALGORITHM
    opslimit: int
    memlimit: int


class Info(Strict):
    api: int = 1
    envelope_version: int = 1
    kdf: KdfInfo
    max_submission_bytes: int
    max_answers_bytes: int
    coalitions: list[CoalitionInfo]


class UrgentCreate(StrictRequest):
    """The urgent lane: a record sealed on the client to the duty key the coalition's
    signed key statement names (service/common/contract/duty.py), only with the person's
    urgent consent. Its ``ref`` and the case's reply key are inside the seal."""

    ref: Hex16 = Field(description="16 random bytes, hex: the record's name.")
    epoch: int = Field(ge=1, description="The duty key's epoch it is sealed to.")
    # Base64 of courier.urgent.MAX_SEALED_RECORD (65,671 bytes) fits; that module checks.
    data: Base64 = Field(max_length=90_000, description="The sealed record.")


class CaseCreate(StrictRequest):
    coalition: str = Field(max_length=64)
    lookup_id: Hex32 = Field(description="From the token, derived on the client.")
    reply_public_key: Hex32
    answers: Base64 = Field(description="The answers, sealed as an envelope v1 item.")
    urgent: UrgentCreate | None = Field(
        default=None, description="The urgent record for the duty officer, if consented."
    )


class CaseCreated(Strict):
    created: bool


class CaseRef(StrictRequest):
    lookup_id: Hex32


class UploadCreate(StrictRequest):
    lookup_id: Hex32 | None = Field(default=None, description="From the token, on the client.")
    grant: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+={0,2}$",
        description="Instead of lookup_id: the upload grant an intake page gave the browser.",
    )
    size: int = Field(gt=0, description="Total ciphertext bytes of the sealed item.")

    @model_validator(mode="after")
    def _one_way_in(self) -> UploadCreate:
        if (self.lookup_id is None) == (self.grant is None):
            raise ValueError("give exactly one of lookup_id and grant")
        return self


class UploadState(Strict):
    upload: str = Field(description="Capability for this upload; keep it secret.")
    offset: int
    size: int
    complete: bool


class SignatureInfo(Strict):
    """The desk's signature of the outbox record (service/common/contract/signed.py rebuilds it)."""

    seq: int
    signature: str = Field(description="Ed25519 signature, hex.")
    keyed: bool = Field(description="Whether the signed record names the case's reply key.")
    answer_by: str | None = Field(
        default=None, description="A status record's 'answer expected by' ISO week, if set."
    )


class TransferInfo(Strict):
    """The case was passed here from another coalition: that coalition's signed transfer
    record, as stored (service/common/contract/signed.py ``transfer_record`` rebuilds it
    with ``coalition`` as the receiver)."""

    source: str = Field(description="The coalition that passed the case on (and signed).")
    seq: int
    content: str = Field(description="The record's content digest, hex.")
    signature: str = Field(description="Ed25519 signature by the source's key, hex.")


class UrgentInfo(Strict):
    """The duty officer's latest acknowledgement of the case's urgent record, as stored:
    the client rebuilds it (service/common/contract/duty.py) and checks it with the duty
    key the coalition's signed key statement names, bound to its own reply key."""

    urgent: str = Field(description="The urgent record's ref, hex.")
    epoch: int
    seq: int
    status: str
    week: str
    answer_by: str | None = None
    signature: str = Field(description="Ed25519 signature by the duty key, hex.")


class CaseStatus(Strict):
    status: str
    items_received: int
    replies: list[str] = Field(default_factory=list, description="Sealed replies, base64.")
    coalition: str | None = Field(default=None, description="Whose signing key to check.")
    case: str | None = Field(default=None, description="The case ref the desk signed, hex.")
    status_signature: SignatureInfo | None = Field(
        default=None, description="None: the status was set by the server, not the desk."
    )
    reply_signatures: list[SignatureInfo | None] = Field(
        default_factory=list, description="One per reply, in order; None: not signed."
    )
    reply_coalitions: list[str | None] = Field(
        default_factory=list,
        description="One per reply: the coalition that signed it, when not ``coalition`` "
        "(a reply given before the case was passed on); None: ``coalition``.",
    )
    transfer: TransferInfo | None = Field(
        default=None, description="The case was passed to ``coalition`` from another one."
    )
    urgent: UrgentInfo | None = Field(
        default=None, description="The urgent lane: the duty officer's acknowledgement."
    )


class ErrorBody(Strict):
    error: str
    message: str
