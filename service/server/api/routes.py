"""JSON API v1. The client seals and derives; the server never sees a token on this path.

Request bodies are capped by ``service.common.webkit.security.BodyLimitMiddleware`` before FastAPI
reads them; validation errors are answered with a fixed message that echoes nothing.
"""

from __future__ import annotations

import base64
import json
import re

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.common.contract.signed import Signed
from service.common.crypto.grants import open_grant
from service.common.errors import (
    FormError,
    NotFoundError,
    TooLargeError,
    UnknownCoalitionError,
    UploadError,
)
from service.server.api import logic
from service.server.api.schemas import (
    CaseCreate,
    CaseCreated,
    CaseRef,
    CaseStatus,
    CoalitionInfo,
    ErrorBody,
    Info,
    KdfInfo,
    KeyInfo,
    SignatureInfo,
    TransferInfo,
    UploadCreate,
    UploadState,
    UrgentInfo,
)
from service.server.cases import logic as cases
from service.server.cases.limits import check_pending
from service.server.courier import urgent as urgent_lane
from service.server.deps import RuntimeDep
from service.server.models import Case
from service.server.storage import quota
from service.server.storage.db import transaction

# Every fixed error the API can answer, so its OpenAPI document is complete: 413 for a
# body or declared upload over the cap, 503 when the key-derivation queue is full.
router = APIRouter(
    prefix="/api/v1",
    # 503 also when the storage bounds leave no room (with Retry-After).
    responses={code: {"model": ErrorBody} for code in (400, 404, 409, 413, 503)},
)

UPLOAD_MEDIA_TYPE = "application/offset+octet-stream"


@router.get("/info")
async def info(runtime: RuntimeDep) -> Info:
    """Everything a client needs to seal and derive: coalitions, keys, KDF limits."""
    s = runtime.settings
    return Info(
        kdf=KdfInfo(opslimit=s.kdf_opslimit, memlimit=s.kdf_memlimit),
        max_submission_bytes=s.max_submission_bytes,
        max_answers_bytes=s.max_answers_bytes,
        coalitions=[
            CoalitionInfo(
                id=c.id,
                names=c.names,
                countries=list(c.countries),
                fallback=c.fallback,
                keys=[
                    KeyInfo(
                        epoch=k.epoch,
                        public_key=k.public_key.hex(),
                        key_id=k.key_id.hex(),
                        fingerprint=k.fingerprint,
                    )
                    for k in c.current_keys
                ],
                signing_key=c.signing_key.hex(),
                signing_fingerprint=c.signing_fingerprint,
                key_statement=c.key_statement,
                signing_rotations=list(c.rotations),
            )
            for c in runtime.registry.coalitions
        ],
    )


@router.post("/cases", status_code=201)
async def create_case(body: CaseCreate, runtime: RuntimeDep, response: Response) -> CaseCreated:
    """Create a case from answers sealed on the client. Retrying is safe (idempotent)."""
    coalition = runtime.registry.get(body.coalition)
    if coalition is None:
        raise UnknownCoalitionError()
    answers = base64.b64decode(body.answers)
    if len(answers) > runtime.settings.max_answers_bytes:
        raise TooLargeError()
    key = cases.lookup_key(bytes.fromhex(body.lookup_id), runtime.settings.pepper)
    urgent = None if body.urgent is None else urgent_lane.check_client_record(
        coalition, bytes.fromhex(body.urgent.ref), body.urgent.epoch,
        base64.b64decode(body.urgent.data),
    )  # fmt: skip

    # A global bound on new API cases (F-16): counted per case made, never per sender.
    bucket = runtime.api_case_bucket()
    taken = []

    def create() -> bool:
        with transaction(runtime.sessions) as session:
            if cases.find_case(session, key) is None:
                bucket.take()  # a retry of an existing case makes nothing new: free
                taken.append(True)
            # Answers are small and vital: they may use all but the last quarter of the
            # free-space reserve that already stops files (service/server/storage/quota.py).
            quota.admit(
                session,
                runtime.settings,
                runtime.reservations,
                len(answers),
                reserve=runtime.settings.min_free_bytes // 4,
            )
            _case, created = cases.create_case(
                session,
                coalition=coalition,
                key=key,
                # The client derived with the parameters /api/v1/info publishes: ours.
                kdf=runtime.kdf,
                reply_public_key=bytes.fromhex(body.reply_public_key),
                answers=answers,
            )
            if created and urgent is not None:  # with the case, in its transaction
                urgent_lane.store_record(session, _case, coalition, *urgent)
            return created

    try:
        created = await run_in_threadpool(create)
    except Exception:
        if taken:
            bucket.give_back()  # nothing was made
        raise
    if not created:
        response.status_code = 200
    return CaseCreated(created=created)


# Every status answer, found or not, is padded with JSON whitespace to a multiple of this
# (issue 15): unknown, fresh and answered cases look alike on the wire until the sealed
# replies alone pass it; beyond, the answer grows in whole steps of this size.
STATUS_ANSWER_SIZE = 48 * 1024


