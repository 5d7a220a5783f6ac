"""Listing, showing and triaging cases; replies; signed outboxes with ordered sequences."""

from __future__ import annotations

from pathlib import Path

import pytest

import service.desk.stats.tables as stats
from service.cli import main
from service.common.contract import outbox
from service.common.crypto.envelope import open_envelope
from service.common.crypto.payload import split_payload
from service.desk.casework.desk import CaseFilter, Desk
from service.desk.errors import (
    CaseNotFoundError,
    CaseRefAmbiguousError,
    CaseRefTooShortError,
    DiskFullError,
    OutboxPathError,
    ReplyError,
    ReplyKeyUnconfirmedError,
    TriageError,
)
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    message_plaintext,
    recipients,
    sealed,
)


def load(desk: Desk, tmp_path: Path, *cases_: FakeCase, **answers: str) -> None:
    to = recipients(desk)
    items = [sealed(c, answers_plaintext(c, dict(answers)), to) for c in cases_]
    path = tmp_path / f"bundle-{cases_[0].ref[:6]}.aryz"
    path.write_bytes(bundle_bytes(items))
    assert desk.import_bundle(path).problems == ()


def read_outbox(desk: Desk, path: Path) -> outbox.Outbox:
    return outbox.decode(path.read_bytes(), {COALITION: desk.public.signing_key})


