"""Receipts and resynchronisation on the desk (service/desk/casework/resync.py), in process.

The end-to-end drills with a real server are in tests/test_desk_recovery.py; here the
rules one by one: what a receipt or a manifest teaches, and what a restored desk moves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.common.contract import receipt
from service.common.contract.receipt import ReceiptError
from service.desk.casework.desk import Desk, open_desk
from service.desk.store.backup import Opening, restore_backup
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    recipients,
    sealed,
)


def _load(desk: Desk, folder: Path, case: FakeCase) -> None:
    path = folder / f"b-{case.ref[:6]}-{case.status_seq}.aryz"
    items = [sealed(case, answers_plaintext(case, {"detained": "no"}), recipients(desk))]
    path.write_bytes(bundle_bytes(items))
    desk.import_bundle(path)


def _manifest_only(desk: Desk, folder: Path, case: FakeCase) -> None:
    path = folder / f"m-{case.ref[:6]}-{case.status_seq}.aryz"
    path.write_bytes(bundle_bytes([], cases=[case]))
    desk.import_bundle(path)


def _records(path: Path) -> list[tuple[str, int]]:
    data = json.loads(path.read_text())
    return [(r["body"]["type"], r["body"]["seq"]) for r in data["records"]]


def _receipt(folder: Path, outbox: Path, applied: bool, cases: dict[str, int]) -> Path:
    path = folder / (outbox.name + ".receipt.json")
    path.write_bytes(receipt.encode(COALITION, outbox.read_bytes(), applied, cases, None))
    return path


def test_receipts_mark_records_applied_or_send_them_again(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    _load(desk, tmp_path, case)
    desk.set_triage(case.ref, status="under_review")
    first = desk.export_outbox(tmp_path / "o1.json").path
    assert first is not None
    states = [r.state for r in desk.records(case.ref)]
    assert states == ["sent, no receipt yet", "sent, no receipt yet"]
    # Refused (say, the server had applied an outbox from elsewhere first): sent again.
    report = desk.import_receipt(_receipt(tmp_path, first, False, {case.ref: 0}))
    assert (report.applied, report.resend) == (0, 2)
    again = desk.export_outbox(tmp_path / "o2.json").path
    assert again is not None
    assert _records(again) == _records(first)  # the same records, the same numbers
    desk.import_receipt(_receipt(tmp_path, again, True, {case.ref: 2}))
    assert [r.state for r in desk.records(case.ref)] == ["applied on the server"] * 2
    assert desk.export_outbox(tmp_path / "o3.json").path is None


def test_a_receipt_for_another_outbox_teaches_numbers_and_another_coalitions_is_refused(
    desk: Desk, tmp_path: Path
) -> None:
    case = FakeCase()
    _load(desk, tmp_path, case)
    desk.set_triage(case.ref, status="under_review")
    mine = desk.export_outbox(tmp_path / "mine.json").path
    assert mine is not None
    # A refused outbox this desk never wrote (the lost laptop's) refuses none of ours...
    stranger = tmp_path / "stranger.json"
    stranger.write_bytes(b'{"records": []}')
    report = desk.import_receipt(_receipt(tmp_path, stranger, False, {case.ref: 0}))
    assert (report.known, report.resend) == (False, 0)
    assert [r.state for r in desk.records(case.ref)] == ["sent, no receipt yet"] * 2
    # ...but the server's numbers it carries still count.
    report = desk.import_receipt(_receipt(tmp_path, stranger, True, {case.ref: 2}))
    assert [r.state for r in desk.records(case.ref)] == ["applied on the server"] * 2
    bad = tmp_path / "bad.json"
    bad.write_bytes(receipt.encode("kg-coalition", b"x", True, {}, None))
    with pytest.raises(ReceiptError):
        desk.import_receipt(bad)


def test_an_export_killed_after_writing_its_file_is_recognised_from_the_manifest(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = FakeCase()
    _load(desk, tmp_path, case)
    desk.set_triage(case.ref, status="will_contact")
    import service.desk.casework.export as export

    def killed(_data: bytes) -> bytes:
        raise KeyboardInterrupt  # the file is written; the desk never marked the records

    monkeypatch.setattr(export, "outbox_digest", killed)
    with pytest.raises(KeyboardInterrupt):
        desk.export_outbox(tmp_path / "o1.json")
    monkeypatch.undo()
    assert (tmp_path / "o1.json").exists()
    # The courier delivered that file; the next bundle says the server is at 2.
    case.status_seq = 2
    _manifest_only(desk, tmp_path, case)
    assert [r.state for r in desk.records(case.ref)] == ["applied on the server"] * 2
    assert desk.export_outbox(tmp_path / "o2.json").path is None  # no number used twice
    desk.set_triage(case.ref, status="closed")
    later = desk.export_outbox(tmp_path / "o3.json").path
    assert later is not None
    assert _records(later) == [("status", 3)]


def test_a_restored_desk_moves_its_new_records_above_the_servers_numbers(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    case = FakeCase()
    _load(desk, tmp_path, case)
    (tmp_path / "stick").mkdir()
    backup = desk.backup(tmp_path / "stick").path
    # The old laptop went on: the server applied 3 records of this case, then it died.
    target = tmp_path / "restored"
    restore_backup(backup, target, Opening(passphrase=PASSPHRASE))
    with open_desk(target, PASSPHRASE) as restored:
        restored.add_reply(case.ref, "We are with you.")
        stale = restored.export_outbox(tmp_path / "stale.json").path
        assert stale is not None
        assert [seq for _t, seq in _records(stale)] == [1, 2, 3]  # collides with the server
        report = restored.import_receipt(_receipt(tmp_path, stale, False, {case.ref: 3}))
        assert report.renumbered == 3
        fresh = restored.export_outbox(tmp_path / "fresh.json").path
        assert fresh is not None
        assert [seq for _t, seq in _records(fresh)] == [4, 5, 6]
        assert [t for t, _s in _records(fresh)] == [t for t, _s in _records(stale)]
        # The reply's history follows its record to the new number.
        (reply,) = restored.get_case(case.ref).replies
        assert reply.seq in (4, 5, 6)
        assert reply.exported


def test_a_sync_bundle_teaches_numbers_but_adds_no_empty_case(desk: Desk, tmp_path: Path) -> None:
    known = FakeCase()
    _load(desk, tmp_path, known)
    stranger = FakeCase(status_seq=4)  # a case this desk never had, without items
    known.status_seq = 3
    path = tmp_path / "sync.aryz"
    path.write_bytes(bundle_bytes([], cases=[known, stranger]))
    desk.import_bundle(path)
    assert [c.ref for c in desk.list_cases()] == [known.ref]
    desk.set_triage(known.ref, status="closed")
    box = desk.export_outbox(tmp_path / "o.json").path
    assert box is not None
    assert _records(box) == [("status", 4), ("imported", 5)]
