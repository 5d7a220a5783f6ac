"""Desk web fixtures: a seeded desk (test-only KDF limits) and a TestClient over its app.

The client talks to the app as a browser on the laptop would: as ``127.0.0.1:PORT``, so
the Host check is the real one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.desk.casework.desk import Desk, open_desk
from service.desk.web.app import create_desk_app
from tests.desk.helpers import PASSPHRASE
from tests.desk_web.seed import Seeded, seed_desk

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARYZ_DESK_KDF", "minimum")
    monkeypatch.delenv("ARYZ_DESK_PASSPHRASE", raising=False)


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed_desk(tmp_path)


@pytest.fixture
def desk(seeded: Seeded) -> Iterator[Desk]:
    with open_desk(seeded.folder, PASSPHRASE) as opened:
        yield opened


def logged_in(app: FastAPI, **options: Any) -> TestClient:
    """A client that opened the launch's link first, as staff do: it holds the cookie."""
    client = TestClient(app, base_url=BASE, **{"follow_redirects": False, **options})
    response = client.get(app.state.gate.login_path, follow_redirects=False)
    assert response.status_code == 303, response.status_code
    return client


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with logged_in(create_desk_app(desk, PORT)) as c:
        yield c