def cli_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    code = main(["desk", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def four(desk: Desk, tmp_path: Path) -> list[FakeCase]:
    """Four cases differing in country, week, language and detention."""
    made = []
    to = recipients(desk)
    specs = [
        ("KZ", "2026-W45", "ru", "yes"),
        ("KG", "2026-W47", "en", "no"),
        ("KZ", "2026-W47", "ru", "deceased"),
        ("KZ", "2026-W46", "kk", "yes"),
    ]
    items = []
    for country, week, language, detained in specs:
        case = FakeCase()
        made.append(case)
        plaintext = answers_plaintext(
            case, {"detained": detained}, country=country, week=week, language=language
        )
        items.append(sealed(case, plaintext, to))
    (tmp_path / "four.aryz").write_bytes(bundle_bytes(items))
    desk.import_bundle(tmp_path / "four.aryz")
    return made


def test_list_filters_and_sorts(desk: Desk, four: list[FakeCase]) -> None:
    a, b, c, d = (case.ref for case in four)
    desk.set_triage(c, status="under_review", priority="urgent")
    desk.set_triage(b, priority="high")
    desk.set_triage(d, status="closed", priority="low")

    def refs(filters: CaseFilter | None = None, sort: str = "received") -> list[str]:
        return [s.ref for s in desk.list_cases(filters, sort)]

    assert refs() == [a, d, *sorted([b, c])]  # oldest week first, then by reference
    assert refs(sort="priority") == [c, b, a, d]  # urgent, high, normal, low
    assert refs(sort="status") == [a, b, c, d]  # received (by week), under_review, closed
    assert set(refs(CaseFilter(country="kz"))) == {a, c, d}
    assert refs(CaseFilter(still_detained=True)) == [a, d]
    assert set(refs(CaseFilter(week="2026-W47"))) == {b, c}
    assert refs(CaseFilter(language="EN")) == [b]
    assert refs(CaseFilter(status="under_review")) == [c]
    assert refs(CaseFilter(country="KZ", still_detained=True, status="closed")) == [d]


def test_list_command_prints_a_table(
    desk_dir: Path,
    four: list[FakeCase],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, _err = cli_run(
        capsys, monkeypatch, "list", "--dir", str(desk_dir), "--still-detained", "--country", "KZ"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "CASE",
        "RECEIVED",
        "COUNTRY",
        "STATUS",
        "PRIORITY",
        "ITEMS",
        "DETAINED",
    ]
    assert lines[1].split() == [
        four[0].ref[:12],
        "2026-W45",
        "KZ",
        "received",
        "normal",
        "1",
        "yes",
    ]
    assert lines[2].split()[0] == four[3].ref[:12]
    assert lines[-1] == "2 cases"


def test_show_renders_answers_by_question_with_english_labels(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = FakeCase()
    to = recipients(desk)
    answers = {
        "filer": "relative",
        "narrative": "They came at night.\nThey took him to the IVS.",
        "detained": "yes",
        "extra_field": "kept, not hidden",
    }
    items = [
        sealed(case, answers_plaintext(case, answers), to),
        sealed(case, file_plaintext(case, "scan.pdf", b"%PDF-1.4 body"), to),
        sealed(case, message_plaintext(case, "One more thing."), to),
    ]
    (tmp_path / "b.aryz").write_bytes(bundle_bytes(items))
    desk.import_bundle(tmp_path / "b.aryz")
    desk.add_note(case.ref, "Called the lawyer.")
    desk.set_triage(case.ref, status="will_contact")

    code, out, _err = cli_run(capsys, monkeypatch, "show", "--dir", str(desk_dir), case.ref[:6])
    assert code == 0
    assert f"Case {case.ref}" in out
    assert "  Who is filing this report?\n      A relative or friend\n" in out
    assert (
        "  What happened? Tell it in your own words.\n"
        "      They came at night.\n      They took him to the IVS.\n"
    ) in out
    assert "  Is the person still detained?\n      Yes, still detained\n" in out
    assert "  extra_field\n      kept, not hidden\n" in out
    assert "  scan.pdf\n      13 bytes   sha256 " in out
    assert "One more thing." in out
    assert "Called the lawyer." in out
    assert "status: received -> will_contact" in out
    assert "reply key   confirmed by a sealed item" in out


def test_untrusted_text_cannot_drive_the_terminal(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = FakeCase()
    to = recipients(desk)
    items = [
        sealed(case, answers_plaintext(case, {"narrative": "a\x1b[2Jb"}), to),
        sealed(case, file_plaintext(case, "photo\u202egpj.exe", b"x"), to),
    ]
    (tmp_path / "b.aryz").write_bytes(bundle_bytes(items))
    desk.import_bundle(tmp_path / "b.aryz")
    code, out, _err = cli_run(capsys, monkeypatch, "show", "--dir", str(desk_dir), case.ref)
    assert code == 0
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "a\\u{001B}[2Jb" in out
    assert "photo\\u{202E}gpj.exe" in out


def test_set_reply_export_make_a_verified_outbox_with_consecutive_sequences(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = FakeCase(status="received", status_seq=5)  # the server applied 5 records so far
    load(desk, tmp_path, case, narrative="x")
    message = tmp_path / "reply.txt"
    message.write_text("Мы получили ваше сообщение.\nWe will contact you.", encoding="utf-8")

    d = str(desk_dir)
    assert (
        cli_run(
            capsys,
            monkeypatch,
            "set",
            "--dir",
            d,
            case.ref[:8],
            "--status",
            "under_review",
            "--priority",
            "urgent",
            "--tag",
            "ivs",
            "--note",
            "urgent: hearing",
        )[0]
        == 0
    )
    code, out, _err = cli_run(
        capsys, monkeypatch, "reply", "--dir", d, case.ref[:8], "--message-file", str(message)
    )
    assert code == 0
    assert "next 'aryz desk export'" in out
    first = tmp_path / "outbox-1.json"
    assert cli_run(capsys, monkeypatch, "export", "--dir", d, "--out", str(first))[0] == 0
    assert first.stat().st_mode & 0o777 == 0o600

    box = read_outbox(desk, first)
    # "imported": the server keeps the item until a desk backup holds it
    assert [(r.type, r.seq) for r in box.records] == [("status", 6), ("reply", 7), ("imported", 8)]
    assert all(r.case == case.ref and r.coalition == COALITION for r in box.records)
    assert box.records[0].status == "under_review"
    assert len(box.records[2].items) == 1
    # Only the person holding the case token (its reply key) can read the reply.
    meta, body = split_payload(open_envelope(box.records[1].reply or b"", [case.reply]))
    assert meta["type"] == "reply"
    assert isinstance(meta["created"], str)
    assert body.decode("utf-8") == message.read_text(encoding="utf-8")
    assert set(meta) == {"type", "created"}

    # Nothing new: no file, and nothing is sent twice.
    code, out, _err = cli_run(
        capsys, monkeypatch, "export", "--dir", d, "--out", str(tmp_path / "empty.json")
    )
    assert code == 0
    assert "Nothing to send" in out
    assert not (tmp_path / "empty.json").exists()

    # More work continues the sequence; earlier records are not repeated.
    desk.set_triage(case.ref, status="referred")
    desk.add_reply(case.ref, "Your case was referred to a lawyer.")
    second = desk.export_outbox(tmp_path / "outbox-2.json")
    assert second.records == 2
    assert [(r.type, r.seq) for r in read_outbox(desk, tmp_path / "outbox-2.json").records] == [
        ("status", 9),
        ("reply", 10),
    ]
    detail = desk.get_case(case.ref)
    assert [r.exported for r in detail.replies] == [True, True]
    assert detail.summary.pending == 0


def test_sequence_follows_the_servers_status_seq_and_never_goes_back(
    desk: Desk, tmp_path: Path
) -> None:
    case = FakeCase(status_seq=0)
    load(desk, tmp_path, case)
    desk.set_triage(case.ref, status="under_review")  # seq 1
    desk.export_outbox(tmp_path / "o1.json")  # + ack, seq 2
    # A later bundle from a server that has not applied our outbox yet says 0 ...
    later = FakeCase(ref=case.ref, reply=case.reply, status_seq=0)
    (tmp_path / "b2.aryz").write_bytes(bundle_bytes([], cases=[later]))
    desk.import_bundle(tmp_path / "b2.aryz")
    desk.set_triage(case.ref, status="need_info")
    assert [
        r.seq
        for r in read_outbox(desk, desk.export_outbox(tmp_path / "o2.json").path or Path()).records
    ] == [3]
    # ... and one from a server ahead of us (another desk's outbox applied) says 7.
    ahead = FakeCase(ref=case.ref, reply=case.reply, status_seq=7)
    (tmp_path / "b3.aryz").write_bytes(bundle_bytes([], cases=[ahead]))
    desk.import_bundle(tmp_path / "b3.aryz")
    desk.set_triage(case.ref, status="closed")
    report = desk.export_outbox(tmp_path / "o3.json")
    assert [r.seq for r in read_outbox(desk, report.path or Path()).records] == [8]


def test_failed_export_marks_nothing_and_the_next_one_sends_the_same_records(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    desk.set_triage(case.ref, status="under_review")

    def stick_full(_path: Path, _data: bytes) -> None:
        raise DiskFullError()

    monkeypatch.setattr("service.common.files.replace", stick_full)
    with pytest.raises(DiskFullError):
        desk.export_outbox(tmp_path / "o.json")
    monkeypatch.undo()
    report = desk.export_outbox(tmp_path / "o.json")
    records = read_outbox(desk, tmp_path / "o.json").records
    assert [(r.type, r.seq) for r in records] == [("status", 1), ("imported", 2)]
    assert report.records == 2


def test_export_never_overwrites_an_outbox(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    (tmp_path / "o.json").write_text("an outbox not yet delivered")
    with pytest.raises(OutboxPathError):
        desk.export_outbox(tmp_path / "o.json")
    assert (tmp_path / "o.json").read_text() == "an outbox not yet delivered"
    with pytest.raises(OutboxPathError):
        desk.export_outbox(tmp_path / "missing-folder" / "o.json")
    assert desk.export_outbox(tmp_path / "o2.json").records == 1  # the ack is still pending


def test_setting_the_same_status_sends_nothing(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    desk.set_triage(case.ref, status="received", priority="normal")
    assert desk.get_case(case.ref).summary.pending == 0
    assert desk.get_case(case.ref).history[-1].event == "first_imported"


def test_reply_needs_a_reply_key_confirmed_by_a_sealed_item(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    items = [sealed(case, answers_plaintext(case, {}, case_key=None), recipients(desk))]
    (tmp_path / "b.aryz").write_bytes(bundle_bytes(items))
    desk.import_bundle(tmp_path / "b.aryz")
    with pytest.raises(ReplyKeyUnconfirmedError):
        desk.add_reply(case.ref, "hello")
    assert desk.get_case(case.ref).summary.pending == 0


@pytest.mark.parametrize("text", ["", "   \n", "nul\x00byte", "x" * (outbox.MAX_REPLY_BYTES + 1)])
def test_bad_reply_text_is_refused(desk: Desk, tmp_path: Path, text: str) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    with pytest.raises(ReplyError):
        desk.add_reply(case.ref, text)
    assert desk.get_case(case.ref).replies == ()


def test_reply_file_must_be_utf8(
    desk_dir: Path,
    desk: Desk,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    (tmp_path / "r.txt").write_bytes(b"\xff\xfe not utf-8")
    code, _out, err = cli_run(
        capsys,
        monkeypatch,
        "reply",
        "--dir",
        str(desk_dir),
        case.ref,
        "--message-file",
        str(tmp_path / "r.txt"),
    )
    assert code == 2
    assert err.endswith(f"aryz: {ReplyError.message}\n")


def test_case_references_by_unique_prefix(desk: Desk, tmp_path: Path) -> None:
    twin_a = FakeCase(ref="abcdef01" + "0" * 24)
    twin_b = FakeCase(ref="abcdef02" + "0" * 24)
    load(desk, tmp_path, twin_a, twin_b)
    assert desk.get_case("ABCDEF01").summary.ref == twin_a.ref
    with pytest.raises(CaseRefAmbiguousError):
        desk.get_case("abcdef")
    with pytest.raises(CaseRefTooShortError):
        desk.get_case("abcde")
    with pytest.raises(CaseRefTooShortError):
        desk.get_case("not-hex-at-all")
    with pytest.raises(CaseNotFoundError):
        desk.get_case("ffffff")


def test_triage_refuses_what_it_cannot_store_honestly(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    for bad in (
        {"status": "resolved"},
        {"priority": "critical"},
        {"add_tags": ["ok", "evil\u202etag"]},
        {"assignee": "x" * 201},
    ):
        with pytest.raises(TriageError):
            desk.set_triage(case.ref, **bad)
    summary = desk.get_case(case.ref).summary
    assert (summary.status, summary.priority, summary.tags) == ("received", "normal", ())
    code, _out, err = cli_run(capsys, monkeypatch, "set", "--dir", str(desk_dir), case.ref)
    assert code == 2
    assert "Nothing to change" in err


def test_tags_and_assignee_round_trip(desk: Desk, tmp_path: Path) -> None:
    case = FakeCase()
    load(desk, tmp_path, case)
    desk.set_triage(case.ref, add_tags=["ivs", "child", "ivs"], assignee="Aigerim")
    desk.set_triage(case.ref, remove_tags=["ivs"], assignee="")
    summary = desk.get_case(case.ref).summary
    assert (summary.tags, summary.assignee) == (("child",), None)


def test_a_mistyped_case_is_refused_before_the_slow_unlock(
    desk_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_prompt(_prompt: str = "") -> str:
        raise AssertionError("asked for the passphrase")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    assert main(["desk", "show", "--dir", str(desk_dir), "12ab"]) == 2
    assert capsys.readouterr().err == f"aryz: {CaseRefTooShortError.message}\n"


def test_the_country_is_corrected_on_the_desk_and_counted_there(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cases filed under the wrong country (or passed here from another coalition) are
    # counted where they belong once staff correct them; nothing goes to the server.
    pair = [FakeCase(), FakeCase()]
    load(desk, tmp_path, *pair, consent_statistics="yes", detained="yes")
    shown = stats.Options(threshold=2)
    before = desk.statistics(shown)  # also caches the cases' facts, with the old country
    assert before.row_totals.get("KZ") == 2
    assert "KG" not in before.row_totals
    with pytest.raises(TriageError):
        desk.set_triage(pair[0].ref[:8], country="XX")
    for case in pair:
        summary = desk.set_triage(case.ref[:8], country="KG")
        assert summary.country == "KG"
        assert summary.pending == 0  # desk-only: no outbox record
    after = desk.statistics(shown)
    assert after.row_totals.get("KG") == 2
    assert "KZ" not in after.row_totals
    desk.close()
    ref = pair[0].ref[:8]
    code, out, _ = cli_run(capsys, monkeypatch, "show", "--dir", str(desk.directory), ref)
    assert code == 0
    assert "country KG" in out
    assert "country: KZ -> KG" in out
    code, _, _ = cli_run(
        capsys, monkeypatch, "set", "--dir", str(desk.directory), ref, "--country", "TJ"
    )
    assert code == 0
    _, out, _ = cli_run(capsys, monkeypatch, "show", "--dir", str(desk.directory), ref)
    assert "country: KG -> TJ" in out


def test_the_web_desk_names_both_countries_in_the_history() -> None:
    from service.common.i18n import translations
    from service.desk.casework.desk import HistoryEntry
    from service.desk.web import logic

    entry = HistoryEntry("2026-12-04", "country", {"old": "KZ", "new": "KG"})
    shown = logic._describe(entry, translations("ru").gettext)
    assert shown == "Страна: Казахстан (KZ) → Кыргызстан (KG)", shown
