"""Receipts: ``POST /courier/v1/cases`` and the receipt ``aryz courier push`` keeps.

The endpoint tells the courier the last applied sequence number of its own coalition's
cases only (another coalition's case is left out, as if unknown); the client writes a
receipt for an applied and for a refused outbox, and none when the request itself failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.contract.credential import Credential
from service.common.contract.receipt import ReceiptError, decode
from service.field.courier import CourierClientError, deliver
from service.server.deps import Runtime
from tests.courier.helpers import Courier, DeskKeys, case_refs, outbox, status
from tests.support import file_report

KZ = "kz-coalition"


def _sequences(courier: Courier, refs: list[str]) -> dict[str, int]:
    response = courier.request("POST", "/courier/v1/cases", json.dumps({"cases": refs}).encode())
    assert response.status_code == 200, response.text
    return {c["case"]: c["status_seq"] for c in response.json()["cases"]}


def test_cases_answers_only_for_the_couriers_own_coalition(
    client: TestClient, kz_courier: Courier, kz: DeskKeys, runtime: Runtime
) -> None:
    file_report(client, narrative="kz")
    file_report(client, narrative="kg", country="KG")
    (kz_case,) = case_refs(runtime, KZ)
    (kg_case,) = case_refs(runtime, "kg-coalition")
    assert _sequences(kz_courier, [kz_case, kg_case, "00" * 16]) == {kz_case: 0}
    assert kz_courier.push(outbox(kz, [status(KZ, kz_case, 1, "under_review")])).status_code == 200
    assert _sequences(kz_courier, [kz_case]) == {kz_case: 1}


@pytest.mark.parametrize("body", [b"", b"{}", b'{"cases": ["zz"]}', b'{"cases": "ab"}'])
def test_cases_refuses_a_malformed_request(kz_courier: Courier, body: bytes) -> None:
    response = kz_courier.request("POST", "/courier/v1/cases", body)
    assert response.status_code == 400


def _credential(kz: DeskKeys) -> Credential:
    return Credential(KZ, kz.courier_key_id, b"", kz.courier_seed)


def test_push_keeps_a_receipt_for_applied_and_refused_outboxes(
    client: TestClient, courier_app: TestClient, kz: DeskKeys, runtime: Runtime, tmp_path: Path
) -> None:
    file_report(client, narrative="kz")
    (case,) = case_refs(runtime, KZ)
    first = tmp_path / "outbox-1.json"
    first.write_bytes(outbox(kz, [status(KZ, case, 1, "under_review")]))
    done = deliver(courier_app, _credential(kz), first, tmp_path / "r1.json", sleep=lambda _s: None)
    assert (done.applied, done.records, done.refused) == (True, 1, None)
    receipt = decode((tmp_path / "r1.json").read_bytes(), KZ)
    assert (receipt.applied, receipt.cases) == (True, {case: 1})

    gap = tmp_path / "outbox-2.json"
    gap.write_bytes(outbox(kz, [status(KZ, case, 3, "closed")]))
    refused = deliver(
        courier_app, _credential(kz), gap, tmp_path / "r2.json", sleep=lambda _s: None
    )
    assert not refused.applied
    assert refused.refused is not None
    assert "does not continue" in refused.refused
    receipt = decode((tmp_path / "r2.json").read_bytes(), KZ)
    assert (receipt.applied, receipt.cases) == (False, {case: 1})
    with pytest.raises(ReceiptError):
        decode((tmp_path / "r2.json").read_bytes(), "kg-coalition")

    # Pushed twice: "already applied", and the receipt says applied again.
    again = deliver(
        courier_app, _credential(kz), first, tmp_path / "r3.json", sleep=lambda _s: None
    )
    assert (again.applied, again.already) == (False, True)
    assert decode((tmp_path / "r3.json").read_bytes(), KZ).applied


def test_no_receipt_when_the_request_itself_fails(
    courier_app: TestClient, kz: DeskKeys, kg: DeskKeys, tmp_path: Path
) -> None:
    box = tmp_path / "outbox.json"
    box.write_bytes(b'{"format": "aryz-outbox"}')
    wrong = Credential(KZ, kz.courier_key_id, b"", kg.courier_seed)  # a bad signature
    with pytest.raises(CourierClientError):
        deliver(courier_app, wrong, box, tmp_path / "r.json", sleep=lambda _s: None)
    assert not (tmp_path / "r.json").exists()


def test_a_sync_bundle_lists_every_numbered_case_even_with_nothing_waiting(
    client: TestClient, kz_courier: Courier, kz: DeskKeys, runtime: Runtime
) -> None:
    from tests.courier.helpers import ack, bundle_items, item_refs

    file_report(client, narrative="one")
    file_report(client, narrative="two, never answered")
    first, second = case_refs(runtime, KZ)
    records = [status(KZ, first, 1, "under_review"), ack(KZ, first, 2, item_refs(runtime, first))]
    assert kz_courier.push(outbox(kz, records)).status_code == 200
    plain = kz_courier.prepare()
    manifest, _items = bundle_items(kz_courier.fetch(plain["bundle"]).content)
    assert [c.case for c in manifest.cases] == [second]  # only cases with items waiting

    response = kz_courier.request("POST", "/courier/v1/bundles", b'{"sync": true}')
    assert response.status_code == 200, response.text
    synced, _items = bundle_items(kz_courier.fetch(response.json()["bundle"]).content)
    assert {(c.case, c.status_seq) for c in synced.cases} == {(first, 2), (second, 0)}
    assert [i.case for i in synced.items] == [second]


def test_a_sync_bundle_is_made_with_no_item_waiting(
    client: TestClient, kz_courier: Courier, kz: DeskKeys, runtime: Runtime
) -> None:
    from tests.courier.helpers import ack, bundle_items, item_refs

    file_report(client, narrative="answered and backed up")
    (case,) = case_refs(runtime, KZ)
    assert (
        kz_courier.push(outbox(kz, [ack(KZ, case, 1, item_refs(runtime, case))])).status_code == 200
    )
    assert kz_courier.prepare()["bundle"] is None  # nothing new
    response = kz_courier.request("POST", "/courier/v1/bundles", b'{"sync": true}')
    manifest, items = bundle_items(kz_courier.fetch(response.json()["bundle"]).content)
    assert ([(c.case, c.status_seq) for c in manifest.cases], items) == ([(case, 1)], [])
