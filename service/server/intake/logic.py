"""Form-path work: turn what a person typed or uploaded into sealed items.

On this path the person's browser runs no code, so the server seals: plaintext exists only
in this process's memory for the length of the request and is sealed to the coalition's
public keys before any byte is written (security brief item 1). Files are sealed while
they stream in, piece by piece; nothing is spooled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from service.common.clock import current_week
from service.common.contract.countries import COUNTRIES
from service.common.crypto.envelope import Sealer, seal
from service.common.crypto.grants import issue_grant
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import TokenSecrets
from service.common.errors import FormError, UnknownCoalitionError
from service.common.questionnaire import Questionnaire
from service.common.questionnaire.payload import answers_plaintext
from service.server.cases import logic as cases
from service.server.deps import Runtime
from service.server.models import Case
from service.server.registry.logic import CoalitionEntry
from service.server.storage.db import transaction
from service.server.storage.items import ItemWriter, discard_pending
from service.server.web.multipart import Field, FileData, FileEnd, FileStart, Limits, read_multipart

NATIONAL = "national"


@dataclass(frozen=True)
class Routing:
    country: str
    coalition: CoalitionEntry


@dataclass(frozen=True)
class BrowserUpload:
    """What a page gives its sealing script (as data attributes; upload.js reads them).

    All public except the grant (see service/common/crypto/grants.py), which only adds items to
    this one case. The ISO week comes from the server, as on the form path, so items
    sealed either way carry the same metadata and the browser's clock is never read.
    """

    grant: str
    keys: str  # the coalition's current X25519 public keys, hex, space-separated
    case_public_key: str  # hex of the case's reply public key (payload metadata)
    week: str
    max_bytes: int


def browser_upload(
    runtime: Runtime, case_ref: bytes, coalition: CoalitionEntry, secrets: TokenSecrets
) -> BrowserUpload:
    return BrowserUpload(
        grant=issue_grant(runtime.upload_grants, case_ref),
        keys=" ".join(key.hex() for key in coalition.recipients),
        case_public_key=secrets.reply.public.hex(),
        week=current_week(),
        max_bytes=runtime.settings.max_submission_bytes,
    )


@dataclass(frozen=True)
class ArrivedFile:
    name: str
    size: int


def route(runtime: Runtime, country: str, recipient: str) -> Routing:
    """The coalition chosen on the form: the country's national body or a fallback."""
    if country not in COUNTRIES:
        raise UnknownCoalitionError()
    registry = runtime.registry
    coalition = registry.national(country) if recipient == NATIONAL else registry.get(recipient)
    if coalition is None or (recipient != NATIONAL and not coalition.fallback):
        raise UnknownCoalitionError()
    return Routing(country, coalition)


def seal_answers(
    routing: Routing,
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    language: str,
    secrets: TokenSecrets,
) -> bytes:
    plaintext = answers_plaintext(
        questionnaire,
        language=language,
        country=routing.country,
        coalition_id=routing.coalition.id,
        answers=answers,
        case_public_key=secrets.reply.public,
    )
    return seal(plaintext, routing.coalition.recipients)


def seal_message(coalition: CoalitionEntry, text: str, secrets: TokenSecrets) -> bytes:
    meta = {
        "type": "message",
        "created": current_week(),
        "media_type": "text/plain; charset=utf-8",
        "case_public_key": secrets.reply.public.hex(),
    }
    return seal(encode_payload_prefix(meta) + text.encode("utf-8"), coalition.recipients)


async def store_files(
    runtime: Runtime,
    case: Case,
    coalition: CoalitionEntry,
    secrets: TokenSecrets,
    events: AsyncIterator[Field | FileStart | FileData | FileEnd],
) -> list[ArrivedFile]:
    """Seal and store each file part as its own item, as it streams in.

    Each file is acknowledged (complete) only when its last byte is committed. If the
    upload is cut off, the file in progress is discarded; files already complete stay,
    and the status page counts them, so the person can tell what arrived.
    """
    arrived: list[ArrivedFile] = []
    writer: ItemWriter | None = None
    sealer: Sealer | None = None
    item_id: int | None = None
    current = ""
    try:
        async for event in events:
            if isinstance(event, FileStart):
                item_id = await run_in_threadpool(_new_item, runtime, case)
                writer = ItemWriter(runtime.sessions, item_id, 0, 0)
                sealer = Sealer(coalition.recipients)
                current = event.filename
                meta = {
                    "type": "file",
                    "name": event.filename,
                    "media_type": event.content_type,
                    "created": current_week(),
                    "case_public_key": secrets.reply.public.hex(),
                }
                head = sealer.header + sealer.update(encode_payload_prefix(meta))
                await _write(writer, head)
            elif isinstance(event, FileData) and sealer is not None and writer is not None:
                await _write(writer, sealer.update(event.data))
            elif isinstance(event, FileEnd) and sealer is not None and writer is not None:
                writer.append(sealer.finish())
                await run_in_threadpool(writer.complete)
                arrived.append(ArrivedFile(current, event.size))
                writer = sealer = item_id = None
            elif isinstance(event, Field):
                # Only files may follow the token; a stray field means a forged form.
                raise FormError()
    except BaseException:
        if item_id is not None:
            await run_in_threadpool(_discard, runtime, item_id)
        raise
    return arrived


async def _write(writer: ItemWriter, data: bytes) -> None:
    if writer.append(data):
        await run_in_threadpool(writer.drain)


def _new_item(runtime: Runtime, case: Case) -> int:
    with transaction(runtime.sessions) as session:
        item = cases.new_item(session, case.id)
        session.flush()
        return item.id


def _discard(runtime: Runtime, item_id: int) -> None:
    with transaction(runtime.sessions) as session:
        discard_pending(session, item_id)


def multipart_events(
    runtime: Runtime, stream: AsyncIterator[bytes], content_type: str | None
) -> AsyncIterator[Field | FileStart | FileData | FileEnd]:
    settings = runtime.settings
    limits = Limits(
        max_body_bytes=settings.max_submission_bytes,
        max_files=settings.max_files_per_request,
        max_fields=10,
    )
    return read_multipart(stream, content_type, limits)
