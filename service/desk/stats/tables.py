"""The desk's publishable statistics: counts by country and one dimension each, the path
from complaint to conviction, and the time between stages.

Rules, each for a reason:

- Only cases whose person answered *yes* to statistical use are counted.
- A country with fewer counted cases than the threshold is not shown at all, and its
  cases are in no total: a row total of 3 would be a small cell every table repeats.
  The report names the countries not shown, always the same list whatever their count.
- Every table goes through :func:`service.desk.stats.suppress.suppress`; the funnel shows, for
  each stage, how many cases reached *at least* that stage, computed from the published
  "furthest stage" table — so it is hidden wherever a hidden cell would be needed.
- Times between stages are medians in days, shown only for groups of at least the
  threshold and without the group's size (a size would be one more equation on the
  hidden cells).
- Periods are of the week the desk *received* a case: incident dates are free text.

What is not modelled: logical links between dimensions (a minor is usually under 18)
and reports made from the same desk with other options or at other times, which can be
differenced. Publish one period and threshold, as documented in ``REPORT-v1.md``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import service.desk.stats.suppress as suppress
from service.common.contract.vocabulary import COUNTRY_CODES
from service.common.i18n.markers import N_
from service.desk.errors import StatsOptionError
from service.desk.stats.facts import (
    AGE_BANDS,
    AGENCIES,
    FACILITIES,
    FILERS,
    METHODS,
    SEX,
    SITUATIONS,
    UNKNOWN,
    URGENT_LANE,
    YES_NO,
    CaseFacts,
)
from service.desk.stats.outcomes import REASONS, OutcomeEvent

DEFAULT_THRESHOLD = 5
PERIODS = ("year", "quarter", "month")
OTHER_COUNTRY = "other"
ALL = "ALL"
OTHER_REGIONS = "other_regions"
NONE = "none"

# The furthest stage reached, in order; "reached at least" is the funnel.
STAGES: dict[str, str] = {
    NONE: N_("No legal step recorded"),
    "complaint": N_("Complaint lodged"),
    "investigation": N_("Investigation opened"),
    "indictment": N_("Indictment"),
    "trial": N_("Trial"),
    "conviction": N_("Conviction"),
}
_STAGE_OF = {
    "complaint_lodged": "complaint",
    "investigation_opened": "investigation",
    "indictment": "indictment",
    "trial_started": "trial",
    "verdict": "trial",  # a verdict other than a conviction: the trial happened
}
DECISIONS: dict[str, str] = {NONE: N_("No refusal or closure recorded"), **REASONS}
STEPS: dict[str, str] = {
    "compensation_claimed": N_("Compensation claimed"),
    "compensation_awarded": N_("Compensation awarded"),
    "un_communication": N_("UN communication"),
    "reprisal_reported": N_("Reprisal reported"),
    "exam_istanbul_protocol": N_("Istanbul Protocol examination"),
    "exam_state_forensic": N_("State forensic examination"),
}
OTHER_REGIONS_LABEL = N_("Other regions (each fewer than the threshold)")


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str  # msgid
    kind: str  # "single" (one value per case), "multi" (several), "nested" (regions)
    values: dict[str, str] | None  # code → msgid; None: taken from the cases
    esf: str | None  # the HURIDOCS Events Standard Formats term it corresponds to
    of: Callable[[CaseFacts, Sequence[OutcomeEvent]], tuple[str, ...]]


def _one(name: str) -> Callable[[CaseFacts, Sequence[OutcomeEvent]], tuple[str, ...]]:
    return lambda f, _e: (str(getattr(f, name)),)


def _many(name: str) -> Callable[[CaseFacts, Sequence[OutcomeEvent]], tuple[str, ...]]:
    return lambda f, _e: tuple(getattr(f, name))


def furthest_stage(events: Iterable[OutcomeEvent]) -> str:
    order = list(STAGES)
    reached = [_STAGE_OF.get(e.event, NONE) for e in events]
    reached += [
        "conviction"
        for e in events
        if e.event == "verdict" and e.fields.get("result") == "conviction"
    ]
    return max(reached, key=order.index, default=NONE)


def decision(events: Sequence[OutcomeEvent]) -> str:
    ended = [e for e in events if e.event in ("investigation_refused", "investigation_closed")]
    return ended[-1].fields.get("reason", "other") if ended else NONE  # events are by date


def steps(events: Iterable[OutcomeEvent]) -> tuple[str, ...]:
    found = set()
    for e in events:
        if e.event == "medical_exam":
            found.add(f"exam_{e.fields.get('exam')}")
        else:
            found.add(e.event)
    return tuple(s for s in STEPS if s in found)


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("period", N_("Period received"), "single", None, None, lambda f, _e: ("",)),
    Dimension(
        "region", N_("Region of arrest"), "nested", None, "Geographical Terms", _one("region")
    ),
    Dimension(
        "facility",
        N_("Place of detention"),
        "multi",
        FACILITIES,
        "Types of Locations",
        _many("facilities"),
    ),
    Dimension(
        "agency", N_("Perpetrator agency"), "multi", AGENCIES, "Perpetrator", _many("agencies")
    ),
    Dimension("method", N_("Method"), "multi", METHODS, "Methods of Violence", _many("methods")),
    Dimension("sex", N_("Sex of the victim"), "single", SEX, "Sex", _one("sex")),
    Dimension("age_band", N_("Age of the victim"), "single", AGE_BANDS, "Age", _one("age_band")),
    Dimension("minor", N_("Minor at the time"), "single", YES_NO, None, _one("minor")),
    Dimension("situation", N_("The person now"), "single", SITUATIONS, None, _one("situation")),
    Dimension("filer", N_("Who filed"), "single", FILERS, "Source", _one("filer")),
    Dimension("urgent", N_("Through the urgent lane"), "single", URGENT_LANE, None, _one("urgent")),
    Dimension(
        "forced_confession",
        N_("Forced confession"),
        "single",
        YES_NO,
        None,
        _one("forced_confession"),
    ),
    Dimension(
        "stage",
        N_("Furthest legal stage"),
        "single",
        STAGES,
        "Types of Intervention",
        lambda _f, e: (furthest_stage(e),),
    ),
    Dimension(
        "decision",
        N_("Why the investigation was refused or closed"),
        "single",
        DECISIONS,
        None,
        lambda _f, e: (decision(e),),
    ),
    Dimension(
        "steps", N_("Other steps"), "multi", STEPS, "Types of Intervention", lambda _f, e: steps(e)
    ),
)

# Time between stages: (id, label, first event, second event).
DURATIONS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "complaint_to_decision",
        N_("Complaint to the decision to investigate or not"),
        ("complaint_lodged",),
        ("investigation_opened", "investigation_refused"),
    ),
    (
        "complaint_to_indictment",
        N_("Complaint to indictment"),
        ("complaint_lodged",),
        ("indictment",),
    ),
    ("indictment_to_verdict", N_("Indictment to verdict"), ("indictment",), ("verdict",)),
    ("complaint_to_verdict", N_("Complaint to verdict"), ("complaint_lodged",), ("verdict",)),
)


@dataclass(frozen=True)
class Options:
    threshold: int = DEFAULT_THRESHOLD
    period: str = "year"

    def __post_init__(self) -> None:
        if not 2 <= self.threshold <= 100 or self.period not in PERIODS:
            raise StatsOptionError()


@dataclass(frozen=True)
class CaseInput:
    facts: CaseFacts
    events: tuple[OutcomeEvent, ...]


@dataclass(frozen=True)
class Table:
    dimension: Dimension
    columns: tuple[tuple[str, str], ...]  # (code, label msgid or the code itself)
    result: suppress.Suppressed

    @property
    def id(self) -> str:
        return self.dimension.id


@dataclass(frozen=True)
class Duration:
    id: str
    label: str
    medians: dict[str, int | None]  # row (country or ALL) → median days, None: hidden


@dataclass(frozen=True)
class Statistics:
    options: Options
    rows: tuple[str, ...]  # countries shown (codes, or "other")
    not_shown: tuple[str, ...]  # the same list whatever their counts
    row_totals: dict[str, int]
    tables: tuple[Table, ...]
    funnel: dict[str, list[tuple[str, int | None]]]  # row or ALL → (stage, reached)
    durations: tuple[Duration, ...]
    not_counted: int  # cases without consent: shown on the desk, never exported
    # Of every case, those whose questionnaire this desk does not know (facts.readable):
    # not counted either, and shown as a warning to update the desk.
    unreadable: int = 0
    # Cases this desk passed to another coalition: counted there, never here.
    transferred: int = 0

    @property
    def total(self) -> int:
        return sum(self.row_totals.values())

    def table(self, dimension: str) -> Table:
        return next(t for t in self.tables if t.id == dimension)


def period_of(week: str | None, period: str) -> str:
    """ "2026-W47" → "2026", "2026-Q4" or "2026-11" (the month of the week's Thursday)."""
    if not week:
        return UNKNOWN
    try:
        thursday = dt.date.fromisocalendar(int(week[:4]), int(week[6:8]), 4)
    except ValueError:
        return UNKNOWN
    if period == "year":
        return f"{thursday.year}"
    if period == "quarter":
        return f"{thursday.year}-Q{(thursday.month - 1) // 3 + 1}"
    return f"{thursday.year}-{thursday.month:02d}"


def compute(cases: Iterable[CaseInput], options: Options | None = None) -> Statistics:
    opts = options or Options()
    every = list(cases)
    counted = [c for c in every if c.facts.consent]
    by_row: dict[str, list[CaseInput]] = {}
    for case in counted:
        by_row.setdefault(_row_of(case.facts), []).append(case)
    order = [*COUNTRY_CODES, OTHER_COUNTRY]
    rows = tuple(r for r in order if len(by_row.get(r, ())) >= opts.threshold)
    shown = {r: by_row[r] for r in rows}
    tables = tuple(_table(d, shown, opts) for d in DIMENSIONS)
    stats = Statistics(
        options=opts,
        rows=rows,
        not_shown=tuple(r for r in order if r not in rows),
        row_totals={r: len(shown[r]) for r in rows},
        tables=tables,
        funnel={},
        durations=tuple(_duration(d, shown, opts.threshold) for d in DURATIONS),
        not_counted=sum(1 for c in every if not c.facts.consent and c.facts.readable),
        unreadable=sum(1 for c in every if not c.facts.readable),
    )
    stats.funnel.update(_funnel(next(t for t in tables if t.id == "stage"), rows))
    return stats


def _row_of(facts: CaseFacts) -> str:
    return facts.country if facts.country in COUNTRY_CODES else OTHER_COUNTRY


def _values(dim: Dimension, case: CaseInput, period: str) -> tuple[str, ...]:
    if dim.id == "period":
        return (period_of(case.facts.week, period),)
    return dim.of(case.facts, case.events)


def _table(dim: Dimension, shown: dict[str, list[CaseInput]], opts: Options) -> Table:
    counts: dict[tuple[str, str], int] = {}
    for row, members in shown.items():
        for case in members:
            for value in _values(dim, case, opts.period):
                counts[(row, value)] = counts.get((row, value), 0) + 1
    if dim.kind == "nested":
        counts = _merge_small_regions(counts, opts.threshold)
    columns = _columns(dim, counts)
    if dim.kind == "nested":
        # Ragged: a row has its own regions, "unknown" and the merged small ones only.
        present = {(r, c) for (r, c) in counts} | {(r, UNKNOWN) for r in shown}
        cells = {rc: counts.get(rc, 0) for rc in sorted(present)}
    else:
        cells = {(r, c): counts.get((r, c), 0) for r in shown for c, _label in columns}
    grid = suppress.Grid(
        rows=tuple(shown),
        columns=tuple(c for c, _label in columns),
        cells=cells,
        row_totals={r: len(m) for r, m in shown.items()},
        rows_add=dim.kind != "multi",
        cols_add=dim.kind != "nested",
    )
    return Table(dim, columns, suppress.suppress(grid, opts.threshold))


def _merge_small_regions(
    counts: dict[tuple[str, str], int], threshold: int
) -> dict[tuple[str, str], int]:
    """A region with fewer cases than the threshold is not named, even hidden: its name
    in a column would tell that someone from there reported. They are added up instead."""
    merged: dict[tuple[str, str], int] = {}
    for (row, region), n in counts.items():
        key = (row, region if region == UNKNOWN or n >= threshold else OTHER_REGIONS)
        merged[key] = merged.get(key, 0) + n
    return merged


def _columns(dim: Dimension, counts: dict[tuple[str, str], int]) -> tuple[tuple[str, str], ...]:
    if dim.values is not None:
        return tuple(dim.values.items())
    present = sorted({c for (_r, c) in counts if c not in (UNKNOWN, OTHER_REGIONS)})
    tail = [(OTHER_REGIONS, OTHER_REGIONS_LABEL)] if dim.kind == "nested" else []
    return (*((c, c) for c in present), *tail, (UNKNOWN, N_("Unknown")))


def _funnel(table: Table, rows: tuple[str, ...]) -> dict[str, list[tuple[str, int | None]]]:
    """Cases reaching at least each stage (after "none"), where derivable from what the
    stage table publishes; None where it would need a hidden count."""
    result = table.result
    stages = [s for s in STAGES if s != NONE]
    funnel: dict[str, list[tuple[str, int | None]]] = {}
    for row in (*rows, ALL):
        line: list[tuple[str, int | None]] = []
        for i, stage in enumerate(stages):
            parts = [
                result.column_total(s) if row == ALL else result.cell(row, s) for s in stages[i:]
            ]
            line.append(
                (
                    stage,
                    None
                    if any(p is None for p in parts)
                    else sum(p for p in parts if p is not None),
                )
            )
        funnel[row] = line
    return funnel


def _duration(
    spec: tuple[str, str, tuple[str, ...], tuple[str, ...]],
    shown: dict[str, list[CaseInput]],
    threshold: int,
) -> Duration:
    ident, label, first, second = spec
    days: dict[str, list[int]] = {}
    for row, members in shown.items():
        for case in members:
            span = _span(case.events, first, second)
            if span is not None:
                days.setdefault(row, []).append(span)
                days.setdefault(ALL, []).append(span)
    medians: dict[str, int | None] = {}
    for row in (*shown, ALL):
        values = days.get(row, [])
        medians[row] = round(statistics.median(values)) if len(values) >= threshold else None
    return Duration(ident, label, medians)


def _span(
    events: Sequence[OutcomeEvent], first: tuple[str, ...], second: tuple[str, ...]
) -> int | None:
    start = next((e.date for e in events if e.event in first), None)
    if start is None:
        return None
    end = next((e.date for e in events if e.event in second and e.date >= start), None)
    return None if end is None else (end - start).days
