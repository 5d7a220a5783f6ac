"""Small-cell suppression: publish a table so that no small count can be worked out.

A count below the threshold (default 5) could point at a person ("the one woman from
Tajikistan"), so it is hidden — *primary* suppression. Hiding it alone is not enough:
a row total minus the other cells of the row gives it back. So more cells are hidden —
*complementary* suppression — until every hidden cell has a **witness**: a second table,
equal to the real one in every published number (cells, row totals, column totals, the
grand total), with no negative count, that differs in that hidden cell. If such a table
exists, nothing published can tell the two apart, so the hidden value cannot be derived.
The witness is found, and checked, for every hidden cell before anything is published;
the tests attack the result independently (linear algebra and interval reasoning).

The shape of a table (:class:`Grid`): rows are countries, whose totals are published
as they are (statistics show only countries with at least ``threshold`` cases, so a
row total is never small); columns are the values of one dimension. Which sums are
published depends on the dimension:

- ``rows_add``: each case has exactly one value, so a row's cells add up to its total;
- ``cols_add``: column totals over the countries are published.

A dimension where a case has several values (methods, agencies) has no row sums; the
regions of a country nest in it and have no column totals across countries.

How witnesses are found: every count that is hidden is a variable, every published sum
an equation; each variable is in at most two equations, so hidden variables are edges
between equations (an edge to "ground" where it is in only one). A cycle of hidden
edges through a cell is a witness: add 1 and subtract 1 around it, as each equation's
signs demand, never below zero. Complementary cells are chosen next to the cell that
lacks a cycle, smallest non-zero count first (least information lost).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

Key = tuple[str, ...]  # ("cell", row, column) or ("col", column)
GROUND = "ground"
MAX_STEPS = 200_000  # per witness search; past it the cell counts as unprotected


@dataclass(frozen=True)
class Grid:
    """Counts to publish. ``cells`` holds only cells that exist (rows may be ragged)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], int]
    row_totals: dict[str, int]
    rows_add: bool
    cols_add: bool

    @property
    def grand_total(self) -> int:
        return sum(self.row_totals.values())

    def column_total(self, column: str) -> int:
        return sum(v for (_r, c), v in self.cells.items() if c == column)

    def values(self) -> dict[Key, int]:
        """Every count that may be hidden: cells, and column totals if published."""
        found: dict[Key, int] = {("cell", r, c): v for (r, c), v in self.cells.items()}
        if self.cols_add:
            found.update({("col", c): self.column_total(c) for c in self.columns})
        return found


@dataclass(frozen=True)
class Suppressed:
    """A grid with the counts that must not be published."""

    grid: Grid
    hidden: frozenset[Key]
    withheld: bool = False  # nothing but the row totals could be published safely

    def cell(self, row: str, column: str) -> int | None:
        """The published count, None if hidden, 0 for a cell that does not exist."""
        if ("cell", row, column) in self.hidden:
            return None
        return self.grid.cells.get((row, column), 0)

    def column_total(self, column: str) -> int | None:
        if not self.grid.cols_add or ("col", column) in self.hidden:
            return None
        return self.grid.column_total(column)


def suppress(grid: Grid, threshold: int) -> Suppressed:
    """Hide every count from 1 to ``threshold - 1`` and enough others to protect them."""
    graph = _Graph(grid)
    values = graph.values
    hidden = {k for k, v in values.items() if 0 < v < threshold}
    proven: set[Key] = set()
    while True:
        lacking = next(
            (e for e in sorted(hidden - proven) if not _protected(graph, hidden, e)), None
        )
        if lacking is None:
            return Suppressed(grid, frozenset(hidden))
        proven |= {e for e in hidden if e < lacking}  # checked in this pass, still valid
        extra = _complement(graph, hidden, lacking)
        if extra is None:
            return Suppressed(grid, frozenset(values), withheld=True)
        hidden.add(extra)


def witness(grid: Grid, hidden: frozenset[Key] | set[Key], target: Key) -> dict[Key, int] | None:
    """Changes to hidden counts that keep every published number and move ``target``."""
    return _Graph(grid).witness(set(hidden), target)


def consistent(grid: Grid, hidden: frozenset[Key] | set[Key], change: dict[Key, int]) -> bool:
    """Whether ``grid`` altered by ``change`` shows the same published numbers, no count
    below zero and only hidden counts changed: the check every witness must pass."""
    if any(k not in hidden for k, d in change.items() if d):
        return False
    cells = {rc: v + change.get(("cell", *rc), 0) for rc, v in grid.cells.items()}
    if any(v < 0 for v in cells.values()):
        return False
    if grid.rows_add:
        for row in grid.rows:
            if sum(v for (r, _c), v in cells.items() if r == row) != grid.row_totals[row]:
                return False
    if grid.cols_add:
        for column in grid.columns:
            moved = sum(v for (_r, c), v in cells.items() if c == column)
            if moved != grid.column_total(column) + change.get(("col", column), 0):
                return False
            if moved < 0:
                return False
    return True


