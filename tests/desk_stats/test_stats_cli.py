"""``aryz desk stats`` and ``aryz desk report`` over the generated desk."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from service.cli import main
from tests.desk.helpers import PASSPHRASE
from tests.desk_stats.generate import Generated


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARYZ_DESK_PASSPHRASE", PASSPHRASE)


def test_stats_prints_tables_with_hidden_cells(
    generated: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["desk", "stats", "--dir", str(generated.folder)]) == 0
    out = capsys.readouterr().out
    assert f"Counted cases: {len(generated.counted()) - 4}" in out  # Turkmenistan's 4 not shown
    assert "Not shown: TM, other" in out
    assert "Sex of the victim" in out
    assert "×" in out
    assert "Reached at least (funnel)" in out
    assert main(["desk", "stats", "--dir", str(generated.folder), "--threshold", "1"]) == 2


def test_report_files_in_each_format(
    generated: Generated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ["desk", "report", "--dir", str(generated.folder)]
    csv_file, json_file, html_file = tmp_path / "s.csv", tmp_path / "s.json", tmp_path / "s.html"
    assert main([*run, "--format", "csv", "--out", str(csv_file)]) == 0
    assert main([*run, "--format", "json", "--out", str(json_file), "--period", "quarter"]) == 0
    assert main([*run, "--format", "html", "--out", str(html_file), "--lang", "en"]) == 0
    assert "Report written" in capsys.readouterr().out
    rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
    assert {r["status"] for r in rows} == {"published", "suppressed"}
    assert all(r["value"] == "" for r in rows if r["status"] == "suppressed")
    data = json.loads(json_file.read_text())
    assert data["period"] == "quarter"
    assert any(c["code"].endswith("-Q3") for c in data["tables"][0]["columns"])
    html = html_file.read_text()
    assert html.count("<svg") == 3
    assert "<script" not in html
    assert "Statistics on torture complaints" in html
    assert "<style>" in html  # a file opened from a disk has its styles inside
    assert csv_file.stat().st_mode & 0o077 == 0
    # An existing file is never overwritten.
    assert main([*run, "--format", "csv", "--out", str(csv_file)]) == 2
    assert "already exists" in capsys.readouterr().err
