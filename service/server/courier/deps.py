"""The authenticated courier, as a FastAPI dependency that also hands over the body.

The signature covers the body's SHA-256, so the body is read (capped) before the
request is checked; the route then uses those same bytes, never a second read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from service.common.webkit.forms import read_body
from service.server.courier.auth import authenticate
from service.server.courier.schemas import MAX_OUTBOX_BYTES
from service.server.deps import RuntimeDep
from service.server.registry.logic import CoalitionEntry

SMALL_BODY = 4096


@dataclass(frozen=True)
class CourierRequest:
    coalition: CoalitionEntry
    body: bytes


def _authenticated(limit: int) -> Callable[[Request, RuntimeDep], Awaitable[CourierRequest]]:
    async def dependency(request: Request, runtime: RuntimeDep) -> CourierRequest:
        body = await read_body(request.stream(), limit)
        coalition = await run_in_threadpool(
            authenticate,
            runtime,
            request.headers.get("authorization"),
            request.method,
            request.url.path,
            body,
        )
        return CourierRequest(coalition, body)

    return dependency


CourierDep = Annotated[CourierRequest, Depends(_authenticated(SMALL_BODY))]
OutboxCourierDep = Annotated[CourierRequest, Depends(_authenticated(MAX_OUTBOX_BYTES))]
