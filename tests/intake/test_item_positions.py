"""The form path places and signs every item it seals (ENVELOPE-v3.md §3): the answers
at 1, then each message and file at the next position, all with the case's key."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.common.crypto.envelope import open_envelope
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import split_payload
from service.common.crypto.token import MIN_LIMITS, derive
from service.desk.casework.completeness import COMPLETE, check_case, seal_record
from service.server.deps import Runtime
from service.server.models import COMPLETE as STORED
from service.server.models import Case, Item
from service.server.storage.items import iter_ciphertext
from tests.support import add_files, file_report

Opened = tuple[dict[str, Any], dict[str, Any] | None]


def _items(runtime: Runtime, keys: dict[str, BoxKeyPair]) -> list[Opened]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Item.id, Case.coalition_id)
            .join(Case, Case.id == Item.case_id)
            .where(Item.state == STORED)
            .order_by(Item.id)
        ).all()
    out = []
    for item_id, coalition in rows:
        envelope = b"".join(iter_ciphertext(runtime.sessions, item_id))
        meta, _body = split_payload(open_envelope(envelope, [keys[coalition]]))
        out.append((meta, seal_record(meta, envelope)))
    return out


def test_answers_messages_and_files_are_placed_and_signed(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    token = file_report(client)
    message = client.post("/en/case/message", data={"token": token, "message": "One more."})
    assert message.status_code == 200
    files = add_files(client, token, [("a.jpg", b"\xff\xd8a"), ("b.pdf", b"%PDF-1.4 b")])
    assert files.status_code == 200
    items = _items(runtime, desk_keys)
    assert [meta["type"] for meta, _seal in items] == ["answers", "message", "file", "file"]
    seals = [seal for _meta, seal in items]
    assert all(seal is not None and seal["valid"] for seal in seals)
    assert [seal["position"] for seal in seals if seal] == [1, 2, 3, 4]
    # Signed with the key the token derives, so only a token holder could have.
    signing = derive(token, MIN_LIMITS).signing.verify.hex()
    assert {seal["signer"] for seal in seals if seal} == {signing}
    result = check_case([(str(n), seal) for n, seal in enumerate(seals)])
    assert (result.state, result.highest) == (COMPLETE, 4)


def test_the_page_gives_the_browser_the_next_position(client: TestClient, runtime: Runtime) -> None:
    token = file_report(client)
    add_files(client, token, [("a.bin", b"a")])
    page = client.post("/en/status", data={"token": token}).text
    assert 'data-position="3"' in page
    signing = derive(token, MIN_LIMITS).signing.seed.hex()
    assert f'data-signing="{signing}"' in page
