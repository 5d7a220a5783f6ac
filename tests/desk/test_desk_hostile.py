"""Hostile submissions and a hostile server at the desk's import (issue 12, F-01, F-11, D4).

Anyone with a coalition's public key can seal an item, and the server stores it unread:
so every item's payload is hostile input. A bad item is quarantined with a fixed reason,
every good item still imports, nothing escapes as an exception, and items that are bad
in themselves are acknowledged to the server as quarantined, so they stop coming back.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import service.desk.inbox.importer as importer
from service.cli import main
from service.common.contract.bundle import BundleError, Manifest, head_bytes
from service.common.contract.outbox import decode
from service.common.crypto.keys import generate_box_keypair
from service.common.crypto.payload import encode_payload_prefix
from service.desk.casework.desk import Desk, open_desk, rotate_key
from service.desk.web.app import create_desk_app
from tests.desk.helpers import (
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

POISON = b"[" * 100_000  # F-01: 100 KB, under the server's 256 KiB answers cap


def web_client(desk: Desk) -> TestClient:
    """A browser on the laptop; it opens the launch's login link first where the web desk
    has one (service.desk.web.guard)."""
    app = create_desk_app(desk, 8765)
    client = TestClient(app, base_url="http://127.0.0.1:8765", follow_redirects=False)
    gate = getattr(app.state, "gate", None)
    if gate is not None:
        client.get(gate.login_path)
    return client


def write(tmp_path: Path, data: bytes, name: str = "bundle.aryz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def prefix(meta_json: bytes) -> bytes:
    """A payload prefix written by hand: a hostile sealer need not use our writer."""
    return len(meta_json).to_bytes(4, "big") + meta_json


def meta_for(case: FakeCase, kind: str = "answers", **extra: object) -> dict[str, object]:
    return {"type": kind, "created": "2026-W49", "case_public_key": case.public_hex, **extra}


def poison_item(case: FakeCase, to: list[bytes]) -> Sealed:
    return sealed(case, encode_payload_prefix(meta_for(case)) + POISON, to)


def answers_body(answers: object) -> bytes:
    return json.dumps({"answers": answers, "country": "KZ", "language": "ru"}).encode()


# (name, plaintext maker, reason): every way one item can be bad in itself.
def corpus(case: FakeCase) -> list[tuple[str, bytes, str]]:
    deep_meta = b'{"type":"file","x":' + b"[" * 40 + b"]" * 40 + b"}"
    wide = {f"k{i}": "" for i in range(120_000)}
    return [
        ("poison", encode_payload_prefix(meta_for(case)) + POISON, importer.TOO_LARGE),
        (
            "deep answers object",
            encode_payload_prefix(meta_for(case)) + b'{"a":' * 5000,
            importer.TOO_LARGE,
        ),
        ("deep metadata", prefix(deep_meta), importer.MALFORMED),
        (
            "huge string",
            encode_payload_prefix(meta_for(case)) + answers_body({"n": "a" * (1 << 20 | 1)}),
            importer.TOO_LARGE,
        ),
        (
            "answers over 4 MiB",
            encode_payload_prefix(meta_for(case)) + answers_body({"n": ["b" * 1000] * 4300}),
            importer.TOO_LARGE,
        ),
        (
            "too many keys",
            encode_payload_prefix(meta_for(case)) + answers_body(wide),
            importer.TOO_LARGE,
        ),
        (
            "infinite number",
            encode_payload_prefix(meta_for(case)) + b'{"answers":{"n":1e400}}',
            importer.UNREADABLE,
        ),
        (
            "huge integer in metadata",
            prefix(b'{"type":"file","n":9007199254740993}'),
            importer.MALFORMED,
        ),
        (
            "negative huge integer",
            prefix(b'{"type":"file","n":-99999999999999999999}'),
            importer.MALFORMED,
        ),
        ("name not a string", prefix(b'{"name":5,"type":"file"}'), importer.MALFORMED),
        (
            "created not a week",
            prefix(b'{"created":"2026-12-03T10:00","type":"file"}'),
            importer.MALFORMED,
        ),
        (
            "uppercase case key",
            prefix(
                json.dumps({"type": "file", "case_public_key": case.public_hex.upper()}).encode()
            ),
            importer.MALFORMED,
        ),
        ("unknown type", prefix(b'{"type":"evil"}'), importer.UNREADABLE),
        ("no type", prefix(b'{"name":"x"}'), importer.UNREADABLE),
        ("answers a list", encode_payload_prefix(meta_for(case)) + b"[1,2]", importer.UNREADABLE),
        ("three bytes", b"\0\0\0", importer.MALFORMED),
        ("ends inside metadata", (100).to_bytes(4, "big") + b"{}", importer.MALFORMED),
        (
            "metadata length over 64 KiB",
            (65537).to_bytes(4, "big") + b"{}" * 40000,
            importer.MALFORMED,
        ),
        ("duplicate key", prefix(b'{"type":"file","typ\\u0065":"answers"}'), importer.MALFORMED),
        ("lone surrogate", prefix(b'{"type":"file","name":"\\ud800"}'), importer.MALFORMED),
        ("byte-order mark", prefix(b'\xef\xbb\xbf{"type":"file"}'), importer.MALFORMED),
        (
            "message not UTF-8",
            encode_payload_prefix(meta_for(case, "message")) + b"\xff\xfe bad",
            importer.MALFORMED,
        ),
        (
            "message over 1 MiB",
            encode_payload_prefix(meta_for(case, "message")) + b"m" * ((1 << 20) + 1),
            importer.TOO_LARGE,
        ),
    ]


@pytest.fixture
def hostile(desk: Desk) -> tuple[list[Sealed], list[Sealed], dict[str, str]]:
    """A bundle's items: good ones around every kind of bad one. Returns (all, good,
    expected reason by bad item ref)."""
    to = recipients(desk)
    victim, attacker = FakeCase(), FakeCase()
    good = [
        sealed(victim, answers_plaintext(victim, {"narrative": "before", "detained": "yes"}), to)
    ]
    items = list(good)
    expected: dict[str, str] = {}
    for _name, plaintext, reason in corpus(attacker):
        bad = sealed(attacker, plaintext, to)
        items.append(bad)
        expected[bad.ref] = reason
    # Random bytes, listed with their true checksum: not an envelope at all.
    junk = Sealed(attacker, secrets.token_hex(16), secrets.token_bytes(3000))
    items.append(junk)
    expected[junk.ref] = importer.ALTERED
    later = [
        sealed(victim, file_plaintext(victim, "after.jpg", b"\xff\xd8 photo"), to),
        sealed(victim, message_plaintext(victim, "VICTIM-REPORT-AFTER-THE-POISON"), to),
    ]
    return items + later, good + later, expected


def test_the_poison_item_is_quarantined_and_every_later_report_imports(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # F-01: on e75117f this import died with RecursionError and every later report
    # (here the victim's message) never reached the desk, import after import.
    to = recipients(desk)
    attacker, victim = FakeCase(), FakeCase()
    poison = poison_item(attacker, to)
    after = sealed(victim, message_plaintext(victim, "VICTIM-REPORT-AFTER-THE-POISON"), to)
    bundle = write(tmp_path, bundle_bytes([poison, after]))
    desk.close()
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 1
    out, err = capsys.readouterr()
    assert "1 new items imported" in out
    assert f"item {poison.ref[:8]}…: {importer.TOO_LARGE}" in err
    assert "the server is told to drop it" in err
    assert (desk_dir / "quarantine" / f"{poison.ref}.bin").read_bytes() == poison.envelope

    assert main(["desk", "show", "--dir", str(desk_dir), victim.ref[:8]]) == 0
    assert "VICTIM-REPORT-AFTER-THE-POISON" in capsys.readouterr().out
    assert main(["desk", "quarantine", "--dir", str(desk_dir)]) == 0
    listing = capsys.readouterr().out
    assert f"item {poison.ref}" in listing
    assert importer.TOO_LARGE in listing
    assert "server told to drop it" in listing

    # The next export tells the server; a later bundle still listing it skips it.
    outbox = tmp_path / "outbox.json"
    assert main(["desk", "export", "--dir", str(desk_dir), "--out", str(outbox)]) == 0
    records = json.loads(outbox.read_text())["records"]
    assert {"type": "quarantine", "items": [poison.ref]}.items() <= records[0]["body"].items()
    capsys.readouterr()
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 0
    assert "0 new items imported, 2 already on this desk" in capsys.readouterr().out


def test_a_corpus_of_hostile_items_imports_every_good_item_and_quarantines_every_bad_one(
    desk: Desk, tmp_path: Path, hostile: tuple[list[Sealed], list[Sealed], dict[str, str]]
) -> None:
    items, good, expected = hostile
    report = desk.import_bundle(write(tmp_path, bundle_bytes(items)))
    assert report.imported == len(good)
    got = {p.item_prefix: p.reason for p in report.problems}
    assert got == {ref[:8]: reason for ref, reason in expected.items()}
    assert all(p.quarantined and p.acknowledged for p in report.problems)
    for item in good[1:]:
        assert desk.get_case(item.case.ref).summary.item_count == len(good)
    held = {q.item: q for q in desk.quarantined()}
    assert set(held) == set(expected)
    assert all(held[ref].reason == reason and held[ref].kept for ref, reason in expected.items())

    # Every one is acknowledged as quarantined, in an outbox the server accepts.
    out = desk.export_outbox(tmp_path / "outbox.json")
    assert out.path is not None
    decoded = decode(out.path.read_bytes(), {desk.coalition: desk.public.signing_key})
    told = [r for r in decoded.records if r.type == "quarantine"]
    assert sorted(i for r in told for i in r.items) == sorted(expected)


def test_the_cli_imports_the_hostile_corpus_and_lists_the_quarantine(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    hostile: tuple[list[Sealed], list[Sealed], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 12 "Done when": the same corpus through `aryz desk import`, the command staff run.
    items, good, expected = hostile
    bundle = write(tmp_path, bundle_bytes(items))
    desk.close()
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "import", "--dir", str(desk_dir), str(bundle)]) == 1
    said = capsys.readouterr()
    assert "Traceback" not in said.out + said.err
    assert f"{len(good)} new items imported" in said.out
    assert f"{len(expected)} items were NOT imported" in said.err
    for ref, reason in expected.items():
        assert f"item {ref[:8]}…: {reason} (kept in quarantine" in said.err
    assert main(["desk", "quarantine", "--dir", str(desk_dir)]) == 0
    listed = capsys.readouterr().out
    for ref in expected:
        assert ref[:8] in listed
    with open_desk(desk_dir, PASSPHRASE) as reopened:
        for item in good[1:]:
            assert reopened.get_case(item.case.ref).summary.item_count == len(good)


def test_transport_damage_a_missing_key_and_a_desk_fault_stay_on_the_server(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to = recipients(desk)
    case = FakeCase()
    stranger = sealed(case, message_plaintext(case, "x"), [generate_box_keypair().public])
    buggy = sealed(case, answers_plaintext(case, {"narrative": "n"}), to)
    fine = sealed(case, message_plaintext(case, "fine"), to)

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug of the desk")

    monkeypatch.setattr(importer, "_note_answers", broken)
    report = desk.import_bundle(write(tmp_path, bundle_bytes([stranger, buggy, fine])))
    assert report.imported == 1
    assert [(p.reason, p.acknowledged) for p in report.problems] == [
        (importer.NOT_OURS, False),
        (importer.DESK_FAULT, False),
    ]
    # Not acknowledged: nothing waits for the server, and the next import tries again.
    monkeypatch.undo()
    report = desk.import_bundle(write(tmp_path, bundle_bytes([stranger, buggy, fine]), "2.aryz"))
    assert (report.imported, report.skipped) == (1, 1)
    assert [p.reason for p in report.problems] == [importer.NOT_OURS]
    assert [q.item for q in desk.quarantined()] == [stranger.ref]


def test_bytes_that_differ_from_the_manifest_are_never_acknowledged(
    desk: Desk, tmp_path: Path
) -> None:
    to = recipients(desk)
    case = FakeCase()
    item = sealed(case, message_plaintext(case, "a report"), to)
    data = bytearray(bundle_bytes([item]))
    data[-10] ^= 1  # damaged on the USB stick (fails authentication): the server's copy is fine
    report = desk.import_bundle(write(tmp_path, bytes(data)))
    assert [(p.reason, p.acknowledged) for p in report.problems] == [(importer.CHECKSUM, False)]
    # The same damaged bundle again: reported again, recorded once.
    report = desk.import_bundle(write(tmp_path, bytes(data), "again.aryz"))
    assert [p.reason for p in report.problems] == [importer.CHECKSUM]
    history = desk.get_case(case.ref).history
    assert [e.event for e in history].count("quarantined") == 1
    # A good copy imports, and the damaged sealed copy leaves the quarantine.
    report = desk.import_bundle(write(tmp_path, bundle_bytes([item]), "good.aryz"))
    assert (report.imported, report.problems) == (1, ())
    assert desk.quarantined() == []
    assert not (desk.quarantine / f"{item.ref}.bin").exists()


def _manifest(case: FakeCase, item: Sealed, **changes: object) -> bytes:
    manifest = Manifest(
        coalition="kz-coalition",
        bundle=secrets.token_hex(16),
        created="2026-W49",
        cases=(),
        items=(),
    )
    data = json.loads(manifest.to_json())
    data["cases"] = [
        {
            "case": case.ref,
            "reply_public_key": case.public_hex,
            "status": "received",
            "status_seq": 0,
        }
    ]
    data["items"] = [
        {
            "item": item.ref,
            "case": case.ref,
            "size": len(item.envelope),
            "sha256": hashlib.sha256(item.envelope).hexdigest(),
        }
    ]
    for path, value in changes.items():
        where, key = path.split("__")
        target = data if where == "top" else data[where][0]
        target[key] = value
    raw = json.dumps(data).encode()
    return head_bytes(manifest)[:9] + len(raw).to_bytes(4, "big") + raw + item.envelope


@pytest.mark.parametrize(
    "change",
    [
        {"cases__status_seq": -10},
        {"cases__status_seq": 2**63},
        {"cases__status_seq": 2**53},
        {"cases__status_seq": "5"},
        {"cases__status_seq": 1.0},
        {"cases__status_seq": True},
        {"cases__status": "\x1b]0;desk pwned\x07"},
        {"cases__status": 7},
        {"items__size": -1},
        {"items__size": 2**70},
        {"items__size": "12"},
        {"items__sha256": None},
        {"top__created": "yesterday"},
        {"top__coalition": "kz-coalition\x1b[2J"},
        {"top__version": True},
        {"top__extra": 1},
        {"cases__reply_public_key": "AB" * 32},
    ],
)
def test_a_hostile_manifest_is_refused_whole_and_exports_keep_working(
    desk: Desk, tmp_path: Path, change: dict[str, object]
) -> None:
    # F-11: on e75117f a negative status_seq imported, then every export failed.
    case = FakeCase()
    item = sealed(case, message_plaintext(case, "x"), recipients(desk))
    with pytest.raises(BundleError):
        desk.import_bundle(write(tmp_path, _manifest(case, item, **change)))
    assert desk.list_cases() == []
    good = FakeCase()
    desk.import_bundle(
        write(
            tmp_path,
            bundle_bytes([sealed(good, message_plaintext(good, "y"), recipients(desk))]),
            "ok.aryz",
        )
    )
    assert desk.export_outbox(tmp_path / "outbox.json").records == 1


def test_the_web_desk_imports_the_hostile_corpus_and_lists_the_quarantine(
    desk: Desk, tmp_path: Path, hostile: tuple[list[Sealed], list[Sealed], dict[str, str]]
) -> None:
    items, good, expected = hostile
    bundle = write(tmp_path, bundle_bytes(items))
    with web_client(desk) as web:
        page = web.post("/en/import", data={"path": str(bundle)})
        assert page.status_code == 200
        html = page.text
        assert f"<dt>Imported now</dt><dd><strong>{len(good)}</strong></dd>" in html
        assert "Items in quarantine" in html
        for ref in expected:
            assert ref in html
        assert "it is over the desk&#39;s limits" in html or "it is over the desk's limits" in html
        russian = web.get("/ru/import").text
        assert "Материалы в карантине" in russian
        assert "превышает ограничения" in russian


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["answers", "file", "message", "reply", "x"]),
    meta_extra=st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=4,
    ),
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=200).map(str.encode),
        st.from_regex(rb"[\[\]{}\",:0-9a-z\\ ]{0,400}", fullmatch=True),
    ),
    raw_meta=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_any_payload_is_imported_or_quarantined_never_an_exception(
    desk: Desk,
    kind: str,
    meta_extra: dict[str, object],
    body: bytes,
    raw_meta: bytes | None,
) -> None:
    to = recipients(desk)
    case = FakeCase()
    if raw_meta is not None:
        plaintext = prefix(raw_meta) + body
    else:
        meta = {**meta_extra, "type": kind, "case_public_key": case.public_hex}
        try:
            head = prefix(json.dumps(meta, allow_nan=True).encode())
        except ValueError:
            return
        plaintext = head + body
    items = [sealed(case, plaintext, to), sealed(case, message_plaintext(case, "good"), to)]
    path = Path(desk.directory).parent / f"{case.ref}.aryz"
    path.write_bytes(bundle_bytes(items))
    report = desk.import_bundle(path)
    assert report.imported + len(report.problems) == 2
    assert report.imported >= 1  # the good item always arrives
    assert all(p.reason in importer.REASONS.values() for p in report.problems)


def test_items_quarantined_across_a_key_rotation_import_on_retry(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A desk left open across ``aryz desk rotate`` lacks the new key (coalition walk #11):
    # the items sealed to it are set aside, kept on the server, and import on a retry.
    rotation = rotate_key(desk_dir, PASSPHRASE)
    new_key = dict(rotation.public.epochs)[rotation.epoch]
    case = FakeCase()
    item = sealed(case, message_plaintext(case, "sealed to the new key"), [new_key])
    report = desk.import_bundle(write(tmp_path, bundle_bytes([item])))
    assert [(p.reason, p.acknowledged) for p in report.problems] == [(importer.NOT_OURS, False)]
    desk.close()

    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "quarantine", "--dir", str(desk_dir), "--retry"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 items in quarantine imported now." in out
    assert "0 items in quarantine" in out
    assert not (desk_dir / "quarantine" / f"{item.ref}.bin").exists()
    assert main(["desk", "show", "--dir", str(desk_dir), case.ref[:8]]) == 0
    assert "sealed to the new key" in capsys.readouterr().out


def test_the_web_desk_retries_the_quarantine(desk: Desk, desk_dir: Path, tmp_path: Path) -> None:
    # The web desk left running across a rotation (coalition walk #11), then restarted.
    rotation = rotate_key(desk_dir, PASSPHRASE)
    new_key = dict(rotation.public.epochs)[rotation.epoch]
    case = FakeCase()
    item = sealed(case, message_plaintext(case, "after the rotation"), [new_key])
    desk.import_bundle(write(tmp_path, bundle_bytes([item])))
    desk.close()
    with open_desk(desk_dir, PASSPHRASE) as reopened, web_client(reopened) as web:
        page = web.get("/ru/import").text
        assert "Попробовать снова" in page
        assert item.ref in page
        done = web.post("/en/import/retry", data={}).text
        assert "1 of 1 items in quarantine imported now." in done
        assert item.ref not in done
        assert [i.type for i in reopened.get_case(case.ref).items] == ["message"]
