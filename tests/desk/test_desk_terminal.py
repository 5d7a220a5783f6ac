"""F-10 on the desk: ``aryz desk show``, ``list`` and ``quarantine`` print nothing raw that a
submitter or a server wrote (a server status stored by an older desk included)."""

from __future__ import annotations

from pathlib import Path

import pytest

import service.desk.casework.cases as cases
from service.cli import main
from service.desk.casework.desk import Desk
from tests.desk.helpers import (
    PASSPHRASE,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    file_plaintext,
    message_plaintext,
    recipients,
    sealed,
)
from tests.security.test_terminal_output import HOSTILE, assert_clean


def test_desk_commands_escape_submitter_and_server_text(
    desk: Desk,
    desk_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = FakeCase()
    to = recipients(desk)
    items = [
        sealed(case, answers_plaintext(case, {"narrative": HOSTILE, "detained": "yes"}), to),
        sealed(case, file_plaintext(case, HOSTILE, b"\xff\xd8"), to),
        sealed(case, message_plaintext(case, HOSTILE), to),
    ]
    bundle = tmp_path / "b.aryz"
    bundle.write_bytes(bundle_bytes(items))
    desk.import_bundle(bundle)
    # A status a hostile server put in a manifest before manifests were checked (F-10):
    # stored by an older desk, it must still print escaped.
    store = desk._store  # noqa: SLF001 - the test plays an older desk's store
    with store.transaction():
        row = cases.case_by_ref(store, case.ref)
        assert row is not None
        row.record.server_status = HOSTILE
        cases.save_case(store, row)
    desk.close()

    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)
    assert main(["desk", "show", "--dir", str(desk_dir), case.ref[:8]]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "(server: closed\\u{001B}]0;desk pwned\\u{0007}" in out
    assert "\\u{202E}gpj.exe" in out
    for command in (["list"], ["quarantine"]):
        assert main(["desk", *command, "--dir", str(desk_dir)]) == 0
        assert_clean(capsys.readouterr().out)
