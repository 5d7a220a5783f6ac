"""Importing bundles: idempotent, loud and lossless on damage, nothing readable at rest."""

from __future__ import annotations

import errno
import hashlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import service.desk.inbox.importer as importer
from service.cli import main
from service.common.contract.bundle import BundleError
from service.common.contract.outbox import decode
from service.common.crypto.envelope import open_envelope
from service.common.crypto.keys import generate_box_keypair
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import MIN_LIMITS, derive, generate_token
from service.common.errors import EnvelopeKeyError
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.payload import answers_plaintext as server_answers_plaintext
from service.desk.casework.desk import Desk
from service.desk.errors import DiskFullError, ForeignBundleError, ItemNotFoundError
from service.desk.store.database import Store
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    Sealed,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    message_plaintext,
    recipients,
    sealed,
)

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 9000  # ~2.3 MiB: spans several chunks


def write(tmp_path: Path, data: bytes, name: str = "bundle.aryz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def three_items(desk: Desk, case: FakeCase | None = None) -> list[Sealed]:
    case = case or FakeCase()
    to = recipients(desk)
    return [
        sealed(case, answers_plaintext(case, {"narrative": "n", "detained": "yes"}), to),
        sealed(case, file_plaintext(case, "photo.jpg", PHOTO), to),
        sealed(case, message_plaintext(case, "a follow-up"), to),
    ]


def count(desk: Desk, table: str) -> int:
    # Tests may look inside the store; the API never needs to.
    row = desk._store.connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    return int(row[0])


def test_import_then_reimport_is_idempotent(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = three_items(desk) + three_items(desk)
    bundle = write(tmp_path, bundle_bytes(items))
    seen: list[tuple[int, int]] = []
    report = desk.import_bundle(bundle, lambda done, total: seen.append((done, total)))
    assert (report.listed, report.imported, report.skipped, report.problems) == (6, 6, 0, ())
    assert seen[0] == (0, 6)
    assert seen[-1] == (6, 6)
    assert len(seen) == 7

    again = desk.import_bundle(bundle)
    assert (again.imported, again.skipped) == (0, 6)
    assert len(desk.list_cases()) == 2
    assert count(desk, "items") == 6
    assert all(s.item_count == 3 for s in desk.list_cases())

    # The command line says the same, with a plain-text progress line on stderr.
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 0
    out, err = capsys.readouterr()
    assert "importing 6/6" in err
    assert "0 new items imported, 6 already on this desk" in out


def test_attachment_original_is_kept_with_size_and_sha256(desk: Desk, tmp_path: Path) -> None:
    items = three_items(desk)
    desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    detail = desk.get_case(items[0].case.ref)
    (photo,) = [i for i in detail.items if i.type == "file"]
    assert photo.name == "photo.jpg"
    assert photo.media_type == "image/jpeg"
    assert photo.size == len(PHOTO)
    assert photo.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert photo.envelope_sha256 == hashlib.sha256(items[1].envelope).hexdigest()
    assert desk.attachment_bytes(photo.ref) == PHOTO
    assert [m.text for m in detail.messages] == ["a follow-up"]
    with pytest.raises(ItemNotFoundError):
        desk.attachment_bytes("0" * 32)


def test_answers_as_the_server_writes_them_are_read(desk: Desk, tmp_path: Path) -> None:
    # Guards against the two sides drifting apart: the intake's own answers encoder.
    secrets = derive(generate_token(), MIN_LIMITS)
    case = FakeCase(reply=secrets.reply)
    plaintext = server_answers_plaintext(
        BASIC,
        language="en",
        country="KG",
        coalition_id="kz-coalition",
        answers={"filer": "lawyer", "narrative": "text"},
        case_public_key=secrets.reply.public,
    )
    desk.import_bundle(write(tmp_path, bundle_bytes([sealed(case, plaintext, recipients(desk))])))
    detail = desk.get_case(case.ref)
    assert detail.answers == {"filer": "lawyer", "narrative": "text"}
    assert detail.summary.country == "KG"
    assert detail.summary.language == "en"
    assert detail.reply_key_confirmed
    assert detail.questionnaire == BASIC.reference()


def test_copied_desk_folder_reveals_no_plaintext(
    desk: Desk, desk_dir: Path, tmp_path: Path
) -> None:
    canaries = {
        "narrative": "CANARY-NARRATIVE Сержант Иванов",
        "place": "CANARY-PLACE ИВС Алматы",
        "file name": "CANARY-FILENAME.jpg",
        "file body": "CANARY-FILEBODY",
        "message": "CANARY-MESSAGE",
        "note": "CANARY-NOTE",
        "tag": "CANARY-TAG",
        "assignee": "CANARY-ASSIGNEE",
        "reply": "CANARY-REPLY",
        "outcome note": "CANARY-OUTCOME-NOTE прокурор",
        "outcome date": "2025-01-17",
    }
    case = FakeCase()
    to = recipients(desk)
    answers = {"narrative": canaries["narrative"], "place_details": canaries["place"]}
    items = [
        sealed(case, answers_plaintext(case, answers), to),
        sealed(
            case, file_plaintext(case, canaries["file name"], canaries["file body"].encode()), to
        ),
        sealed(case, message_plaintext(case, canaries["message"]), to),
    ]
    desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    desk.set_triage(case.ref, add_tags=[canaries["tag"]], assignee=canaries["assignee"])
    desk.add_note(case.ref, canaries["note"])
    desk.add_reply(case.ref, canaries["reply"])
    # The legal path and the facts cached for statistics are encrypted like the rest.
    desk.add_outcome(
        case.ref,
        "complaint_lodged",
        canaries["outcome date"],
        {"body": "prosecutor"},
        canaries["outcome note"],
    )
    assert desk.statistics().not_counted == 1
    desk.export_outbox(tmp_path / "outbox.json")

    # References would link this desk's rows to the server's: not in clear either.
    secrets = [c.encode("utf-8") for c in canaries.values()]
    for ref in [case.ref, *(i.ref for i in items)]:
        secrets += [ref.encode(), bytes.fromhex(ref)]

    def leaks() -> list[str]:
        found = []
        for path in desk_dir.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path.name}: {s[:20]!r}" for s in secrets if s in data]
        return found

    assert (desk_dir / "desk.sqlite3-wal").exists()  # the WAL is scanned too, while open
    assert leaks() == []
    desk.close()
    assert leaks() == []


def test_bundle_for_another_coalition_is_refused_and_nothing_is_imported(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = write(tmp_path, bundle_bytes(three_items(desk), coalition="kg-coalition"))
    with pytest.raises(ForeignBundleError):
        desk.import_bundle(bundle)
    assert desk.list_cases() == []
    assert count(desk, "items") == 0
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 2
    assert capsys.readouterr().err.endswith(f"aryz: {ForeignBundleError.message}\n")
    assert not (desk_dir / "quarantine").exists()


def test_damaged_item_is_reported_quarantined_and_the_rest_imports(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = three_items(desk)
    data = bytearray(bundle_bytes(items))
    # Flip one bit inside the file item, as a failing USB stick would.
    start = len(data) - len(items[2].envelope) - len(items[1].envelope)
    data[start + 5000] ^= 0x10
    bundle = write(tmp_path, bytes(data))

    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 1
    out, err = capsys.readouterr()
    assert "2 new items imported" in out
    assert "1 could not be imported" in out
    assert f"item {items[1].ref[:8]}…: {importer.CHECKSUM}" in err

    kept = desk_dir / "quarantine" / f"{items[1].ref}.bin"
    assert kept.read_bytes() == bytes(data[start : start + len(items[1].envelope)])
    assert kept.stat().st_mode & 0o777 == 0o600
    detail = desk.get_case(items[0].case.ref)
    assert [i.type for i in detail.items] == ["answers", "message"]

    # A clean copy later completes the case; the bad item was never marked imported.
    report = desk.import_bundle(write(tmp_path, bundle_bytes(items), "fresh.aryz"))
    assert (report.imported, report.skipped, report.problems) == (1, 2, ())


def test_altered_envelope_with_a_matching_checksum_is_caught_by_authentication(
    desk: Desk, tmp_path: Path
) -> None:
    # The server (or anyone before it) alters an item and lists the new checksum.
    items = three_items(desk)
    envelope = bytearray(items[2].envelope)
    envelope[-3] ^= 0x01
    items[2] = Sealed(items[2].case, items[2].ref, bytes(envelope))
    report = desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    assert report.imported == 2
    assert [(p.item_prefix, p.reason) for p in report.problems] == [
        (items[2].ref[:8], importer.ALTERED)
    ]
    assert (desk.quarantine / f"{items[2].ref}.bin").read_bytes() == bytes(envelope)


def test_truncated_bundle_imports_what_is_whole(desk: Desk, tmp_path: Path) -> None:
    items = three_items(desk)
    data = bundle_bytes(items)
    cut = data[: len(data) - len(items[2].envelope) // 2]
    report = desk.import_bundle(write(tmp_path, cut))
    assert report.imported == 2
    assert [(p.item_prefix, p.reason) for p in report.problems] == [
        (items[2].ref[:8], importer.MISSING)
    ]
    partial = (desk.quarantine / f"{items[2].ref}.bin").read_bytes()
    assert items[2].envelope.startswith(partial)

    with pytest.raises(BundleError, match="truncated"):
        desk.import_bundle(write(tmp_path, data[:40], "head-only.aryz"))


def test_item_naming_another_case_key_is_treated_as_corrupt(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    to = recipients(desk)
    moved = answers_plaintext(
        case, {"narrative": "x"}, case_key=generate_box_keypair().public.hex()
    )
    items = [
        sealed(case, moved, to),
        sealed(case, message_plaintext(case, "fine"), to),
    ]
    report = desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    assert report.imported == 1
    assert [p.reason for p in report.problems] == [importer.WRONG_CASE]
    assert desk.get_case(case.ref).answers == {}


def test_a_later_bundle_cannot_swap_a_cases_reply_key(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    to = recipients(desk)
    desk.import_bundle(
        write(tmp_path, bundle_bytes([sealed(case, message_plaintext(case, "1"), to)]))
    )
    # The server lists the same case with a key it holds the secret of.
    swapped = FakeCase(ref=case.ref, reply=generate_box_keypair())
    later = sealed(swapped, message_plaintext(swapped, "2"), to)
    report = desk.import_bundle(write(tmp_path, bundle_bytes([later]), "later.aryz"))
    assert [p.reason for p in report.problems] == [importer.WRONG_CASE]
    # Replies still go to the key the first bundle and a sealed item agreed on.
    desk.add_reply(case.ref, "we read your message")
    desk.export_outbox(tmp_path / "outbox.json")
    (record,) = [
        r
        for r in decode(
            (tmp_path / "outbox.json").read_bytes(), {COALITION: desk.public.signing_key}
        ).records
        if r.type == "reply"
    ]
    assert open_envelope(record.reply or b"", [case.reply])
    with pytest.raises(EnvelopeKeyError):
        open_envelope(record.reply or b"", [swapped.reply])


def test_item_for_someone_elses_key_is_reported(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    stranger = [generate_box_keypair().public]
    items = [sealed(case, message_plaintext(case, "not for us"), stranger)]
    report = desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    assert [p.reason for p in report.problems] == [importer.NOT_OURS]


def test_unreadable_answers_are_reported_not_guessed(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    meta = {"type": "answers", "created": "2026-W47", "case_public_key": case.public_hex}
    broken = encode_payload_prefix(meta) + b"not json"
    items = [sealed(case, broken, recipients(desk))]
    report = desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    assert [p.reason for p in report.problems] == [importer.UNREADABLE]


def test_full_disk_stops_cleanly_and_a_later_import_completes(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = three_items(desk)
    bundle = write(tmp_path, bundle_bytes(items))
    real_write = Store.write_chunk
    calls = {"n": 0}

    def full_on_third(self: Store, item_id: int, index: bytes, idx: int, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # inside the photo: its first chunk is already written
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, item_id, index, idx, data)

    monkeypatch.setattr(Store, "write_chunk", full_on_third)
    with pytest.raises(DiskFullError):
        desk.import_bundle(bundle)
    # The answers item is in; nothing of the photo is, not even its first chunk.
    assert count(desk, "items") == 1
    assert count(desk, "item_chunks") == 1
    assert desk.list_cases()[0].counts == {"answers": 1, "file": 0, "message": 0}

    # The command line says so in one fixed sentence (the first write is a skip now).
    calls["n"] = 0
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 2
    assert capsys.readouterr().err.endswith(f"aryz: {DiskFullError.message}\n")

    monkeypatch.setattr(Store, "write_chunk", real_write)
    report = desk.import_bundle(bundle)
    assert (report.imported, report.skipped) == (2, 1)
    assert desk.attachment_bytes(items[1].ref) == PHOTO


def test_sqlite_running_out_of_pages_is_a_full_disk_too(desk: Desk, tmp_path: Path) -> None:
    # SQLite's own "database or disk is full", without patching: cap the file's pages.
    items = three_items(desk)
    bundle = write(tmp_path, bundle_bytes(items))
    db: sqlite3.Connection = desk._store.connection
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 20}")
    with pytest.raises(DiskFullError):
        desk.import_bundle(bundle)
    assert count(desk, "items") == 1
    db.execute("PRAGMA max_page_count = 1073741823")
    assert desk.import_bundle(bundle).imported == 2


def test_not_a_bundle_is_a_clear_error(desk: Desk, tmp_path: Path) -> None:
    with pytest.raises(BundleError):
        desk.import_bundle(write(tmp_path, b"PK\x03\x04 a zip file, not a bundle"))
    with pytest.raises(BundleError, match="cannot be read"):
        desk.import_bundle(tmp_path / "no-such-file.aryz")
    assert desk.list_cases() == []


def test_data_after_the_last_item_is_reported_and_ignored(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = write(tmp_path, bundle_bytes(three_items(desk)) + b"unlisted bytes")
    report = desk.import_bundle(bundle)
    assert (report.imported, report.extra_data) == (3, True)
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 1
    assert "data after its last listed item" in capsys.readouterr().err


@settings(
    max_examples=40,
    deadline=None,
    # One desk for every example is intended: each example's bundle has fresh references.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_damage_anywhere_never_yields_wrong_content(desk: Desk, data: st.DataObject) -> None:
    case = FakeCase()
    to = recipients(desk)
    bodies = [b"first file", bytes(range(256)) * 40, b"third"]
    items = [sealed(case, file_plaintext(case, f"f{i}", body), to) for i, body in enumerate(bodies)]
    clean = bundle_bytes(items)
    damaged = bytearray(clean)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(1, len(damaged)))
    path = Path(desk.directory).parent / f"{case.ref}.aryz"
    path.write_bytes(bytes(damaged[:cut]))
    try:
        report = desk.import_bundle(path)
    except (BundleError, ForeignBundleError):
        return  # the manifest itself was hit: refused as a whole, nothing imported
    assert report.imported + report.skipped + len(report.problems) == report.listed
    expected = {item.ref: body for item, body in zip(items, bodies, strict=True)}
    for ref, body in expected.items():
        try:
            assert desk.attachment_bytes(ref) == body  # imported means exactly right
        except ItemNotFoundError:
            assert any(ref.startswith(p.item_prefix) for p in report.problems) or (
                ref not in path.read_bytes().decode("latin-1")
            )
