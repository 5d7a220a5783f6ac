"""The desk's pages for a case's legal path and for statistics (routes of issue 7).

  /{lang}/case/{ref}/outcomes, POST            the legal path: events, record one
  POST /{lang}/case/{ref}/outcomes/{id}/remove  withdraw an event entered by mistake
  /{lang}/stats?threshold=&period=              statistics with charts
  /{lang}/report?…                              the printable report (PDF: the browser's Print)
  /{lang}/report.csv?…, /{lang}/report.json?…   the same, as files to publish

Kept apart from :mod:`service.desk.web.routes` so that either can change on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

import service.desk.stats.outcomes as outcomes
import service.desk.stats.report as report
from service.common.clock import current_week
from service.desk.casework.desk import Desk
from service.desk.errors import OutcomeError, StatsOptionError
from service.desk.stats.tables import Options, Statistics
from service.desk.web.deps import DeskDep
from service.desk.web.logic import content_disposition, visible
from service.desk.web.render import gettext, page
from service.desk.web.report import render_report, report_context, report_stylesheet
from service.desk.web.routes import _form, _here, _lang, chrome

router = APIRouter(include_in_schema=False)
FLASHES = ("added", "removed")


@router.get("/static/report.css")
async def report_css() -> Response:
    return Response(report_stylesheet(), media_type="text/css; charset=utf-8")


# --- the legal path of a case ---------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    id: str
    date: str
    label: str
    details: tuple[tuple[str, str], ...]
    note: str
    recorded: str


@dataclass(frozen=True)
class FieldView:
    name: str
    label: str
    choices: tuple[tuple[str, str], ...]
    hint: str | None


def _event_rows(
    events: list[outcomes.OutcomeEvent], country: str | None, language: str
) -> list[EventRow]:
    _ = gettext(language)
    rows = []
    for e in events:
        details = []
        for name, value in e.fields.items():
            choices = outcomes.choices_for(name, country) or {}
            shown = _(choices[value]) if value in choices and name != "currency" else value
            details.append((_(outcomes.FIELD_LABELS.get(name, name)), visible(shown)))
        rows.append(
            EventRow(
                e.id,
                e.on,
                _(outcomes.EVENT_TYPES[e.event].label),
                tuple(details),
                visible(e.note, multiline=True),
                e.recorded,
            )
        )
    return rows


def _fields(country: str | None, language: str) -> list[FieldView]:
    _ = gettext(language)
    views = []
    for name in outcomes.FIELDS:
        choices = outcomes.choices_for(name, country)
        hint = None
        if name == "article":
            known = outcomes.articles_for(country)
            hint = ", ".join(f"{code} — {_(label)}" for code, label in known.items()) or "146"
        views.append(
            FieldView(
                name,
                _(outcomes.FIELD_LABELS[name]),
                tuple((v, v if name == "currency" else _(label)) for v, label in choices.items())
                if choices
                else (),
                hint,
            )
        )
    return views


async def _outcomes_page(
    desk: Desk,
    ref: str,
    language: str,
    request: Request,
    *,
    typed: Mapping[str, str] | None = None,
    error: str | None = None,
) -> Response:
    detail = await run_in_threadpool(desk.get_case, ref)
    events = await run_in_threadpool(desk.outcomes, detail.summary.ref)
    country = detail.summary.country
    _ = gettext(language)
    names = ("event", "on", "note", *outcomes.FIELDS)
    done = request.query_params.get("done")
    context = {
        **chrome(desk),
        "here": f"case/{detail.summary.ref}/outcomes",
        "ref": detail.summary.ref,
        "short_ref": detail.summary.short_ref,
        "events": _event_rows(events, country, language),
        "event_types": [(t.code, _(t.label)) for t in outcomes.EVENT_TYPES.values()],
        "fields": _fields(country, language),
        "typed": {n: (typed or {}).get(n, "") for n in names},
        "error": error,
        "flash": done if done in FLASHES and error is None else None,
    }
    return page("outcomes.html", language, context, status_code=400 if error else 200)


@router.get("/{lang}/case/{ref}/outcomes")
async def outcomes_view(lang: str, ref: str, request: Request, desk: DeskDep) -> Response:
    return await _outcomes_page(desk, ref, _lang(lang), request)


@router.post("/{lang}/case/{ref}/outcomes")
async def outcome_add(lang: str, ref: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    form = await _form(request)
    detail = await run_in_threadpool(desk.get_case, ref)
    values = {name: form.get(name, "") for name in outcomes.FIELDS}
    add = partial(
        desk.add_outcome,
        detail.summary.ref,
        form.get("event", ""),
        form.get("on", ""),
        values,
        form.get("note"),
    )
    try:
        await run_in_threadpool(add)
    except OutcomeError as error:
        return await _outcomes_page(desk, ref, language, request, typed=form, error=error.code)
    return _back(language, detail.summary.ref, "added")


@router.post("/{lang}/case/{ref}/outcomes/{event_id}/remove")
async def outcome_remove(lang: str, ref: str, event_id: str, desk: DeskDep) -> Response:
    language = _lang(lang)
    detail = await run_in_threadpool(desk.get_case, ref)
    await run_in_threadpool(desk.remove_outcome, detail.summary.ref, event_id)
    return _back(language, detail.summary.ref, "removed")


def _back(language: str, ref: str, done: str) -> Response:
    return RedirectResponse(f"/{language}/case/{ref}/outcomes?done={done}#events", 303)


# --- statistics -----------------------------------------------------------------------


def options_of(params: Mapping[str, str]) -> Options:
    """The statistics options from a query string; anything else is refused."""
    threshold = params.get("threshold", "") or str(Options().threshold)
    period = params.get("period", "") or Options().period
    if not threshold.isascii() or not threshold.isdigit() or len(threshold) > 3:
        raise StatsOptionError()
    return Options(threshold=int(threshold), period=period)


def _query(options: Options) -> str:
    return f"threshold={options.threshold}&period={options.period}"


async def _statistics(desk: Desk, request: Request) -> Statistics:
    options = options_of(request.query_params)
    return await run_in_threadpool(desk.statistics, options)


@router.get("/{lang}/stats")
async def stats_page(lang: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    stats = await _statistics(desk, request)
    context: dict[str, Any] = {
        **chrome(desk),
        **report_context(stats, language, desk.coalition, current_week()),
        "here": _here(request, language),
        "query": _query(stats.options),
    }
    return page("stats.html", language, context)


@router.get("/{lang}/report")
async def report_page(lang: str, request: Request, desk: DeskDep) -> Response:
    language = _lang(lang)
    stats = await _statistics(desk, request)
    html = render_report(stats, language, desk.coalition, current_week(), standalone=False)
    return Response(html, media_type="text/html; charset=utf-8")


@router.get("/{lang}/report.csv")
async def report_csv(lang: str, request: Request, desk: DeskDep) -> Response:
    _lang(lang)
    stats = await _statistics(desk, request)
    return _download(report.as_csv(stats).encode("utf-8"), "text/csv; charset=utf-8", "csv")


@router.get("/{lang}/report.json")
async def report_json(lang: str, request: Request, desk: DeskDep) -> Response:
    _lang(lang)
    stats = await _statistics(desk, request)
    data = report.json_bytes(stats, desk.coalition, current_week())
    return _download(data, "application/json", "json")


def _download(data: bytes, media_type: str, extension: str) -> Response:
    name = f"statistics-{current_week()}.{extension}"
    return Response(
        data, media_type=media_type, headers={"content-disposition": content_disposition(name)}
    )
