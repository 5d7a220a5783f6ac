"""The status page after the desk answered: the status label, the replies opened in
memory with the token's key, acknowledged items still counted, and one page size."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.common.contract.outbox import Record
from service.common.crypto.token import generate_token
from service.server.courier.outboxes import apply_outbox
from service.server.deps import Runtime
from tests.courier.helpers import (
    ack,
    case_refs,
    desk,
    item_refs,
    outbox,
    reply,
    reply_public_key,
    sealed_reply,
    status,
)
from tests.support import file_report

KZ = "kz-coalition"


def _answer(runtime: Runtime, registry_dir: Path, case: str, records: list[Record]) -> None:
    coalition = runtime.registry.get(KZ)
    assert coalition is not None
    apply_outbox(runtime, coalition, outbox(desk(registry_dir, KZ), records))


def test_reply_and_status_appear_with_a_way_to_answer(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    token = file_report(client)
    (case,) = case_refs(runtime)
    key = reply_public_key(runtime, case)
    _answer(
        runtime,
        registry_dir,
        case,
        [
            status(KZ, case, 1, "need_info"),
            reply(KZ, case, 2, sealed_reply(key, "First answer.\nWhere was he held?")),
            reply(KZ, case, 3, sealed_reply(key, "Second answer.")),
        ],
    )
    page = client.post("/en/status", data={"token": token})
    assert page.status_code == 200
    assert "We need more information" in page.text
    assert page.text.index("First answer.\nWhere was he held?") < page.text.index("Second answer")
    assert "To answer, write a message below" in page.text
    assert 'action="/en/case/message"' in page.text
    russian = client.post("/ru/status", data={"token": token})
    assert "Нам нужно больше информации" in russian.text
    assert "Чтобы ответить" in russian.text


def test_a_reply_of_another_type_is_not_shown_as_text(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    token = file_report(client)
    (case,) = case_refs(runtime)
    key = reply_public_key(runtime, case)
    _answer(runtime, registry_dir, case, [reply(KZ, case, 1, sealed_reply(key, "x", "file"))])
    page = client.post("/en/status", data={"token": token})
    assert "A reply could not be opened." in page.text


def test_acknowledged_items_still_count_as_received(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    token = file_report(client)
    (case,) = case_refs(runtime)
    _answer(runtime, registry_dir, case, [ack(KZ, case, 1, item_refs(runtime, case))])
    page = client.post("/en/status", data={"token": token})
    assert "Your case holds 1 sealed item." in page.text
    assert "already taken 1 of them" in page.text
    api = client.post("/api/v1/status", json={"lookup_id": _lookup_id(token)}).json()
    assert api["items_received"] == 1


def _lookup_id(token: str) -> str:
    from service.common.crypto.token import MIN_LIMITS, derive

    return derive(token, MIN_LIMITS).lookup_id.hex()


def test_pages_with_and_without_replies_have_one_size(
    client: TestClient, runtime: Runtime, registry_dir: Path
) -> None:
    quiet = file_report(client, narrative="no answer yet")
    answered = file_report(client, narrative="answered")
    case = case_refs(runtime)[1]
    key = reply_public_key(runtime, case)
    _answer(
        runtime,
        registry_dir,
        case,
        [
            status(KZ, case, 1, "referred"),
            reply(KZ, case, 2, sealed_reply(key, "Ваше дело передано адвокату. " * 20)),
            ack(KZ, case, 3, item_refs(runtime, case)),
        ],
    )
    for lang in ("en", "ru"):
        without = client.post(f"/{lang}/status", data={"token": quiet})
        with_reply = client.post(f"/{lang}/status", data={"token": answered})
        missing = client.post(f"/{lang}/status", data={"token": generate_token()})
        assert "передано адвокату" in with_reply.text
        assert len(without.content) == len(with_reply.content) == len(missing.content)
        assert len(with_reply.content) % 16384 == 0
