"""Recording a case's legal path: checked vocabularies, dates, removal; never sent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from service.cli import main
from service.common.contract import outbox
from service.desk.casework.desk import Desk, init_desk, open_desk
from service.desk.errors import OutcomeError, OutcomeNotFoundError
from service.desk.stats.tables import Options
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    recipients,
    sealed,
)


@pytest.fixture
def one_case(tmp_path: Path) -> tuple[Path, FakeCase, FakeCase]:
    folder = tmp_path / "desk"
    init_desk(folder, COALITION, PASSPHRASE)
    kz, tj = FakeCase(), FakeCase()
    with open_desk(folder, PASSPHRASE) as desk:
        to = recipients(desk)
        items = [
            sealed(kz, answers_plaintext(kz, {"consent_statistics": "yes"}), to),
            sealed(tj, answers_plaintext(tj, {"detained": "yes"}, country="TJ"), to),
        ]
        (tmp_path / "b.aryz").write_bytes(bundle_bytes(items))
        assert desk.import_bundle(tmp_path / "b.aryz").problems == ()
    return folder, kz, tj


def test_events_are_checked_against_the_vocabularies(
    one_case: tuple[Path, FakeCase, FakeCase],
) -> None:
    folder, kz, tj = one_case
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    refused = [
        ("no_such_event", "2025-01-01", {}),
        ("complaint_lodged", "2025-01-01", {}),  # where was it lodged?
        ("complaint_lodged", tomorrow, {"body": "prosecutor"}),
        ("complaint_lodged", "2025-1-1", {"body": "prosecutor"}),
        ("complaint_lodged", "1985-05-01", {"body": "prosecutor"}),
        ("complaint_lodged", "2025-01-01", {"body": "prosecutor", "result": "conviction"}),
        ("compensation_awarded", "2025-01-01", {"amount": "500000"}),  # no currency
        ("compensation_awarded", "2025-01-01", {"amount": "5e5", "currency": "KZT"}),
        ("investigation_closed", "2025-01-01", {"reason": "requalified", "article": "301; x"}),
    ]
    with open_desk(folder, PASSPHRASE) as desk:
        for event, on, values in refused:
            with pytest.raises(OutcomeError):
                desk.add_outcome(kz.ref, event, on, values)
        with pytest.raises(OutcomeError):
            desk.add_outcome(kz.ref, "reprisal_reported", "2025-01-01", note="a\x1b[2Jb")
        # Tajikistan has no National Preventive Mechanism to complain to.
        with pytest.raises(OutcomeError):
            desk.add_outcome(tj.ref, "complaint_lodged", "2025-01-01", {"body": "npm"})
        desk.add_outcome(kz.ref, "complaint_lodged", "2025-01-01", {"body": "npm"})
        assert [e.event for e in desk.outcomes(kz.ref)] == ["complaint_lodged"]
        assert desk.outcomes(tj.ref) == []


def test_events_are_listed_by_date_and_removed_by_a_second_entry(
    one_case: tuple[Path, FakeCase, FakeCase], tmp_path: Path
) -> None:
    folder, kz, _tj = one_case
    with open_desk(folder, PASSPHRASE) as desk:
        verdict = desk.add_outcome(kz.ref, "verdict", "2025-09-30", {"result": "conviction"})
        desk.add_outcome(kz.ref, "complaint_lodged", "2025-02-03", {"body": "prosecutor"}, "Подали")
        assert [e.on for e in desk.outcomes(kz.ref)] == ["2025-02-03", "2025-09-30"]
        # One counted case is below any threshold: no country is shown, nothing is told.
        stats = desk.statistics(Options(threshold=2))
        assert stats.rows == ()
        assert dict(stats.funnel["ALL"])["conviction"] == 0
        desk.remove_outcome(kz.ref, verdict.id)
        assert [e.event for e in desk.outcomes(kz.ref)] == ["complaint_lodged"]
        with pytest.raises(OutcomeNotFoundError):
            desk.remove_outcome(kz.ref, verdict.id)
        with pytest.raises(OutcomeNotFoundError):
            desk.remove_outcome(kz.ref, "../../x")
        # The case page's history and notes are untouched by the legal path.
        detail = desk.get_case(kz.ref)
        assert detail.notes == ()
        # Desk-only: an outbox carries import notices and nothing of the legal path.
        target = tmp_path / "outbox.json"
        desk.export_outbox(target)
        records = outbox.decode(target.read_bytes(), {COALITION: desk.public.signing_key}).records
        assert {r.type for r in records} == {"imported"}
        assert b"complaint" not in target.read_bytes()


def test_outcome_commands(
    one_case: tuple[Path, FakeCase, FakeCase],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, kz, _tj = one_case
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    base = ["desk", "outcome"]
    add = [*base, "add", "--dir", str(folder), kz.ref[:8], "--event", "complaint_lodged"]
    assert main([*add, "--date", "2025-02-03", "--body", "prosecutor", "--note", "x\u202ey"]) == 0
    number = capsys.readouterr().out.split()[2].rstrip(":")
    assert main([*add, "--date", "2025-13-40", "--body", "prosecutor"]) == 2
    assert "not accepted" in capsys.readouterr().err
    assert main([*base, "list", "--dir", str(folder), kz.ref[:8]]) == 0
    out = capsys.readouterr().out
    assert f"2025-02-03  {number}  complaint_lodged  body=prosecutor" in out
    assert "x\\u{202E}y" in out  # a bidirectional override is shown, not obeyed
    assert main([*base, "remove", "--dir", str(folder), kz.ref[:8], number]) == 0
    capsys.readouterr()
    assert main([*base, "list", "--dir", str(folder), kz.ref[:8]]) == 0
    assert capsys.readouterr().out.strip() == "0 events"


def test_the_store_keeps_events_only_encrypted(one_case: tuple[Path, FakeCase, FakeCase]) -> None:
    folder, kz, _tj = one_case
    with open_desk(folder, PASSPHRASE) as desk:
        desk.add_outcome(kz.ref, "medical_exam", "2025-03-04", {"exam": "istanbul_protocol"})
        _assert_not_in_files(desk, folder, [b"istanbul_protocol", b"2025-03-04", b"medical"])


def _assert_not_in_files(desk: Desk, folder: Path, secrets: list[bytes]) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [s for s in secrets if s in data], path.name
    assert json.dumps(desk.coalition)
