"""Desk backups (service/desk/store/backup.py) and recovery shares (service/desk/store/recovery.py).

A backup is complete (cases, items, history, records waiting for an outbox, keys), opens
with the passphrase or M recovery shares and nothing else, and a forged, altered, cut or
extended backup is refused before anything is restored.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

import service.desk.casework.cases as cases
from service.desk.casework.desk import Desk, init_desk, open_desk
from service.desk.errors import WrongPassphraseError
from service.desk.store.backup import (
    MAGIC,
    BackupDamagedError,
    NoRecoveryError,
    Opening,
    RestoreTargetError,
    restore_backup,
    verify_backup,
)
from service.desk.store.recovery import RecoverySharesError, combine
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    message_plaintext,
    recipients,
    sealed,
)

NEW_PASSPHRASE = "copper meadow falcon lilac tundra basket ember"  # noqa: S105 - a test value


def _import_one(desk: Desk, folder: Path, text: str = "hello") -> FakeCase:
    case = FakeCase()
    items = [
        sealed(case, answers_plaintext(case, {"detained": "yes"}), recipients(desk)),
        sealed(case, message_plaintext(case, text), recipients(desk)),
    ]
    path = folder / f"bundle-{case.ref[:6]}.aryz"
    path.write_bytes(bundle_bytes(items))
    report = desk.import_bundle(path)
    assert report.imported == 2
    return case


def _backup(desk: Desk, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    return desk.backup(folder).path


def test_backup_holds_everything_and_restores_with_the_passphrase(
    desk: Desk, tmp_path: Path
) -> None:
    case = _import_one(desk, tmp_path, "the guards took his phone")
    desk.set_triage(case.ref[:8], status="under_review", priority="urgent")
    desk.add_note(case.ref[:8], "lawyer informed")
    assert desk.backup_state().reminder
    path = _backup(desk, tmp_path / "stick")
    assert not desk.backup_state().reminder
    raw = path.read_bytes()
    assert raw.startswith(MAGIC)
    for secret in (b"guards", b"lawyer", b"under_review", case.ref.encode()):
        assert secret not in raw

    verified = verify_backup(path, Opening(passphrase=PASSPHRASE))
    assert (verified.cases, verified.items, verified.recovery) == (1, 2, False)

    target = tmp_path / "new-laptop" / "desk"
    target.parent.mkdir()
    restore_backup(path, target, Opening(passphrase=PASSPHRASE))
    with open_desk(target, PASSPHRASE) as restored:
        detail = restored.get_case(case.ref[:8])
        assert detail.summary.status == "under_review"
        assert detail.summary.priority == "urgent"
        assert [n.text for n in detail.notes] == ["lawyer informed"]
        assert [m.text for m in detail.messages] == ["the guards took his phone"]
        # The status change still waits for the outbox, with the same sequence number.
        assert detail.summary.pending == desk.get_case(case.ref[:8]).summary.pending > 0
        assert not restored.backup_state().reminder  # this backup holds every item


def test_wrong_passphrase_and_non_empty_target_are_refused(desk: Desk, tmp_path: Path) -> None:
    _import_one(desk, tmp_path)
    path = _backup(desk, tmp_path / "stick")
    with pytest.raises(WrongPassphraseError):
        verify_backup(path, Opening(passphrase=NEW_PASSPHRASE))
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    with pytest.raises(RestoreTargetError):
        restore_backup(path, occupied, Opening(passphrase=PASSPHRASE))
    target = tmp_path / "fresh"
    with pytest.raises(WrongPassphraseError):
        restore_backup(path, target, Opening(passphrase=NEW_PASSPHRASE))
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".restoring")] == []


@pytest.mark.parametrize("where", ["header", "stream", "last", "cut", "extended", "swapped"])
def test_altered_backups_are_refused(desk: Desk, tmp_path: Path, where: str) -> None:
    _import_one(desk, tmp_path)
    path = _backup(desk, tmp_path / "stick")
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack(">I", data[9:13])
    if where == "header":
        header = json.loads(data[13 : 13 + length])
        header["coalition"] = "kg-coalition"
        body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        data = bytearray(data[:9] + struct.pack(">I", len(body)) + body + data[13 + length :])
    elif where == "stream":
        data[13 + length + 100] ^= 1
    elif where == "last":
        data[-1] ^= 1
    elif where == "cut":
        data = data[: len(data) - 40]
    elif where == "extended":
        data += data[-30:]
    else:
        # Another desk's key file (its own passphrase) in this backup's header.
        other = tmp_path / "other"
        init_desk(other, COALITION, NEW_PASSPHRASE)
        header = json.loads(data[13 : 13 + length])
        header["keys"] = (other / "keys.json").read_text()
        body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        data = bytearray(data[:9] + struct.pack(">I", len(body)) + body + data[13 + length :])
    path.write_bytes(bytes(data))
    passphrase = NEW_PASSPHRASE if where == "swapped" else PASSPHRASE
    with pytest.raises(BackupDamagedError):
        verify_backup(path, Opening(passphrase=passphrase))
    with pytest.raises(BackupDamagedError):
        restore_backup(path, tmp_path / "restored", Opening(passphrase=passphrase))
    assert not (tmp_path / "restored").exists()


def test_a_forged_backup_made_with_another_desks_keys_is_refused(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    # A forger with their own desk cannot pass its backup off as this one: it opens only
    # with their passphrase, and then it is visibly another desk (other keys).
    other_dir = tmp_path / "forger"
    init_desk(other_dir, COALITION, NEW_PASSPHRASE)
    with open_desk(other_dir, NEW_PASSPHRASE) as forger:
        forged = _backup(forger, tmp_path / "stick")
    with pytest.raises(WrongPassphraseError):
        verify_backup(forged, Opening(passphrase=PASSPHRASE))


def test_recovery_shares_open_the_backup_without_the_passphrase(desk: Desk, tmp_path: Path) -> None:
    case = _import_one(desk, tmp_path)
    before = _backup(desk, tmp_path / "stick")
    shares = desk.draw_recovery_shares(2, 3)
    assert len(shares) == 3
    assert all(len(s.split()) == 20 for s in shares)
    path = _backup(desk, tmp_path / "stick")

    with pytest.raises(NoRecoveryError):
        verify_backup(before, Opening(recovery_key=combine(shares[:2])))
    with pytest.raises(RecoverySharesError):
        combine(shares[:1])
    mistyped = shares[1].split()
    mistyped[5] = "academic" if mistyped[5] != "academic" else "acid"
    with pytest.raises(RecoverySharesError):
        combine([shares[0], " ".join(mistyped)])
    # Shares of another set do not open this desk's backup.
    other = desk_shares_of_another_set()
    with pytest.raises(RecoverySharesError):
        verify_backup(path, Opening(recovery_key=combine(other[:2])))

    key = combine([shares[2].upper(), "  " + shares[0] + "\n"])  # any 2, as typed
    assert verify_backup(path, Opening(recovery_key=key)).recovery
    target = tmp_path / "restored"
    restore_backup(path, target, Opening(recovery_key=key), lambda: NEW_PASSPHRASE)
    with pytest.raises(WrongPassphraseError):
        open_desk(target, PASSPHRASE)
    with open_desk(target, NEW_PASSPHRASE) as restored:
        assert restored.get_case(case.ref[:8]).summary.item_count == 2
        assert restored.public == desk.public
        # The restored desk keeps the recovery key: its backups open with the same shares.
        again = _backup(restored, tmp_path / "stick2")
    assert verify_backup(again, Opening(recovery_key=combine(shares[1:]))).cases == 1


def desk_shares_of_another_set() -> list[str]:
    from service.desk.store.recovery import split

    return split(2, 3)[1]


def test_items_are_released_to_the_server_only_once_a_backup_holds_them(
    desk: Desk, tmp_path: Path
) -> None:
    case = _import_one(desk, tmp_path)
    first = desk.export_outbox(tmp_path / "outbox-1.json")
    assert first.path is not None
    types = _record_types(first.path)
    assert types == ["imported"]  # kept on the server: no backup holds the items yet
    _backup(desk, tmp_path / "stick")
    second = desk.export_outbox(tmp_path / "outbox-2.json")
    assert second.path is not None
    records = json.loads(second.path.read_text())["records"]
    assert [r["body"]["type"] for r in records] == ["ack"]
    assert len(records[0]["body"]["items"]) == 2
    assert records[0]["body"]["seq"] == 2
    assert desk.export_outbox(tmp_path / "outbox-3.json").path is None
    assert case.ref == records[0]["body"]["case"]


def _record_types(path: Path) -> list[str]:
    return [r["body"]["type"] for r in json.loads(path.read_text())["records"]]


def test_a_version_1_store_is_upgraded_and_its_acknowledged_items_stay_released(
    desk_dir: Path, tmp_path: Path
) -> None:
    import sqlite3

    with open_desk(desk_dir, PASSPHRASE) as desk:
        _import_one(desk, tmp_path)
    db = sqlite3.connect(desk_dir / "desk.sqlite3")
    # Back to the version 1 layout, with the items acknowledged the old way.
    db.executescript(
        "DROP TABLE meta; DROP TABLE staff; ALTER TABLE items DROP COLUMN held; "
        "ALTER TABLE items DROP COLUMN released; ALTER TABLE outgoing DROP COLUMN outbox; "
        "UPDATE items SET acked = 1; "
        "UPDATE schema_version SET version = 1;"
    )
    db.close()
    with open_desk(desk_dir, PASSPHRASE) as desk:
        rows = desk._store.connection.execute("SELECT acked, held, released FROM items")
        assert sorted(rows) == [(1, 0, 1), (1, 0, 1)]
        assert desk.backup_state().not_held == 2
        assert desk.export_outbox(tmp_path / "o.json").path is None
        for case in cases.all_cases(desk._store):
            assert cases.items_of(desk._store, case)
