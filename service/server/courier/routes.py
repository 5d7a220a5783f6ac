"""Courier API v1, served only by the courier listener (``create_courier_app``).

Every endpoint but ``/challenge`` needs a courier signature over a fresh challenge
(``service.server.courier.auth``); failures are one fixed 401. Errors are fixed JSON bodies
that echo nothing (``service.server.web.errors``).

    POST /courier/v1/challenge       → {"challenge": hex}
    POST /courier/v1/bundles         {"max_bytes"?, "sync"?} → {"bundle", "size", "items"}
    GET  /courier/v1/bundles/{id}    the bundle file; "Range: bytes=N-" resumes (206)
    POST /courier/v1/outbox          the outbox file → {"applied", "already", "records"}
    POST /courier/v1/cases           {"cases": [ref]} → {"cases": [{"case", "status_seq"}]}
    POST /courier/v1/urgent          {} → {"records": [{"ref", "epoch", "data"}]} (duty watch)
    POST /courier/v1/urgent/ack      a signed duty acknowledgement → {"applied": bool}
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from service.common.errors import FormError, NotFoundError
from service.server.courier import auth, bundles, outboxes, sequences, urgent
from service.server.courier.deps import CourierDep, OutboxCourierDep
from service.server.courier.errors import RangeError
from service.server.courier.schemas import (
    BundlePrepared,
    BundleRequest,
    CaseSequence,
    CasesOut,
    CasesRequest,
    ChallengeOut,
    OutboxApplied,
    UrgentAckOut,
    UrgentListOut,
)
from service.server.deps import RuntimeDep

router = APIRouter(prefix="/courier/v1")

_BUNDLE_ID = re.compile(r"^[0-9a-f]{32}$")
_RANGE = re.compile(r"^bytes=([0-9]{1,19})-$")


@router.post("/challenge")
async def challenge(runtime: RuntimeDep) -> ChallengeOut:
    """A one-time value to sign the next request with."""
    value = await run_in_threadpool(auth.issue_challenge, runtime)
    return ChallengeOut(challenge=value.hex())


@router.post("/bundles")
async def prepare_bundle(courier: CourierDep, runtime: RuntimeDep) -> BundlePrepared:
    """Prepare the bundle of every complete item the coalition has not acknowledged."""
    try:
        # Strict: "1" is not a number of bytes, whatever a lax parser would make of it.
        wanted = BundleRequest.model_validate_json(courier.body or b"{}", strict=True)
    except ValidationError:
        raise FormError() from None
    prepared = await run_in_threadpool(
        bundles.prepare, runtime, courier.coalition.id, wanted.max_bytes, wanted.sync
    )
    return BundlePrepared(
        bundle=prepared.ref.hex() if prepared.ref else None,
        size=prepared.size,
        items=prepared.items,
    )


@router.get("/bundles/{bundle}")
async def fetch_bundle(
    bundle: str, request: Request, courier: CourierDep, runtime: RuntimeDep
) -> Response:
    """Stream a prepared bundle of the courier's coalition, from a byte offset if asked."""
    if not _BUNDLE_ID.fullmatch(bundle):
        raise NotFoundError()
    download = await run_in_threadpool(
        bundles.open_download, runtime, courier.coalition.id, bytes.fromhex(bundle)
    )
    asked = request.headers.get("range")
    offset = _offset(asked, download.size)
    headers = {"content-length": str(download.size - offset), "accept-ranges": "bytes"}
    status = 200
    if asked is not None:
        status = 206
        headers["content-range"] = f"bytes {offset}-{download.size - 1}/{download.size}"
    return StreamingResponse(
        bundles.stream(runtime, download, offset),
        status_code=status,
        media_type="application/octet-stream",
        headers=headers,
    )


def _offset(header: str | None, size: int) -> int:
    """The start of a single ``bytes=N-`` range, 0 without one; anything else is refused."""
    if header is None:
        return 0
    match = _RANGE.fullmatch(header.strip())
    if match is None or int(match.group(1)) >= size:
        raise RangeError()
    return int(match.group(1))


@router.post("/outbox")
async def deliver_outbox(courier: OutboxCourierDep, runtime: RuntimeDep) -> OutboxApplied:
    """Apply the coalition's signed outbox, all of it or nothing."""
    result = await run_in_threadpool(
        outboxes.apply_outbox, runtime, courier.coalition, courier.body
    )
    return OutboxApplied(applied=result.applied, already=result.already, records=result.records)


@router.post("/cases")
async def case_sequences(courier: OutboxCourierDep, runtime: RuntimeDep) -> CasesOut:
    """The last applied sequence number of each named case of the courier's coalition."""
    try:
        wanted = CasesRequest.model_validate_json(courier.body or b"", strict=True)
    except ValidationError:
        raise FormError() from None
    found = await run_in_threadpool(
        sequences.case_sequences, runtime, courier.coalition.id, wanted.cases
    )
    return CasesOut(cases=[CaseSequence(case=c, status_seq=s) for c, s in sorted(found.items())])


@router.post("/urgent")
async def urgent_records(courier: CourierDep, runtime: RuntimeDep) -> UrgentListOut:
    """The coalition's urgent records, sealed to its duty key, not yet acknowledged."""
    if courier.body not in (b"", b"{}"):
        raise FormError()
    records = await run_in_threadpool(urgent.waiting, runtime, courier.coalition.id)
    return UrgentListOut.model_validate({"records": records})


@router.post("/urgent/ack")
async def urgent_ack(courier: CourierDep, runtime: RuntimeDep) -> UrgentAckOut:
    """Apply the duty officer's signed acknowledgement; the urgent record is deleted."""
    applied = await run_in_threadpool(urgent.apply_ack, runtime, courier.coalition, courier.body)
    return UrgentAckOut(applied=applied)
