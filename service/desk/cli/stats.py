"""``aryz desk outcome …``, ``aryz desk stats`` and ``aryz desk report``.

Commands (each takes ``--dir DIR``, the desk folder)::

    outcome add CASE --event E --date YYYY-MM-DD [--body …] [--reason …] [--note …]
    outcome list CASE                 the case's legal path, by date
    outcome remove CASE NUMBER        withdraw an event entered by mistake
    stats [--threshold N] [--period year|quarter|month]
    report --format csv|json|html --out FILE [--lang ru|en] [--threshold N] [--period P]

The choices come from :mod:`service.desk.stats.outcomes` and :mod:`service.desk.stats.tables`, which
load nothing heavy, so building the ``aryz`` parser stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import service.desk.stats.outcomes as outcomes
from service.desk.cli.common import dir_option, open_for, safe, say
from service.desk.stats.report import FORMATS
from service.desk.stats.tables import DEFAULT_THRESHOLD, PERIODS

_CHOICES = {
    name: sorted(
        {
            v
            for c in ("KZ", "KG", "TJ", "UZ", "TM", None)
            for v in (outcomes.choices_for(name, c) or {})
        }
    )
    for name in outcomes.FIELDS
}


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    outcome = commands.add_parser("outcome", help="a case's legal path: complaint to verdict")
    steps = outcome.add_subparsers(dest="outcome_command", required=True)

    p = steps.add_parser("add", help="record one event of a case's legal path")
    dir_option(p)
    p.add_argument("case")
    p.add_argument("--event", required=True, choices=list(outcomes.EVENT_TYPES))
    p.add_argument("--date", required=True, help="the date of the legal act, YYYY-MM-DD")
    for name in outcomes.FIELDS:
        choices = _CHOICES[name] or None
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, choices=choices)
    p.add_argument("--note", help="for your team only (never published or sent)")
    p.set_defaults(func=_cmd_add)

    p = steps.add_parser("list", help="show a case's legal path")
    dir_option(p)
    p.add_argument("case")
    p.set_defaults(func=_cmd_list)

    p = steps.add_parser("remove", help="withdraw an event entered by mistake")
    dir_option(p)
    p.add_argument("case")
    p.add_argument("number", help="the event's number, as 'outcome list' shows it")
    p.set_defaults(func=_cmd_remove)

    p = commands.add_parser("stats", help="publishable statistics, small counts hidden")
    dir_option(p)
    _options(p)
    p.set_defaults(func=_cmd_stats)

    p = commands.add_parser("report", help="write the statistics as CSV, JSON or HTML")
    dir_option(p)
    _options(p)
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, type=Path, help="a new file")
    p.add_argument("--lang", choices=("ru", "en"), default="ru", help="for the HTML report")
    p.set_defaults(func=_cmd_report)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threshold",
        type=int,
        default=DEFAULT_THRESHOLD,
        help=f"hide counts below this (default {DEFAULT_THRESHOLD})",
    )
    p.add_argument("--period", choices=PERIODS, default="year")


def _cmd_add(args: argparse.Namespace) -> int:
    values = {n: getattr(args, n) for n in outcomes.FIELDS if getattr(args, n) is not None}
    with open_for(args) as desk:
        event = desk.add_outcome(args.case, args.event, args.date, values, args.note)
    say(f"Recorded event {event.id}: {event.event} on {event.on}.")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        events = desk.outcomes(args.case)
    for e in events:
        fields = "  ".join(f"{k}={v}" for k, v in e.fields.items())
        say(f"{e.on}  {e.id}  {e.event}  {fields}".rstrip())
        if e.note:
            say("      " + safe(e.note, multiline=True).replace("\n", "\n      "))
    say(f"{len(events)} events")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        desk.remove_outcome(args.case, args.number)
    say("Event removed (the removal is kept in the case's record).")
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from service.desk.stats.tables import ALL, Options

    options = Options(threshold=args.threshold, period=args.period)
    with open_for(args) as desk:
        stats = desk.statistics(options)
    say(f"Counted cases: {stats.total} (threshold {options.threshold}; '×' = hidden)")
    say(f"Not shown: {', '.join(stats.not_shown) or '-'}")
    if stats.not_counted:
        say(f"Not counted (no consent to statistics): {stats.not_counted}")
    if stats.transferred:
        say(f"Passed to another coalition (counted there, not here): {stats.transferred}")
    if stats.unreadable:
        say(
            f"WARNING: {stats.unreadable} cases use a questionnaire version this desk does not "
            "know; they are not counted. Update the desk's software."
        )
    rows = [*stats.rows, ALL]
    for table in stats.tables:
        result = table.result
        say()
        say(f"{table.dimension.title}{' (withheld)' if result.withheld else ''}")
        header = ["", "cases", *(code for code, _label in table.columns)]
        lines = [header]
        for row in stats.rows:
            cells = [
                _cell(result.cell(row, c)) if (row, c) in result.grid.cells else ""
                for c, _label in table.columns
            ]
            lines.append([row, str(stats.row_totals[row]), *cells])
        if result.grid.cols_add:
            totals = [_cell(result.column_total(c)) for c, _label in table.columns]
            lines.append([ALL, str(stats.total), *totals])
        _table(lines)
    say()
    say("Reached at least (funnel)")
    stages = [s for s, _n in stats.funnel.get(ALL, [])]
    _table([["", *stages], *([r, *(_cell(n) for _s, n in stats.funnel[r])] for r in rows)])
    say()
    say("Median days between stages")
    _table(
        [["", *rows], *([d.id, *(_cell(d.medians.get(r)) for r in rows)] for d in stats.durations)]
    )
    return 0


def _cell(value: int | None) -> str:
    return "×" if value is None else str(value)


def _table(lines: list[list[str]]) -> None:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        say("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _cmd_report(args: argparse.Namespace) -> int:
    import service.desk.stats.report as report
    from service.common.clock import current_week
    from service.desk.stats.tables import Options

    options = Options(threshold=args.threshold, period=args.period)
    with open_for(args) as desk:
        stats = desk.statistics(options)
        coalition = desk.coalition
    week = current_week()
    if args.format == "csv":
        data = report.as_csv(stats).encode("utf-8")
    elif args.format == "json":
        data = report.json_bytes(stats, coalition, week)
    else:
        # The web layer has the templates; loaded only for this format.
        from service.desk.web.report import render_report

        data = render_report(stats, args.lang, coalition, week).encode("utf-8")
    report.write_report(args.out, data)
    say(f"Report written: {stats.total} counted cases, threshold {options.threshold}.")
    return 0
