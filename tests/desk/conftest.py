"""Desk fixtures: a desk made with the test-only KDF limits, and bundles for it.

Every desk test runs with ``ARYZ_DESK_KDF=minimum`` (an Argon2id derivation in
milliseconds); exactly one test (test_desk_keys.py) makes a desk at the real limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.desk.casework.desk import Desk, init_desk, open_desk
from tests.desk.helpers import COALITION, PASSPHRASE


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARYZ_DESK_KDF", "minimum")
    monkeypatch.delenv("ARYZ_DESK_PASSPHRASE", raising=False)


@pytest.fixture
def desk_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "desk"
    init_desk(folder, COALITION, PASSPHRASE)
    return folder


@pytest.fixture
def desk(desk_dir: Path) -> Iterator[Desk]:
    with open_desk(desk_dir, PASSPHRASE) as opened:
        yield opened
