"""Courier fixtures: the intake app and the courier app over one runtime, on both DBs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.server.app import create_courier_app
from service.server.deps import Runtime
from service.server.settings import Settings
from tests.conftest import make_settings
from tests.courier.helpers import Courier, DeskKeys, courier_for, desk


@pytest.fixture
def settings(tmp_path: Path, database_url: str, registry_dir: Path) -> Settings:
    return make_settings(tmp_path, database_url, registry_dir, courier_allowed_hosts=["testserver"])


@pytest.fixture
def courier_app(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_courier_app(runtime), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def kz(registry_dir: Path) -> DeskKeys:
    return desk(registry_dir, "kz-coalition")


@pytest.fixture(scope="session")
def kg(registry_dir: Path) -> DeskKeys:
    return desk(registry_dir, "kg-coalition")


@pytest.fixture
def kz_courier(courier_app: TestClient, kz: DeskKeys) -> Courier:
    return courier_for(courier_app, kz)


@pytest.fixture
def kg_courier(courier_app: TestClient, kg: DeskKeys) -> Courier:
    return courier_for(courier_app, kg)
