"""The ``quarantine`` record (EXCHANGE-v1.md §3): the desk set an item aside because it is
bad in itself, and the server drops it like an acknowledged item, so a poison item stops
riding in every bundle (F-01, F-16)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.common.contract.outbox import Record
from service.server.deps import Runtime
from service.server.models import ACKNOWLEDGED, COMPLETE, Item, ItemChunk
from tests.courier.helpers import Courier, DeskKeys, ack, case_refs, item_refs, outbox
from tests.support import add_files, count, file_report

KZ = "kz-coalition"


def quarantine(case: str, seq: int, items: list[str]) -> Record:
    return Record(type="quarantine", coalition=KZ, case=case, seq=seq, items=tuple(items))


def test_a_quarantined_item_is_dropped_by_the_server_and_leaves_the_bundles(
    client: TestClient, runtime: Runtime, kz_courier: Courier, kz: DeskKeys
) -> None:
    token = file_report(client, narrative="a report")
    add_files(client, token, [("poison.bin", b"x" * 3000)])
    (case,) = case_refs(runtime, KZ)
    answers, poison = item_refs(runtime, case)

    response = kz_courier.push(outbox(kz, [quarantine(case, 1, [poison])]))
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": True, "already": False, "records": 1}
    assert count(runtime, Item, Item.state == ACKNOWLEDGED) == 1
    assert count(runtime, Item, Item.state == COMPLETE) == 1
    with runtime.sessions() as session:
        poison_id = session.query(Item.id).filter(Item.ref == bytes.fromhex(poison)).scalar()
    assert count(runtime, ItemChunk, ItemChunk.item_id == poison_id) == 0
    # The next bundle holds only the item that was not set aside.
    assert kz_courier.prepare()["items"] == 1

    # Acknowledging the other one later goes on from the same sequence.
    response = kz_courier.push(outbox(kz, [ack(KZ, case, 2, [answers])]))
    assert response.status_code == 200, response.text
    assert kz_courier.prepare()["items"] == 0


def test_a_quarantine_record_for_an_item_of_another_case_is_refused(
    client: TestClient, runtime: Runtime, kz_courier: Courier, kz: DeskKeys
) -> None:
    file_report(client, narrative="one")
    file_report(client, narrative="two")
    first, second = case_refs(runtime, KZ)
    (other,) = item_refs(runtime, second)
    response = kz_courier.push(outbox(kz, [quarantine(first, 1, [other])]))
    assert response.status_code == 400
    assert count(runtime, Item, Item.state == COMPLETE) == 2
