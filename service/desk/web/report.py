"""Statistics for people: translated tables, SVG charts and the printable HTML report.

Used by the desk's statistics page and by ``aryz desk report --format html``. Every
label is one of our msgids (translated here) or a code we checked (periods, ISO region
codes); nothing a submitter typed reaches these pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup

import service.desk.stats.charts as charts
from service.common.contract.vocabulary import COUNTRIES
from service.common.i18n.markers import N_
from service.desk.stats.facts import region_label
from service.desk.stats.tables import ALL, OTHER_COUNTRY, Statistics, Table
from service.desk.web.render import STATIC_DIR, environment, gettext

Gettext = Callable[[str], str]
HIDDEN = "×"  # what a suppressed cell shows; the legend explains it
PERIOD_LABELS = {"year": N_("Year"), "quarter": N_("Quarter"), "month": N_("Month")}
ROW_LABELS = {OTHER_COUNTRY: N_("Other or unknown country"), ALL: N_("All countries shown")}


@dataclass(frozen=True)
class TableView:
    id: str
    title: str
    note: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, int, tuple[str, ...]], ...]  # label, total, cells as shown
    totals: tuple[str, ...] | None  # column totals, if the table has them
    withheld: bool


def row_label(row: str, _: Gettext) -> str:
    if row in COUNTRIES:
        return _(COUNTRIES[row])
    return _(ROW_LABELS.get(row, row))


def _shown(value: int | None) -> str:
    return HIDDEN if value is None else str(value)


def table_view(table: Table, stats: Statistics, _: Gettext) -> TableView:
    result = table.result
    kind = table.dimension.kind
    note = {
        "multi": N_(
            "A case can count in several columns, so the columns do not add up to the total."
        ),
        "nested": N_("Regions with fewer cases than the threshold are added up, unnamed."),
    }.get(kind)
    labels = []
    for code, label in table.columns:
        labels.append(region_label(code) if table.id == "region" and label == code else _(label))
    rows = tuple(
        (
            row_label(row, _),
            stats.row_totals[row],
            tuple(
                _shown(result.cell(row, code)) if (row, code) in result.grid.cells else ""
                for code, _label in table.columns
            ),
        )
        for row in stats.rows
    )
    totals = None
    if result.grid.cols_add:
        totals = tuple(_shown(result.column_total(code)) for code, _label in table.columns)
    return TableView(
        table.id,
        _(table.dimension.title),
        _(note) if note else None,
        tuple(labels),
        rows,
        totals,
        result.withheld,
    )


def chart_views(stats: Statistics, _: Gettext) -> dict[str, Markup]:
    hidden = _("hidden")
    by_country = charts.horizontal(
        _("Cases by country"),
        [(row_label(r, _), stats.row_totals[r]) for r in stats.rows],
        hidden,
    )
    period = stats.table("period")
    by_period = charts.grouped(
        _("Cases by period received and country"),
        [
            (label, [(r, period.result.cell(r, code)) for r in stats.rows])
            for code, label in period.columns
            if any(period.result.grid.cells.get((r, code), 0) for r in stats.rows)
        ],
        [row_label(r, _) for r in stats.rows],
        hidden,
    )
    stage_labels = dict(stats.table("stage").columns)
    funnel = charts.horizontal(
        _("From complaint to conviction: cases reaching each stage"),
        [(_(stage_labels[s]), n) for s, n in stats.funnel.get(ALL, [])],
        hidden,
    )
    # The SVG is built with every label escaped (service.desk.stats.charts).
    return {
        "by_country": Markup(by_country),  # noqa: S704 - escaped by charts
        "by_period": Markup(by_period),  # noqa: S704 - escaped by charts
        "funnel": Markup(funnel),  # noqa: S704 - escaped by charts
    }


def report_context(stats: Statistics, language: str, coalition: str, week: str) -> dict[str, Any]:
    """Everything the statistics page and the printable report show."""
    _ = gettext(language)
    stage_labels = dict(stats.table("stage").columns)
    return {
        "stats": stats,
        "coalition": coalition,
        "week": week,
        "threshold": stats.options.threshold,
        "period": stats.options.period,
        "period_label": _(PERIOD_LABELS[stats.options.period]),
        "periods": [(p, _(label)) for p, label in PERIOD_LABELS.items()],
        "hidden_mark": HIDDEN,
        "shown": [(row_label(r, _), stats.row_totals[r]) for r in stats.rows],
        "not_shown": [row_label(r, _) for r in stats.not_shown],
        "tables": [table_view(t, stats, _) for t in stats.tables],
        "charts": chart_views(stats, _),
        "funnel_rows": [
            (row_label(row, _), [_shown(n) for _s, n in line]) for row, line in stats.funnel.items()
        ],
        "funnel_stages": [_(stage_labels[s]) for s, _n in stats.funnel.get(ALL, [])],
        "durations": [
            (_(d.label), [_shown(d.medians.get(row)) for row in (*stats.rows, ALL)])
            for d in stats.durations
        ],
        "duration_rows": [row_label(r, _) for r in (*stats.rows, ALL)],
    }


def render_report(
    stats: Statistics, language: str, coalition: str, week: str, *, standalone: bool = True
) -> str:
    """The printable report as one HTML page. ``standalone``: its stylesheet inside, for a
    file opened from a disk; else linked, as the desk's Content-Security-Policy wants."""
    context: Mapping[str, Any] = report_context(stats, language, coalition, week)
    template = environment(language).get_template("report.html")
    css = report_stylesheet().decode("utf-8") if standalone else ""
    return template.render(**context, lang=language, standalone=standalone, css=css)


@cache
def report_stylesheet() -> bytes:
    return (STATIC_DIR / "report.css").read_bytes()
