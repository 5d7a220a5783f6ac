"""Statistics fixtures: one generated desk per module (building it imports ~300 cases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.desk.casework.desk import Desk, open_desk
from tests.desk.helpers import PASSPHRASE
from tests.desk_stats.generate import Generated, build


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARYZ_DESK_KDF", "minimum")
    monkeypatch.delenv("ARYZ_DESK_PASSPHRASE", raising=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARYZ_DESK_KDF", "minimum")
        return build(tmp_path_factory.mktemp("stats"))


@pytest.fixture
def desk(generated: Generated) -> Iterator[Desk]:
    with open_desk(generated.folder, PASSPHRASE) as opened:
        yield opened


@pytest.fixture
def folder(generated: Generated) -> Path:
    return generated.folder