def _protected(graph: _Graph, hidden: set[Key], key: Key) -> bool:
    found = graph.witness(hidden, key)
    return found is not None and consistent(graph.grid, hidden, found)


def _complement(graph: _Graph, hidden: set[Key], key: Key) -> Key | None:
    """The published count to hide so that ``key`` may get a cycle: one sharing an
    equation with it, else with any cell it is already linked to through hidden ones."""
    near = [n for n in graph.ends[key] if n != GROUND]
    for nodes in (near, list(graph.reachable(hidden, near))):
        candidates = [k for n in nodes for k in graph.at[n] if k not in hidden]
        if candidates:
            # Non-zero first (a zero cannot go down, so it closes fewer cycles), cells
            # before column totals (a total tells more), then the smallest count.
            return min(
                candidates, key=lambda k: (graph.values[k] == 0, k[0] == "col", graph.values[k], k)
            )
    return None


@dataclass
class _Graph:
    grid: Grid
    values: dict[Key, int] = field(init=False)
    ends: dict[Key, tuple[str, str]] = field(init=False)
    at: dict[str, list[Key]] = field(init=False)

    def __post_init__(self) -> None:
        g = self.grid
        self.values = g.values()
        self.ends = {}
        for key in self.values:
            if key[0] == "cell":
                row, column = key[1], key[2]
                self.ends[key] = (
                    f"R:{row}" if g.rows_add else GROUND,
                    f"K:{column}" if g.cols_add else GROUND,
                )
            else:
                self.ends[key] = (f"K:{key[1]}", "Z" if g.rows_add else GROUND)
        self.at = {}
        for key, (a, b) in self.ends.items():
            self.at.setdefault(a, []).append(key)
            if b != a:
                self.at.setdefault(b, []).append(key)

    def coef(self, key: Key, node: str) -> int:
        # A column total is minus in its column's equation (cells - total = 0), plus in
        # the equation of the grand total; cells are plus everywhere.
        return -1 if key[0] == "col" and node.startswith("K:") else 1

    def other(self, key: Key, node: str) -> str:
        a, b = self.ends[key]
        return b if node == a else a

    def reachable(self, hidden: set[Key], start: list[str]) -> Iterator[str]:
        seen, todo = set(start), list(start)
        while todo:
            node = todo.pop()
            yield node
            for key in self.at.get(node, []):
                nxt = self.other(key, node)
                if key in hidden and nxt not in seen and nxt != GROUND:
                    seen.add(nxt)
                    todo.append(nxt)

    def witness(self, hidden: set[Key], target: Key) -> dict[Key, int] | None:
        a, b = self.ends[target]
        for sign in (1, -1):
            if sign < 0 and self.values[target] < 1:
                continue
            if a == b == GROUND:
                return {target: sign}  # in no published sum at all
            steps = [0]
            path = self._close(
                hidden,
                b,
                self.coef(target, b) * sign,
                a,
                self.coef(target, a) * sign,
                {target: sign},
                {b},
                steps,
            )
            if path is not None:
                return path
        return None

    def _close(
        self,
        hidden: set[Key],
        node: str,
        residual: int,
        goal: str,
        goal_residual: int,
        change: dict[Key, int],
        visited: set[str],
        steps: list[int],
    ) -> dict[Key, int] | None:
        """Depth-first: extend ``change`` from ``node`` (where ``residual`` must be
        cancelled) back to ``goal`` along unused hidden counts, never below zero."""
        for key in self.at.get(node, []):
            if key not in hidden or key in change:
                continue
            steps[0] += 1
            if steps[0] > MAX_STEPS:
                return None
            options = (1, -1) if node == GROUND else (-residual * self.coef(key, node),)
            for d in options:
                if d < 0 and self.values[key] < 1:
                    continue
                nxt = self.other(key, node)
                arriving = self.coef(key, nxt) * d
                if nxt == goal and (goal == GROUND or arriving + goal_residual == 0):
                    return {**change, key: d}
                if nxt in visited or nxt == goal:
                    continue
                found = self._close(
                    hidden,
                    nxt,
                    arriving,
                    goal,
                    goal_residual,
                    {**change, key: d},
                    visited | {nxt},
                    steps,
                )
                if found is not None:
                    return found
        return None
