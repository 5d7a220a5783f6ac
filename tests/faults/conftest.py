"""One backend at a time, for the faults that only one of them can have."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path, pg_template: str | None) -> Iterator[str]:
    yield from fresh_database("sqlite", tmp_path, sqlite_template, pg_template)


@pytest.fixture
def postgres_url(tmp_path: Path, sqlite_template: Path, pg_template: str | None) -> Iterator[str]:
    yield from fresh_database("postgresql", tmp_path, sqlite_template, pg_template)


# The light-mode tor's short directory (unix socket paths must stay short).
from tests.onion.conftest import short_dir  # noqa: E402, F401
