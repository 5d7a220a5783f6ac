"""Audit F-16: API cases and pending uploads are bounded globally, with no identifier of
the sender. On e75117f any number of cases and unfinished uploads could be made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.errors import BusyError
from service.server.app import build_runtime, create_app
from service.server.cases.limits import CaseBucket
from service.server.deps import Runtime
from service.server.models import Case, Item
from tests.api.test_api import _create
from tests.conftest import make_settings
from tests.support import count


@pytest.fixture
def tight(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> Iterator[tuple[TestClient, Runtime]]:
    settings = make_settings(
        tmp_path,
        database_url,
        registry_dir,
        api_case_burst=3,
        api_cases_per_hour=1,
        max_pending_uploads=3,
        max_pending_per_case=2,
    )
    runtime = build_runtime(settings)
    with TestClient(create_app(runtime=runtime)) as client:
        yield client, runtime
    runtime.engine.dispose()


def test_a_flood_of_api_cases_is_bounded_and_retries_are_free(
    tight: tuple[TestClient, Runtime],
) -> None:
    client, runtime = tight
    made = [_create(client) for _ in range(4)]
    for _secrets, payload in made[:3]:
        assert client.post("/api/v1/cases", json=payload).status_code == 201
    # A retried case creates nothing and costs nothing.
    assert client.post("/api/v1/cases", json=made[0][1]).status_code == 200
    refused = client.post("/api/v1/cases", json=made[3][1])
    assert refused.status_code == 503
    assert refused.json() == {"error": "busy", "message": BusyError.message}
    assert count(runtime, Case) == 3


def test_pending_uploads_are_bounded_per_case_and_in_total(
    tight: tuple[TestClient, Runtime],
) -> None:
    client, runtime = tight
    ids = []
    for _ in range(2):
        secrets, payload = _create(client)
        assert client.post("/api/v1/cases", json=payload).status_code == 201
        ids.append(secrets.lookup_id.hex())

    def start(lookup_id: str) -> int:
        answer = client.post("/api/v1/uploads", json={"lookup_id": lookup_id, "size": 1000})
        return int(answer.status_code)

    assert [start(ids[0]), start(ids[0])] == [201, 201]
    assert start(ids[0]) == 503  # two unfinished in one case
    assert start(ids[1]) == 201
    assert start(ids[1]) == 503  # three unfinished on the server
    assert count(runtime, Item, Item.state == "pending") == 3


def test_the_bucket_refills_with_time() -> None:
    now = [0.0]
    bucket = CaseBucket(burst=2, per_hour=3600, clock=lambda: now[0])
    bucket.take()
    bucket.take()
    with pytest.raises(BusyError):
        bucket.take()
    now[0] += 1.0  # one token a second
    bucket.take()
    with pytest.raises(BusyError):
        bucket.take()