class PaddedJSONResponse(JSONResponse):
    """Compact JSON, then spaces (which every JSON reader skips) up to a size step."""

    def render(self, content: object) -> bytes:
        body = json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        target = max(1, -(-len(body) // STATUS_ANSWER_SIZE)) * STATUS_ANSWER_SIZE
        return body + b" " * (target - len(body))


@router.post("/status", response_model=CaseStatus)
async def status(body: CaseRef, runtime: RuntimeDep) -> Response:
    """A case's status and sealed replies (POST, so the lookup id is in no URL).

    Padded to a multiple of 48 KiB, the unknown lookup's 404 as well."""

    def read() -> CaseStatus | None:
        key = cases.lookup_key(bytes.fromhex(body.lookup_id), runtime.settings.pepper)
        with transaction(runtime.sessions) as session:
            case = cases.find_case(session, key)
            if case is None:
                return None
            view = cases.view(session, case)
        # Replies go out sealed: the client derives the reply key from the token and
        # opens them locally, so this path never sees a reply's text.
        # With the desk's signatures, so the client checks each status and reply end to
        # end against the coalition key it pinned (audit F-08), not this server's word.
        return CaseStatus(
            status=view.status,
            items_received=view.items_received,
            replies=[base64.b64encode(r).decode("ascii") for r in view.replies],
            coalition=case.coalition_id,
            case=case.ref.hex(),
            status_signature=_signature(view.status_signed),
            reply_signatures=[_signature(s) for s in view.replies_signed],
            reply_coalitions=list(view.replies_by),
            transfer=_transfer(case),
            urgent=_urgent(case),
        )

    found = await run_in_threadpool(read)
    if found is None:
        missing = NotFoundError()
        return PaddedJSONResponse(
            {"error": missing.code, "message": missing.message}, status_code=missing.http_status
        )
    return PaddedJSONResponse(found.model_dump(mode="json"))


def _transfer(case: Case) -> TransferInfo | None:
    if (
        case.transfer_from is None
        or case.transfer_seq is None
        or case.transfer_signature is None
        or case.transfer_content is None
    ):
        return None
    return TransferInfo(
        source=case.transfer_from,
        seq=case.transfer_seq,
        content=case.transfer_content.hex(),
        signature=case.transfer_signature.hex(),
    )


def _urgent(case: Case) -> UrgentInfo | None:
    if (
        case.urgent_ref is None
        or case.urgent_signature is None
        or case.urgent_epoch is None
        or case.urgent_seq is None
        or case.urgent_status is None
        or case.urgent_week is None
    ):
        return None
    return UrgentInfo(
        urgent=case.urgent_ref.hex(),
        epoch=case.urgent_epoch,
        seq=case.urgent_seq,
        status=case.urgent_status,
        week=case.urgent_week,
        answer_by=case.urgent_answer_by,
        signature=case.urgent_signature.hex(),
    )


def _signature(signed: Signed | None) -> SignatureInfo | None:
    if signed is None:
        return None
    return SignatureInfo(
        seq=signed.seq,
        signature=signed.signature.hex(),
        keyed=signed.keyed,
        answer_by=signed.answer_by,
    )


@router.post("/uploads", status_code=201)
async def start_upload(body: UploadCreate, runtime: RuntimeDep) -> UploadState:
    """Begin a resumable upload of one sealed item into the case."""
    if body.size > runtime.settings.max_submission_bytes:
        raise TooLargeError()

    def start() -> bytes:
        with transaction(runtime.sessions) as session:
            if body.grant is not None:
                # From a page whose browser seals (service/common/crypto/grants.py).
                ref = open_grant(runtime.upload_grants, body.grant)
                case = cases.get_case_by_ref(session, ref)
            else:
                assert body.lookup_id is not None  # noqa: S101 - the schema requires one
                key = cases.lookup_key(bytes.fromhex(body.lookup_id), runtime.settings.pepper)
                case = cases.get_case(session, key)
            s = runtime.settings
            check_pending(session, case.id, s.max_pending_uploads, s.max_pending_per_case)
            # The declared size counts against the case, the total and the free space
            # from now on, so the bytes that follow always have room.
            quota.admit(session, runtime.settings, runtime.reservations, body.size, case_id=case.id)
            return logic.start_upload(session, case, body.size)

    capability = await run_in_threadpool(start)
    return UploadState(upload=capability.hex(), offset=0, size=body.size, complete=False)


# As the server writes them: 64 lowercase hex digits. Strict (attack F8), so one upload
# has one spelling and what is echoed back is what was issued.
_CAPABILITY = re.compile(r"[0-9a-f]{64}")


def _capability(upload: str) -> bytes:
    if _CAPABILITY.fullmatch(upload) is None:
        raise UploadError()
    return bytes.fromhex(upload)


def _state(upload: str, snap: logic.UploadSnapshot) -> UploadState:
    return UploadState(
        upload=upload, offset=snap.size, size=snap.expected_size, complete=snap.complete
    )


@router.get("/uploads/{upload}")
async def upload_state(upload: str, runtime: RuntimeDep) -> UploadState:
    """Where to resume: the number of bytes stored (and committed) so far."""
    snap = await run_in_threadpool(logic.current, runtime, _capability(upload))
    return _state(upload, snap)


@router.patch("/uploads/{upload}")
async def append_upload(
    upload: str,
    request: Request,
    runtime: RuntimeDep,
    upload_offset: str = Header(pattern=r"^(0|[1-9][0-9]{0,17})$"),
    content_type: str = Header(),
) -> UploadState:
    """Append bytes at ``Upload-Offset``; the item is complete when its size is reached."""
    if content_type.split(";")[0].strip().lower() != UPLOAD_MEDIA_TYPE:
        raise FormError()
    offset = int(upload_offset)  # the pattern admits plain decimal only (attack F8)
    snap = await logic.append(runtime, _capability(upload), offset, request.stream())
    return _state(upload, snap)
