"""The desk store: durable SQLite, versioned schema, values bound to where they live."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.desk.casework.desk import Desk, open_desk
from service.desk.errors import DeskDamagedError
from tests.desk.helpers import (
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    recipients,
    sealed,
)


def two_cases(desk: Desk, tmp_path: Path) -> tuple[FakeCase, FakeCase]:
    first, second = FakeCase(), FakeCase()
    to = recipients(desk)
    items = [
        sealed(first, answers_plaintext(first, {"narrative": "first"}), to),
        sealed(first, file_plaintext(first, "a.jpg", b"A" * 5000), to),
        sealed(second, answers_plaintext(second, {"narrative": "second"}), to),
        sealed(second, file_plaintext(second, "b.jpg", b"B" * 5000), to),
    ]
    (tmp_path / "b.aryz").write_bytes(bundle_bytes(items))
    desk.import_bundle(tmp_path / "b.aryz")
    return first, second


def raw(desk_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(desk_dir / "desk.sqlite3", isolation_level=None)


def test_store_is_durable_and_versioned(desk: Desk, desk_dir: Path) -> None:
    db = desk._store.connection
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert raw(desk_dir).execute("SELECT version FROM schema_version").fetchall() == [(3,)]


def test_a_store_from_a_newer_version_is_refused(desk_dir: Path) -> None:
    raw(desk_dir).execute("UPDATE schema_version SET version = 4")
    with pytest.raises(DeskDamagedError):
        open_desk(desk_dir, PASSPHRASE)


def test_values_swapped_between_rows_do_not_decrypt(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    # Someone with the laptop (but not the passphrase) swaps two cases' records, hoping
    # staff act on one person's report under another's reference.
    first, second = two_cases(desk, tmp_path)
    db = raw(desk_dir)
    (a,), (b,) = db.execute("SELECT record FROM cases ORDER BY id").fetchall()
    db.execute("UPDATE cases SET record = ? WHERE id = 1", (b,))
    db.execute("UPDATE cases SET record = ? WHERE id = 2", (a,))
    with pytest.raises(DeskDamagedError):
        desk.get_case(first.ref)
    with pytest.raises(DeskDamagedError):
        desk.list_cases()


def file_refs(desk: Desk, *cases: FakeCase) -> list[str]:
    return [i.ref for c in cases for i in desk.get_case(c.ref).items if i.type == "file"]


def test_attachment_pieces_moved_between_items_do_not_decrypt(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    first, second = two_cases(desk, tmp_path)
    ref_a, ref_b = file_refs(desk, first, second)
    db = raw(desk_dir)
    # Items were stored in bundle order: 2 is the first case's photo, 4 the second's.
    (piece_b,) = db.execute("SELECT data FROM item_chunks WHERE item_id = 4").fetchone()
    db.execute("UPDATE item_chunks SET data = ? WHERE item_id = 2", (piece_b,))
    with pytest.raises(DeskDamagedError):
        desk.attachment_bytes(ref_a)
    assert desk.attachment_bytes(ref_b) == b"B" * 5000


def test_a_missing_piece_is_damage_not_a_shorter_file(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    first, second = two_cases(desk, tmp_path)
    ref_a, ref_b = file_refs(desk, first, second)
    raw(desk_dir).execute("DELETE FROM item_chunks WHERE item_id = 2")
    with pytest.raises(DeskDamagedError):
        desk.attachment_bytes(ref_a)
    assert desk.attachment_bytes(ref_b) == b"B" * 5000
