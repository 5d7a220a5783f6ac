"""The server's side of a transfer (outbox record ``transfer``): the case moves to the
other coalition with its re-sealed items, or the whole outbox is refused and nothing
changes — a bad signature, an unknown receiver, items sealed to the wrong keys, items
that are not exactly the case's, content that does not match what was signed."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.common.contract.outbox import (
    OutboxError,
    Record,
    decode,
    encode,
    transfer_record,
)
from service.common.crypto.envelope import seal
from service.common.crypto.keys import generate_signing_keypair
from service.common.crypto.payload import encode_payload_prefix
from service.server.deps import Runtime
from service.server.models import COMPLETE, Case, Item, ItemChunk, Reply
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    item_refs,
    outbox,
    reply,
    reply_public_key,
    sealed_reply,
    status,
)
from tests.courier.test_outbox import _refused
from tests.courier.test_outbox import filed as filed  # noqa: F401 - the fixture
from tests.support import add_files, count

KZ, KG = "kz-coalition", "kg-coalition"


def resealed(runtime: Runtime, coalition: str, count: int) -> tuple[bytes, ...]:
    entry = runtime.registry.get(coalition)
    assert entry is not None
    return tuple(
        seal(encode_payload_prefix({"type": "message"}) + b"re-sealed %d" % i, entry.recipients)
        for i in range(count)
    )


def transfer(
    runtime: Runtime,
    case: str,
    seq: int,
    *,
    to: str = KG,
    items: list[str] | None = None,
    sealed_to: str | None = None,
) -> Record:
    refs = item_refs(runtime, case) if items is None else items
    return transfer_record(
        KZ,
        case,
        seq,
        to,
        reply_public_key(runtime, case).hex(),
        tuple(refs),
        resealed(runtime, sealed_to or to, len(refs)),
    )


def test_the_case_moves_to_the_other_coalition(
    client: TestClient,
    runtime: Runtime,
    kz: DeskKeys,
    kg: DeskKeys,
    kz_courier: Courier,
    kg_courier: Courier,
    filed: tuple[str, str],
) -> None:
    token, case = filed
    key = reply_public_key(runtime, case)
    answered = reply(KZ, case, 1, sealed_reply(key, "KZ: passing it on."), key.hex())
    record = transfer(runtime, case, 2)
    data = outbox(kz, [answered, record])
    response = kz_courier.push(data)
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": True, "already": False, "records": 2}
    assert kz_courier.push(data).json()["already"] is True

    with runtime.sessions() as session:
        moved = session.scalars(select(Case)).one()
        assert (moved.coalition_id, moved.status, moved.status_seq) == (KG, "received", 2)
        assert moved.transfer_from == KZ
        items = session.scalars(select(Item).where(Item.case_id == moved.id)).all()
        # The old items are gone; the re-sealed ones stand in their place.
        assert {i.ref.hex() for i in items}.isdisjoint(record.replaces)
        assert [i.state for i in items] == [COMPLETE, COMPLETE]
        assert session.scalars(select(Reply.coalition_id)).one() == KZ
    assert count(runtime, ItemChunk) == 2

    # KG's courier gets it; KZ's no longer does, and its records for it are refused.
    assert kz_courier.prepare()["items"] == 0
    assert kg_courier.prepare()["items"] == 2
    _refused(kz_courier, runtime, outbox(kz, [status(KZ, case, 3, "closed")]), 400, "outbox_case")
    applied = kg_courier.push(outbox(kg, [status(KG, case, 3, "under_review", key.hex())]))
    assert applied.status_code == 200, applied.text

    # The family: passed on, the earlier answer still shown (checked with KZ's key).
    page = client.post("/ru/status", data={"token": token})
    assert "Ваше обращение передано организации Коалиция против пыток в Кыргызстане" in page.text
    assert "KZ: passing it on." in page.text
    assert "Рассматривается" in page.text


def test_a_forged_transfer_is_refused(
    runtime: Runtime, kz: DeskKeys, kz_courier: Courier, filed: tuple[str, str]
) -> None:
    _token, case = filed
    forger = DeskKeys(KZ, generate_signing_keypair().seed, kz.courier_seed, kz.courier_key_id)
    _refused(kz_courier, runtime, outbox(forger, [transfer(runtime, case, 1)]), 400, "outbox")


def test_a_transfer_to_an_unknown_coalition_is_refused(
    runtime: Runtime, kz: DeskKeys, kz_courier: Courier, filed: tuple[str, str]
) -> None:
    _token, case = filed
    record = transfer(runtime, case, 1, to="nowhere-coalition", sealed_to=KG)
    _refused(kz_courier, runtime, outbox(kz, [record]), 400, "outbox_transfer_target")


def test_a_transfer_to_its_own_coalition_cannot_even_be_written(
    runtime: Runtime, kz: DeskKeys, filed: tuple[str, str]
) -> None:
    _token, case = filed
    with pytest.raises(OutboxError):
        outbox(kz, [transfer(runtime, case, 1, to=KZ)])


def test_items_sealed_to_other_keys_are_refused(
    runtime: Runtime, kz: DeskKeys, kz_courier: Courier, filed: tuple[str, str]
) -> None:
    _token, case = filed
    record = transfer(runtime, case, 1, sealed_to=KZ)  # not to KG's keys: KG could not open
    _refused(kz_courier, runtime, outbox(kz, [record]), 400, "outbox_transfer_sealed")


def test_a_transfer_missing_an_item_is_refused(
    client: TestClient,
    runtime: Runtime,
    kz: DeskKeys,
    kz_courier: Courier,
    filed: tuple[str, str],
) -> None:
    token, case = filed
    record = transfer(runtime, case, 1)
    # The family adds a file after the desk's last import: the desk did not re-seal it.
    add_files(client, token, [("late.jpg", b"\xff\xd8" + b"y" * 100)])
    _refused(kz_courier, runtime, outbox(kz, [record]), 400, "outbox_transfer_items")
    fewer = transfer(runtime, case, 1, items=item_refs(runtime, case)[:1])
    _refused(kz_courier, runtime, outbox(kz, [fewer]), 400, "outbox_transfer_items")


def test_items_changed_after_signing_are_refused(
    runtime: Runtime, kz: DeskKeys, kz_courier: Courier, filed: tuple[str, str]
) -> None:
    _token, case = filed
    document = json.loads(outbox(kz, [transfer(runtime, case, 1)]))
    swapped = resealed(runtime, KG, 1)[0]
    document["records"][0]["sealed"][0] = base64.b64encode(swapped).decode("ascii")
    _refused(kz_courier, runtime, json.dumps(document).encode(), 400, "outbox")


def test_the_page_says_passed_on_only_when_the_source_signed_it(
    client: TestClient,
    runtime: Runtime,
    kz: DeskKeys,
    kz_courier: Courier,
    filed: tuple[str, str],
) -> None:
    token, case = filed
    assert kz_courier.push(outbox(kz, [transfer(runtime, case, 1)])).status_code == 200
    assert "передано организации" in client.post("/ru/status", data={"token": token}).text
    with runtime.sessions() as session, session.begin():
        session.execute(update(Case).values(transfer_content=b"\x00" * 32))
    page = client.post("/ru/status", data={"token": token})
    assert page.status_code == 200
    assert "передано организации" not in page.text


def test_an_outbox_record_carries_nothing_beside_its_body_but_a_transfer() -> None:
    signer = generate_signing_keypair()
    case = "ab" * 16
    data = json.loads(encode(KZ, [Record("status", KZ, case, 1, status="closed")], signer.seed))
    data["records"][0]["sealed"] = []
    with pytest.raises(OutboxError):
        decode(json.dumps(data).encode(), {KZ: signer.verify})
