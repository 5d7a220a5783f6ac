"""Statistics over a generated desk: ~300 cases in five countries, both questionnaires.

Every published count is compared with the truth the cases were generated from (not
with what service.desk.stats.facts derives), every small count must be hidden, and no hidden
count may be derivable from the exported JSON by the attacks in attack.py.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter

import service.desk.stats.report as report
from service.desk.casework.desk import Desk
from service.desk.stats.tables import ALL, Options, Statistics
from tests.desk_stats.attack import derivable, from_json
from tests.desk_stats.docs_chart import DOCS_CHART, chart
from tests.desk_stats.generate import SIZES, Generated, Truth

THRESHOLD = 5
MULTI = {"facility": "facilities", "method": "methods", "agency": "agencies"}
SINGLE = ("sex", "age_band", "minor", "situation", "stage")


def truth_counts(cases: list[Truth], dimension: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for t in cases:
        if dimension in MULTI:
            values = getattr(t, MULTI[dimension]) or {"unknown"}
        elif dimension == "period":
            values = {t.week[:4]}
        else:
            values = {getattr(t, dimension)}
        for v in values:
            counts[(t.country, v)] += 1
    return counts


def shown(generated: Generated) -> list[Truth]:
    return [t for t in generated.counted() if SIZES[t.country] >= THRESHOLD]


def test_only_consenting_cases_count_and_small_countries_are_not_shown(
    desk: Desk, generated: Generated
) -> None:
    stats = desk.statistics()
    assert stats.rows == ("KZ", "KG", "TJ", "UZ")
    assert stats.not_shown == ("TM", "other")
    assert stats.row_totals == {c: n for c, n in SIZES.items() if n >= THRESHOLD}
    assert stats.not_counted == sum(1 for t in generated.truths if not t.consent)
    assert stats.total == len(shown(generated))


def test_published_counts_equal_the_truth_and_small_ones_are_hidden(
    desk: Desk, generated: Generated
) -> None:
    stats = desk.statistics()
    cases = shown(generated)
    hidden_somewhere = 0
    for dimension in (*SINGLE, *MULTI, "period"):
        table = stats.table(dimension)
        truth = truth_counts(cases, dimension)
        assert not table.result.withheld
        for (row, column), value in table.result.grid.cells.items():
            assert value == truth.get((row, column), 0), (dimension, row, column)
            published = table.result.cell(row, column)
            if 0 < value < THRESHOLD:
                assert published is None
            hidden_somewhere += published is None
            assert published in (None, value)
        for column, _label in table.columns:
            total = sum(truth.get((r, column), 0) for r in stats.rows)
            assert table.result.column_total(column) in (None, total)
            if 0 < total < THRESHOLD:
                assert table.result.column_total(column) is None
    assert hidden_somewhere > 0  # the generated desk does exercise suppression


def test_regions_below_the_threshold_are_never_named(desk: Desk, generated: Generated) -> None:
    table = desk.statistics().table("region")
    truth = truth_counts(shown(generated), "region")
    named = {c for c, _label in table.columns} - {"unknown", "other_regions"}
    assert named == {region for (_c, region), n in truth.items() if n >= THRESHOLD} - {"unknown"}


def test_the_funnel_matches_the_legal_paths(desk: Desk, generated: Generated) -> None:
    stats = desk.statistics()
    order = ["complaint", "investigation", "indictment", "trial", "conviction"]
    cases = shown(generated)
    for row in (*stats.rows, ALL):
        members = [t for t in cases if row in (ALL, t.country)]
        for stage, reached in stats.funnel[row]:
            expected = sum(
                1
                for t in members
                if t.stage != "none" and order.index(t.stage) >= order.index(stage)
            )
            assert reached in (None, expected), (row, stage)
    line = dict(stats.funnel[ALL])
    assert line["complaint"] is not None
    assert line["conviction"] is not None
    assert line["complaint"] > line["investigation"] > line["conviction"] > 0  # type: ignore[operator]


def test_time_between_stages_is_the_median_of_the_dates_entered(
    desk: Desk, generated: Generated
) -> None:
    stats = desk.statistics()
    spans = []
    for t in shown(generated):
        dates = {kind: day for kind, day, _f in reversed(t.events)}
        if "complaint_lodged" in dates and "verdict" in dates:
            spans.append((dates["verdict"] - dates["complaint_lodged"]).days)
    duration = next(d for d in stats.durations if d.id == "complaint_to_verdict")
    assert duration.medians[ALL] == round(statistics.median(spans))


def test_no_hidden_count_can_be_derived_from_the_exported_json(desk: Desk) -> None:
    for options in (Options(), Options(threshold=10, period="quarter")):
        stats = desk.statistics(options)
        data = json.loads(report.json_bytes(stats, desk.coalition, "2026-W48"))
        for table in data["tables"]:
            published = from_json(table)
            assert derivable(published) == set(), table["id"]


def test_exports_carry_the_published_numbers_and_nothing_else(
    desk: Desk, generated: Generated
) -> None:
    stats: Statistics = desk.statistics()
    data = json.loads(report.json_bytes(stats, desk.coalition, "2026-W48"))
    text = report.as_csv(stats)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(report.CSV_COLUMNS)
    by_key = {(r["table"], r["row"], r["column"]): r for r in rows}
    sex = stats.table("sex").result
    for row in stats.rows:
        for column in ("female", "male"):
            value = sex.cell(row, column)
            line = by_key[("sex", row, column)]
            assert line["esf_term"] == "Sex"
            assert line["status"] == ("suppressed" if value is None else "published")
            assert line["value"] == ("" if value is None else str(value))
            json_row = next(r for r in data["tables"] if r["id"] == "sex")["rows"]
            assert next(r for r in json_row if r["row"] == row)["cells"][column] == value
    assert by_key[("cases", ALL, "TOTAL")]["value"] == str(stats.total)
    assert data["format"] == "aryz-desk-statistics"
    assert data["countries_not_shown"] == ["TM", "other"]
    blob = json.dumps(data) + text
    # No case reference, no note, no event date, no count of cases without consent.
    for t in generated.truths[:50]:
        assert t.ref[:12] not in blob
    assert "CANARY" not in blob
    assert "2024-0" not in blob
    assert "not_counted" not in blob


def test_the_readme_chart_is_what_the_desk_draws(desk: Desk) -> None:
    # If this fails after a change to the charts: python -m tests.desk_stats.docs_chart
    assert DOCS_CHART.read_text(encoding="utf-8") == chart(desk)
