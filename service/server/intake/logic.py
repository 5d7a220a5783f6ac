"""Form-path work: turn what a person typed or uploaded into sealed items.

On this path the person's browser runs no code, so the server seals: plaintext exists only
in this process's memory for the length of the request and is sealed to the coalition's
public keys before any byte is written (SECURITY.md guarantee 1). Files are sealed while
they stream in, piece by piece; nothing is spooled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from service.common.clock import current_week
from service.common.contract.duty import UrgentRecord, urgent_plaintext
from service.common.contract.vocabulary import COUNTRIES
from service.common.crypto.envelope import Sealer, seal
from service.common.crypto.grants import issue_grant
from service.common.crypto.itemseal import case_item_sealer, seal_case_item
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import TokenSecrets
from service.common.errors import FormError, UnknownCoalitionError
from service.common.questionnaire import Questionnaire
from service.common.questionnaire.payload import answers_plaintext
from service.server.cases import logic as cases
from service.server.deps import Runtime
from service.server.models import Case, Item
from service.server.registry.logic import CoalitionEntry
from service.server.storage.db import transaction
from service.server.storage.items import ItemWriter, discard_pending
from service.server.storage.quota import check_case
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
    # The case's item-signing seed (from the token, as on the form path, where the server
    # seals with it itself) and the position the next item takes; see crypto/itemseal.py.
    # The page already carries the token in its forms, so the seed adds no exposure.
    signing_seed: str = ""
    position: int = 1


def browser_upload(
    runtime: Runtime, case_ref: bytes, coalition: CoalitionEntry, secrets: TokenSecrets
) -> BrowserUpload:
    return BrowserUpload(
        grant=issue_grant(runtime.upload_grants, case_ref),
        keys=" ".join(key.hex() for key in coalition.recipients),
        case_public_key=secrets.reply.public.hex(),
        week=current_week(),
        max_bytes=runtime.settings.max_submission_bytes,
        signing_seed=secrets.signing.seed.hex(),
        position=_count_items(runtime, case_ref=case_ref) + 1,
    )


def _count_items(runtime: Runtime, *, case_ref: bytes, up_to: int | None = None) -> int:
    """Items of the case (any state): the next item's position is this plus one.

    Pending items count: an upload under way holds its position. One that never
    completes leaves a gap the desk reports as "never received", which is what it is.
    """
    query = select(func.count(Item.id)).join(Case, Item.case_id == Case.id)
    query = query.where(Case.ref == case_ref)
    if up_to is not None:
        query = query.where(Item.id <= up_to)
    with transaction(runtime.sessions) as session:
        return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class ArrivedFile:
    name: str
    size: int


def route(runtime: Runtime, country: str, recipient: str) -> Routing:
    """The coalition chosen on the form: the country's national body or a fallback."""
    if country not in COUNTRIES:
        raise UnknownCoalitionError()
    registry = runtime.registry
    # "national" for a country without its own coalition here means the fallback the
    # write page names for it.
    coalition = registry.receiver(country) if recipient == NATIONAL else registry.get(recipient)
    if coalition is None or (recipient != NATIONAL and not coalition.fallback):
        raise UnknownCoalitionError()
    return Routing(country, coalition)


def seal_answers(
    routing: Routing,
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    language: str,
    secrets: TokenSecrets,
    urgent: Mapping[str, Any] | None = None,
) -> bytes:
    # The answers create the case: always position 1.
    return seal_case_item(
        routing.coalition.recipients,
        secrets.signing,
        secrets.reply.public,
        1,
        lambda fields: answers_plaintext(
            questionnaire,
            language=language,
            country=routing.country,
            coalition_id=routing.coalition.id,
            answers=answers,
            case_public_key=secrets.reply.public,
            seal=fields,
            urgent=urgent,
        ),
    )


@dataclass(frozen=True)
class SealedUrgent:
    ref: bytes
    epoch: int
    data: bytes


def seal_urgent(
    routing: Routing, answers: Mapping[str, Any], secrets: TokenSecrets, ref: bytes
) -> SealedUrgent | None:
    """The urgent record sealed to the coalition's duty key only (never to the desk's keys,
    and the full case never to the duty key); None when the coalition has no duty key."""
    duty = routing.coalition.duty
    if duty is None:
        return None
    record = UrgentRecord(
        coalition=routing.coalition.id,
        ref=ref,
        reply_key=secrets.reply.public,
        week=current_week(),
        answers=dict(answers),
    )
    sealed = seal(urgent_plaintext(record), [duty.public_key], padded=True)
    return SealedUrgent(ref, duty.epoch, sealed)


def seal_message(
    runtime: Runtime, case: Case, coalition: CoalitionEntry, text: str, secrets: TokenSecrets
) -> bytes:
    meta = {
        "type": "message",
        "created": current_week(),
        "media_type": "text/plain; charset=utf-8",
    }
    position = _count_items(runtime, case_ref=case.ref) + 1
    return seal_case_item(
        coalition.recipients,
        secrets.signing,
        secrets.reply.public,
        position,
        lambda fields: encode_payload_prefix({**meta, **fields}) + text.encode("utf-8"),
    )


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
                # Counted after the row is committed, so concurrent uploads differ.
                position = await run_in_threadpool(
                    _count_items, runtime, case_ref=case.ref, up_to=item_id
                )
                writer = ItemWriter(runtime.sessions, item_id, 0, 0)
                sealer, fields = case_item_sealer(
                    coalition.recipients, secrets.signing, secrets.reply.public, position
                )
                current = event.filename
                meta = {
                    "type": "file",
                    "name": event.filename,
                    "media_type": event.content_type,
                    "created": current_week(),
                    **fields,
                }
                head = sealer.header + sealer.update(encode_payload_prefix(meta))
                await _write(writer, head)
            elif isinstance(event, FileData) and sealer is not None and writer is not None:
                await _write(writer, sealer.update(event.data))
            elif isinstance(event, FileEnd) and sealer is not None and writer is not None:
                # The padding (up to half the file again) goes out in bounded pieces.
                for piece in sealer.finish_pieces():
                    await _write(writer, piece)
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
        # Each file needs room in its case (the request's bytes are already held).
        check_case(session, runtime.settings, case.id)
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
