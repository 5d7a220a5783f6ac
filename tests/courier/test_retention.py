"""What the server keeps after the desk imported an item (service/server/courier/retention.py).

An ``imported`` record keeps the item complete and sealed, still in every bundle (a
restored desk gets it again); an ``ack`` (a desk backup holds it) deletes it; the
operator's window deletes imported items nobody acknowledged. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.common.clock import current_week
from service.common.contract.outbox import Record
from service.server.courier.retention import cutoff_week, expire_imported
from service.server.deps import Runtime
from service.server.models import ACKNOWLEDGED, COMPLETE, Item, ItemChunk
from service.server.storage.db import transaction
from tests.courier.helpers import Courier, DeskKeys, ack, bundle_items, case_refs, item_refs, outbox
from tests.support import add_files, count, file_report

KZ = "kz-coalition"


def imported(case: str, seq: int, items: list[str]) -> Record:
    return Record(type="imported", coalition=KZ, case=case, seq=seq, items=tuple(items))


def _states(runtime: Runtime) -> list[tuple[str, str | None]]:
    with runtime.sessions() as session:
        rows = session.execute(select(Item.state, Item.imported_week).order_by(Item.id))
        return [(state, week) for state, week in rows]


def _pulled_items(courier: Courier) -> list[str]:
    prepared = courier.prepare()
    if prepared["bundle"] is None:
        return []
    _manifest, items = bundle_items(courier.fetch(prepared["bundle"]).content)
    return [ref for ref, _data in items]


@pytest.fixture
def filed(client: TestClient, runtime: Runtime) -> tuple[str, list[str]]:
    token = file_report(client, narrative="kept until a backup holds it")
    add_files(client, token, [("photo.jpg", b"\xff\xd8" + b"x" * 2000)])
    (case,) = case_refs(runtime)
    return case, item_refs(runtime, case)


def test_imported_items_stay_sealed_and_in_bundles_until_acknowledged(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, list[str]]
) -> None:
    case, items = filed
    assert sorted(_pulled_items(kz_courier)) == sorted(items)
    chunks = count(runtime, ItemChunk)
    response = kz_courier.push(outbox(kz, [imported(case, 1, items)]))
    assert response.status_code == 200, response.text
    week = current_week()
    assert _states(runtime) == [(COMPLETE, week), (COMPLETE, week)]
    assert count(runtime, ItemChunk) == chunks  # nothing deleted
    # Still served: a desk restored from an older backup pulls them again.
    assert sorted(_pulled_items(kz_courier)) == sorted(items)
    # Reporting the import again (a restored desk does) changes nothing.
    assert kz_courier.push(outbox(kz, [imported(case, 2, items)])).status_code == 200
    assert _states(runtime) == [(COMPLETE, week), (COMPLETE, week)]

    # A backup holds them: deleted as before.
    assert kz_courier.push(outbox(kz, [ack(KZ, case, 3, items)])).status_code == 200
    assert [s for s, _w in _states(runtime)] == [ACKNOWLEDGED, ACKNOWLEDGED]
    assert count(runtime, ItemChunk) == 0
    assert _pulled_items(kz_courier) == []


def test_an_imported_record_naming_another_cases_item_is_refused(
    client: TestClient, kz_courier: Courier, kz: DeskKeys, runtime: Runtime
) -> None:
    file_report(client, narrative="one")
    file_report(client, narrative="two")
    first, second = case_refs(runtime)
    response = kz_courier.push(outbox(kz, [imported(first, 1, item_refs(runtime, second))]))
    assert response.status_code >= 400
    assert [w for _s, w in _states(runtime)] == [None, None]


def test_the_retention_window_deletes_imported_items_nobody_acknowledged(
    kz_courier: Courier, kz: DeskKeys, runtime: Runtime, filed: tuple[str, list[str]]
) -> None:
    case, items = filed
    assert kz_courier.push(outbox(kz, [imported(case, 1, items)])).status_code == 200
    today = dt.datetime.now(dt.UTC).date()
    with transaction(runtime.sessions) as session:
        # Seven weeks later, inside the default eight-week window: kept.
        assert expire_imported(session, 8, today + dt.timedelta(weeks=7)) == 0
    assert count(runtime, ItemChunk) > 0
    with transaction(runtime.sessions) as session:
        assert expire_imported(session, 8, today + dt.timedelta(weeks=9)) == 2
    assert [s for s, _w in _states(runtime)] == [ACKNOWLEDGED, ACKNOWLEDGED]
    assert count(runtime, ItemChunk) == 0
    assert _pulled_items(kz_courier) == []


def test_items_never_imported_are_never_expired(
    runtime: Runtime, filed: tuple[str, list[str]]
) -> None:
    with transaction(runtime.sessions) as session:
        far = dt.datetime.now(dt.UTC).date() + dt.timedelta(weeks=500)
        assert expire_imported(session, 0, far) == 0
    assert [s for s, _w in _states(runtime)] == [COMPLETE, COMPLETE]


def test_the_window_is_a_setting_with_an_eight_week_default() -> None:
    from service.server.settings import Settings

    assert Settings.model_fields["keep_imported_weeks"].default == 8
    assert cutoff_week(8, dt.date(2026, 12, 3)) == "2026-W41"
