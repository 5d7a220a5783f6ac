"""An attacker with the published statistics only: can any hidden count be worked out?

Two independent attacks, neither using the suppression code:

- linear algebra over the rationals: a hidden count is determined if its unit vector
  lies in the row space of the published equations (reduced row echelon form);
- interval reasoning with the knowledge that counts are never negative: bounds are
  tightened from every equation until nothing changes; a hidden count whose lowest and
  highest possible values meet is determined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Unknown = tuple[str, ...]


@dataclass(frozen=True)
class Published:
    """One table as a reader of the report sees it (None: suppressed)."""

    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], int | None]  # existing cells only
    row_totals: dict[str, int]
    column_totals: dict[str, int | None] | None  # None: not published at all
    rows_add: bool


def from_json(table: dict[str, Any]) -> Published:
    rows = [r["row"] for r in table["rows"]]
    cells = {(r["row"], c): v for r in table["rows"] for c, v in r["cells"].items()}
    return Published(
        rows=rows,
        columns=[c["code"] for c in table["columns"]],
        cells=cells,
        row_totals={r["row"]: r["total"] for r in table["rows"]},
        column_totals=table.get("column_totals"),
        rows_add=table["kind"] != "multi",
    )


def equations(t: Published) -> tuple[list[Unknown], list[tuple[dict[Unknown, int], int]]]:
    """The unknowns and every published sum as {unknown: coefficient} = constant."""
    unknowns: list[Unknown] = [("cell", r, c) for (r, c), v in t.cells.items() if v is None]
    if t.column_totals is not None:
        unknowns += [("col", c) for c, v in t.column_totals.items() if v is None]
    eqs: list[tuple[dict[Unknown, int], int]] = []

    def add(terms: list[tuple[Unknown, int | None, int]], constant: int) -> None:
        coefs: dict[Unknown, int] = {}
        for key, value, coef in terms:
            if value is None:
                coefs[key] = coefs.get(key, 0) + coef
            else:
                constant -= coef * value
        eqs.append((coefs, constant))

    if t.rows_add:
        for r in t.rows:
            add(
                [(("cell", r, c), v, 1) for (rr, c), v in t.cells.items() if rr == r],
                t.row_totals[r],
            )
    if t.column_totals is not None:
        for c, total in t.column_totals.items():
            terms = [(("cell", r, c), v, 1) for (r, cc), v in t.cells.items() if cc == c]
            add([*terms, (("col", c), total, -1)], 0)
        if t.rows_add:
            add(
                [(("col", c), v, 1) for c, v in t.column_totals.items()], sum(t.row_totals.values())
            )
    return unknowns, eqs


def determined_by_algebra(t: Published) -> set[Unknown]:
    unknowns, eqs = equations(t)
    index = {u: i for i, u in enumerate(unknowns)}
    matrix = [[Fraction(c.get(u, 0)) for u in unknowns] for c, _b in eqs]
    pivots: list[int] = []
    row = 0
    for col in range(len(unknowns)):
        pick = next((i for i in range(row, len(matrix)) if matrix[i][col] != 0), None)
        if pick is None:
            continue
        matrix[row], matrix[pick] = matrix[pick], matrix[row]
        lead = matrix[row][col]
        matrix[row] = [x / lead for x in matrix[row]]
        for i in range(len(matrix)):
            if i != row and matrix[i][col] != 0:
                factor = matrix[i][col]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[row], strict=True)]
        pivots.append(col)
        row += 1
    found = set()
    for r, col in enumerate(pivots):
        if all(x == 0 for j, x in enumerate(matrix[r]) if j != col):
            found.add(unknowns[col])
    assert all(u in index for u in found)
    return found


def bounds(t: Published) -> dict[Unknown, tuple[int, int]]:
    unknowns, eqs = equations(t)
    big = sum(t.row_totals.values()) * 4 + 10
    lo = dict.fromkeys(unknowns, 0)
    hi = dict.fromkeys(unknowns, big)
    for _round in range(200):
        changed = False
        for coefs, constant in eqs:
            for u, a in coefs.items():
                # a*u = constant - sum(others); bound the others' sum from both sides.
                rest_lo = sum(min(c * lo[v], c * hi[v]) for v, c in coefs.items() if v != u)
                rest_hi = sum(max(c * lo[v], c * hi[v]) for v, c in coefs.items() if v != u)
                ends = (Fraction(constant - rest_hi, a), Fraction(constant - rest_lo, a))
                new_lo = max(lo[u], math.ceil(min(ends)))
                new_hi = min(hi[u], math.floor(max(ends)))
                if (new_lo, new_hi) != (lo[u], hi[u]):
                    lo[u], hi[u], changed = new_lo, new_hi, True
        if not changed:
            break
    return {u: (lo[u], hi[u]) for u in unknowns}


def derivable(t: Published) -> set[Unknown]:
    """Every hidden count an attacker can pin down by either attack."""
    pinned = {u for u, (low, high) in bounds(t).items() if low >= high}
    return determined_by_algebra(t) | pinned
