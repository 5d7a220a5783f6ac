"""The spare desk's store side (service/desk/store/spare.py), without processes: numbered
backups, newer-only updates, another coalition's backup, an interrupted update, the mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.desk.casework.desk import Desk, init_desk, open_desk
from service.desk.store.backup import Opening
from service.desk.store.keys import kdf_limits_from_env
from service.desk.store.spare import (
    SPARE_FILE,
    OlderBackupError,
    SpareCoalitionError,
    SpareDeskError,
    SpareInterruptedError,
    enroll,
    promote,
    read_mark,
    update,
)
from tests.desk.helpers import PASSPHRASE

OPEN = Opening(passphrase=PASSPHRASE)


def test_backups_are_numbered_and_a_spare_takes_only_newer_ones(desk: Desk, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    first = desk.backup(stick).path
    second = desk.backup(stick).path
    spare = tmp_path / "spare"
    report, mark = enroll(first, spare, OPEN)
    assert (report.serial, mark.serial) == (1, 1)
    assert read_mark(spare) == mark
    with pytest.raises(OlderBackupError):
        update(first, spare, OPEN)
    _, mark = update(second, spare, OPEN)
    assert mark.serial == 2
    with pytest.raises(OlderBackupError):
        update(second, spare, OPEN)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["desk", "spare", "stick"]
    with open_desk(spare, PASSPHRASE) as opened, pytest.raises(SpareDeskError):
        opened.add_note("000000", "refused before the case is even looked up")


def test_another_coalitions_backup_is_refused(desk: Desk, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    spare = tmp_path / "spare"
    enroll(desk.backup(stick).path, spare, OPEN)
    other = tmp_path / "other"
    init_desk(other, "kg-coalition", PASSPHRASE, kdf_limits_from_env())
    with open_desk(other, PASSPHRASE) as theirs:
        theirs.backup(stick)
        theirs_backup = theirs.backup(stick).path  # serial 2: newer, but not ours
    with pytest.raises(SpareCoalitionError):
        update(theirs_backup, spare, OPEN)
    mark = read_mark(spare)
    assert mark is not None
    assert mark.serial == 1


def test_an_interrupted_update_is_named_and_leftovers_go(desk: Desk, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    first = desk.backup(stick).path
    second = desk.backup(stick).path
    spare = tmp_path / "spare"
    enroll(first, spare, OPEN)
    (tmp_path / ".spare-update-spare-0a0a0a").mkdir()  # a killed update's copy
    spare.rename(tmp_path / ".spare-old-spare-0b0b0b")  # killed between the renames
    with pytest.raises(SpareInterruptedError):
        update(second, spare, OPEN)
    (tmp_path / ".spare-old-spare-0b0b0b").rename(spare)
    update(second, spare, OPEN)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_unreadable_mark_still_refuses_and_promote_needs_the_words(
    desk: Desk, tmp_path: Path
) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    spare = tmp_path / "spare"
    enroll(desk.backup(stick).path, spare, OPEN)
    (spare / SPARE_FILE).write_text("{not json", encoding="utf-8")
    with open_desk(spare, PASSPHRASE) as opened, pytest.raises(SpareDeskError):
        opened.export_outbox(tmp_path / "outbox.json")
    assert not (tmp_path / "outbox.json").exists()
    promote(spare, "  The old   desk is GONE\n")
    assert read_mark(spare) is None
