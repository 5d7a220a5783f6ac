"""Named staff (issue 16 item 2): each member opens the same desk with their own passphrase,
their name and the ISO week go on what they write, and a removed member is locked out.

The first tests drive the Python API; the last runs two members through real ``aryz``
processes and reads their names back from ``aryz desk show`` and the web desk.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import service.desk.store.keys as keys
from service.common.clock import current_week
from service.common.crypto.keys import open_sealed
from service.common.crypto.wrap import KdfLimits, decrypt_value
from service.common.errors import EnvelopeError
from service.desk.casework.desk import init_desk, open_desk
from service.desk.errors import (
    StaffError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from service.desk.store.backup import Opening, restore_backup
from service.desk.store.recovery import combine
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    recipients,
    sealed,
)

ALIYA = "orchard lantern walrus pebble violin harbor quilt"  # noqa: S105 - test values
DANIYAR = "copper meadow falcon lilac tundra basket ember"  # noqa: S105
MARAT = "saddle crimson otter glacier mango beacon thimble"  # noqa: S105


def _two_members(tmp_path: Path) -> Path:
    folder = tmp_path / "desk"
    init_desk(folder, COALITION, ALIYA, name="Aliya")
    with open_desk(folder, ALIYA) as desk:
        desk.add_staff("Daniyar", DANIYAR)
    return folder


def _one_case(folder: Path, passphrase: str, tmp_path: Path) -> str:
    with open_desk(folder, passphrase) as desk:
        case = FakeCase()
        item = sealed(case, answers_plaintext(case, {}), recipients(desk))
        path = tmp_path / "bundle.aryz"
        path.write_bytes(bundle_bytes([item]))
        assert desk.import_bundle(path).problems == ()
    return case.ref


def test_each_member_opens_the_desk_and_signs_what_they_write(tmp_path: Path) -> None:
    folder = _two_members(tmp_path)
    ref = _one_case(folder, ALIYA, tmp_path)
    with open_desk(folder, ALIYA) as desk:
        assert desk.member == "Aliya"
        desk.set_triage(ref, status="under_review", note="Lawyer called.")
    with open_desk(folder, DANIYAR) as desk:
        assert desk.member == "Daniyar"
        desk.add_reply(ref, "We have your report.")
        desk.add_note(ref, "Family called back.")
        detail = desk.get_case(ref)
    week = current_week()
    assert [(n.text, n.by, n.week) for n in detail.notes] == [
        ("Lawyer called.", "Aliya", week),
        ("Family called back.", "Daniyar", week),
    ]
    assert [(r.by, r.week) for r in detail.replies] == [("Daniyar", week)]
    status = [e for e in detail.history if e.event == "status"]
    assert [(e.by, e.week) for e in status] == [("Aliya", week)]
    # Names are not in the key file, nor anywhere in the folder in clear.
    for path in folder.rglob("*"):
        if path.is_file():
            assert b"Daniyar" not in path.read_bytes(), path.name
            assert b"Aliya" not in path.read_bytes(), path.name


def test_outcomes_record_who_and_which_week(tmp_path: Path) -> None:
    folder = _two_members(tmp_path)
    ref = _one_case(folder, ALIYA, tmp_path)
    with open_desk(folder, DANIYAR) as desk:
        desk.add_outcome(ref, "complaint_lodged", "2026-11-25", {"body": "prosecutor"})
        store = desk._store
        from service.desk.casework import cases

        entries = cases.entries_of(store, cases.resolve(store, ref))
        outcome = [e for e in entries if e["kind"] == "outcome"]
        assert outcome[0]["by"] == desk._keyring.member
        assert outcome[0]["week"] == current_week()


def test_a_removed_member_can_no_longer_open_the_desk(tmp_path: Path) -> None:
    folder = _two_members(tmp_path)
    before = (folder / "keys.json").read_bytes()
    with open_desk(folder, DANIYAR) as stale:  # Daniyar's desk is open while he is removed
        with open_desk(folder, ALIYA) as desk:
            desk.remove_staff("Daniyar")
            members = {m.name: m.removed_week for m in desk.staff_members()}
            assert members == {"Aliya": None, "Daniyar": current_week()}
        # His open desk must not re-seal the keys under the old desk key.
        with pytest.raises(StaffError):
            stale.add_staff("Marat", MARAT)
    with pytest.raises(WrongPassphraseError):
        open_desk(folder, DANIYAR)
    with open_desk(folder, ALIYA) as desk:
        assert desk.member == "Aliya"
    # His entry, copied out of an older key file, does not open the new one: the desk
    # key changed when he was removed. (Opened here by hand, as he could.)
    old = json.loads(before)
    entry = next(m for m in old["staff"] if m["id"] not in keys.staff_ids(folder))
    salt = bytes.fromhex(old["kdf"]["salt"])
    limits = KdfLimits(old["kdf"]["opslimit"], old["kdf"]["memlimit"])
    old_desk_key = open_sealed(
        keys._member_pair(DANIYAR, salt, limits), base64.b64decode(entry["sealed"])
    )
    _public, _blob, staff_now = keys._read_key_file(folder)
    assert staff_now is not None
    with pytest.raises(EnvelopeError):
        decrypt_value(
            old_desk_key,
            staff_now.secrets,
            keys._staff_context(keys.read_public(folder), replace(staff_now, secrets=b"")),
        )


def test_staff_changes_that_are_refused(tmp_path: Path) -> None:
    folder = _two_members(tmp_path)
    with open_desk(folder, ALIYA) as desk:
        with pytest.raises(StaffError):
            desk.remove_staff("Aliya")  # yourself
        with pytest.raises(StaffError):
            desk.remove_staff("Nobody")
        with pytest.raises(StaffError):
            desk.add_staff("daniyar", MARAT)  # the name is taken
        with pytest.raises(StaffError):
            desk.add_staff("Marat", DANIYAR)  # the passphrase is a member's
        with pytest.raises(StaffError):
            desk.add_staff("\u202eMarat", MARAT)  # control characters
        with pytest.raises(WeakPassphraseError):
            desk.add_staff("Marat", "short")
        assert [m.name for m in desk.staff_members()] == ["Aliya", "Daniyar"]


def test_a_desk_without_names_gets_its_first_member(desk_dir: Path, tmp_path: Path) -> None:
    ref = _one_case(desk_dir, PASSPHRASE, tmp_path)
    with open_desk(desk_dir, PASSPHRASE) as desk:
        assert desk.member is None
        desk.add_note(ref, "Before names.")
        with pytest.raises(StaffError):
            desk.add_staff("Daniyar", DANIYAR)
        desk.name_first("Aliya", PASSPHRASE)
        desk.add_staff("Daniyar", DANIYAR)
    with open_desk(desk_dir, DANIYAR) as desk:
        notes = desk.get_case(ref).notes
    assert [(n.text, n.by) for n in notes] == [("Before names.", None)]
    with open_desk(desk_dir, PASSPHRASE) as desk:
        assert desk.member == "Aliya"


def test_backups_keep_the_staff_and_rotation_keeps_them_in(tmp_path: Path) -> None:
    from service.desk.casework.desk import rotate_key

    folder = _two_members(tmp_path)
    rotate_key(folder, DANIYAR)
    with open_desk(folder, ALIYA) as desk:
        assert len(desk.public.epochs) == 2
        stick = tmp_path / "stick"
        stick.mkdir()
        report = desk.backup(stick)
    restore_backup(report.path, tmp_path / "restored", Opening(passphrase=DANIYAR))
    with open_desk(tmp_path / "restored", DANIYAR) as desk:
        assert desk.member == "Daniyar"
    with open_desk(tmp_path / "restored", ALIYA) as desk:
        assert [m.name for m in desk.staff_members()] == ["Aliya", "Daniyar"]


def _aryz(*args: str, env: dict[str, str], code: int = 0) -> str:
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "ARYZ_DESK_KDF": "minimum", **env},
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_two_named_staff_in_real_processes(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    aliya = {"ARYZ_DESK_PASSPHRASE": ALIYA}
    daniyar = {"ARYZ_DESK_PASSPHRASE": DANIYAR}
    _aryz("desk", "init", "--dir", str(folder), "--coalition", COALITION, "--name", "Aliya",
          env=aliya)  # fmt: skip
    shutil.move(folder / "courier-credential.json", tmp_path / "courier.json")
    out = _aryz(
        "desk", "staff", "add", "--dir", str(folder), "Daniyar",
        env={**aliya, "ARYZ_DESK_NEW_PASSPHRASE": DANIYAR},
    )  # fmt: skip
    assert "Daniyar can now open this desk" in out
    ref = _one_case(folder, ALIYA, tmp_path)
    _aryz("desk", "set", "--dir", str(folder), ref[:8], "--status", "under_review",
          "--note", "Lawyer called.", env=aliya)  # fmt: skip
    message = tmp_path / "reply.txt"
    message.write_text("We have your report.")
    _aryz("desk", "reply", "--dir", str(folder), ref[:8], "--message-file", str(message),
          env=daniyar)  # fmt: skip
    shown = _aryz("desk", "show", "--dir", str(folder), ref[:8], env=daniyar)
    week = current_week()
    assert f"— Aliya, {week}" in shown  # the note and the status change
    assert f"status: received -> under_review  — Aliya, {week}" in shown
    assert f"reply sealed (record 2)  — Daniyar, {week}" in shown
    listing = _aryz("desk", "staff", "list", "--dir", str(folder), env=daniyar)
    assert "* Daniyar" in listing
    assert "by Aliya" in listing

    # The web desk shows the same names.
    from tests.desk.test_desk_hostile import web_client

    with open_desk(folder, ALIYA) as desk:
        page = web_client(desk).get(f"/en/case/{ref}").text
    assert f"— Aliya, {week}" in page  # the note and the status change
    assert f"— Daniyar, {week}" in page  # the reply

    out = _aryz("desk", "staff", "remove", "--dir", str(folder), "Daniyar", env=aliya)
    assert "can no longer open this desk" in out
    refused = _aryz("desk", "list", "--dir", str(folder), env=daniyar, code=2)
    assert "passphrase is wrong" in refused
    shown = _aryz("desk", "show", "--dir", str(folder), ref[:8], env=aliya)
    assert "— Daniyar" in shown  # his name stays on what he wrote


def test_a_restore_with_recovery_shares_starts_the_staff_again(tmp_path: Path) -> None:
    folder = _two_members(tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    with open_desk(folder, DANIYAR) as desk:
        shares = desk.draw_recovery_shares(2, 3)
        report = desk.backup(stick)
    restored = tmp_path / "restored"
    restore_backup(report.path, restored, Opening(recovery_key=combine(shares[:2])), lambda: MARAT)
    # The new passphrase opens it; nobody's old one does.
    for old in (ALIYA, DANIYAR):
        with pytest.raises(WrongPassphraseError):
            open_desk(restored, old)
    with open_desk(restored, MARAT) as desk:
        assert desk.member is None
        desk.name_first("Aliya", MARAT)
        desk.add_staff("Daniyar", DANIYAR)
        listing = [(m.name, m.active) for m in desk.staff_members()]
    assert listing == [("Aliya", False), ("Daniyar", False), ("Aliya", True), ("Daniyar", True)]
    with open_desk(restored, DANIYAR) as desk:
        assert desk.member == "Daniyar"


def test_courier_changes_and_a_signing_rotation_keep_every_member(tmp_path: Path) -> None:
    from service.desk.store.couriers import change_couriers, rotate_signing

    folder = _two_members(tmp_path)
    change_couriers(folder, DANIYAR, issue_to=tmp_path / "courier-2.json")
    rotation = rotate_signing(folder, ALIYA)
    for passphrase, name in ((ALIYA, "Aliya"), (DANIYAR, "Daniyar")):
        with open_desk(folder, passphrase) as desk:
            assert desk.member == name
            assert desk.public.signing_key == rotation.new_key
            assert len(desk.public.courier_keys) == 2
    assert len(keys.staff_ids(folder)) == 2
