"""Statistics as files to publish: JSON and CSV (``REPORT-v1.md`` documents both).

Only what :mod:`service.desk.stats.tables` publishes goes in: suppressed counts are ``null``
(JSON) or empty with status ``suppressed`` (CSV); the cases not counted for lack of
consent, the desk's case references and every date are left out. The report carries the
ISO week it was made in, not a timestamp. The printable HTML report with charts is made
by the desk's web layer (:mod:`service.desk.web.report`), which has the templates.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import service.common.files as files
from service.desk.errors import DeskStoreError, ReportPathError
from service.desk.stats.tables import ALL, Statistics, Table

FORMAT = "aryz-desk-statistics"
VERSION = 1
FORMATS = ("csv", "json", "html")
TOTAL = "TOTAL"
CSV_COLUMNS = ("table", "esf_term", "row", "column", "value", "status")


def as_json(stats: Statistics, coalition: str, week: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "coalition": coalition,
        "week": week,
        "threshold": stats.options.threshold,
        "period": stats.options.period,
        "countries": list(stats.rows),
        "countries_not_shown": list(stats.not_shown),
        "total_cases": stats.total,
        "row_totals": dict(stats.row_totals),
        "tables": [_table_json(t, stats) for t in stats.tables],
        "funnel": {
            row: [{"stage": stage, "cases": n} for stage, n in line]
            for row, line in stats.funnel.items()
        },
        "durations": [
            {"id": d.id, "label": d.label, "median_days": dict(d.medians)} for d in stats.durations
        ],
    }


def _table_json(table: Table, stats: Statistics) -> dict[str, Any]:
    result = table.result
    grid = result.grid
    out: dict[str, Any] = {
        "id": table.id,
        "title": table.dimension.title,
        "kind": table.dimension.kind,
        "esf_term": table.dimension.esf,
        "withheld": result.withheld,
        "columns": [{"code": c, "label": label} for c, label in table.columns],
        "rows": [
            {
                "row": row,
                "total": stats.row_totals[row],
                "cells": {
                    c: result.cell(row, c) for c, _label in table.columns if (row, c) in grid.cells
                },
            }
            for row in stats.rows
        ],
    }
    if grid.cols_add:
        out["column_totals"] = {c: result.column_total(c) for c, _label in table.columns}
    return out


def as_csv(stats: Statistics) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in stats.rows:
        writer.writerow(("cases", "", row, TOTAL, stats.row_totals[row], "published"))
    writer.writerow(("cases", "", ALL, TOTAL, stats.total, "published"))
    for table in stats.tables:
        result, esf = table.result, table.dimension.esf or ""
        for row in stats.rows:
            for code, _label in table.columns:
                if (row, code) in result.grid.cells:
                    writer.writerow(_value_row(table.id, esf, row, code, result.cell(row, code)))
        if result.grid.cols_add:
            for code, _label in table.columns:
                writer.writerow(_value_row(table.id, esf, ALL, code, result.column_total(code)))
    for row, line in stats.funnel.items():
        for stage, n in line:
            writer.writerow(_value_row("funnel_reached", "", row, stage, n))
    for duration in stats.durations:
        for row, days in duration.medians.items():
            writer.writerow(_value_row(f"median_days_{duration.id}", "", row, "days", days))
    return out.getvalue()


def _value_row(table: str, esf: str, row: str, column: str, value: int | None) -> tuple[Any, ...]:
    status = "published" if value is not None else "suppressed"
    return (table, esf, row, column, "" if value is None else value, status)


def write_report(path: Path, data: bytes) -> None:
    """Write a new report file (mode 0600); an existing file is never replaced."""
    try:
        files.write_new(path, data)
    except DeskStoreError as error:
        if type(error) is DeskStoreError:  # not "disk full": path exists or not writable
            raise ReportPathError() from None
        raise


def json_bytes(stats: Statistics, coalition: str, week: str) -> bytes:
    text = json.dumps(as_json(stats, coalition, week), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")
