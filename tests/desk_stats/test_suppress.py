"""Small-cell suppression on its own: every small count hidden, none derivable.

Each hidden count must have a witness — another table with the same published numbers
and no negative count that differs there — and two independent attacks (tests/desk_stats/
attack.py: linear algebra, interval reasoning) must fail to pin any hidden count down.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.desk.stats.suppress import Grid, Suppressed, suppress, witness
from tests.desk_stats.attack import Published, derivable

THRESHOLD = 5


def published(result: Suppressed) -> Published:
    g = result.grid
    return Published(
        rows=list(g.rows),
        columns=list(g.columns),
        cells={rc: result.cell(*rc) for rc in g.cells},
        row_totals=dict(g.row_totals),
        column_totals={c: result.column_total(c) for c in g.columns} if g.cols_add else None,
        rows_add=g.rows_add,
    )


def check_witness(result: Suppressed, key: tuple[str, ...]) -> None:
    """Apply the witness and compare every published number, independently of the
    module's own check."""
    g = result.grid
    change = witness(g, result.hidden, key)
    assert change is not None, key
    assert change.get(key, 0) != 0
    assert all(k in result.hidden for k, d in change.items() if d)
    other = {rc: v + change.get(("cell", *rc), 0) for rc, v in g.cells.items()}
    assert all(v >= 0 for v in other.values())
    original, altered = (
        published(result),
        Published(
            rows=list(g.rows),
            columns=list(g.columns),
            cells={rc: (None if ("cell", *rc) in result.hidden else other[rc]) for rc in g.cells},
            row_totals=dict(g.row_totals),
            column_totals={
                c: (
                    None
                    if ("col", c) in result.hidden
                    else sum(v for (_r, cc), v in other.items() if cc == c)
                )
                for c in g.columns
            }
            if g.cols_add
            else None,
            rows_add=g.rows_add,
        ),
    )
    assert altered == original  # nothing published differs
    if g.rows_add:
        for r in g.rows:
            assert sum(v for (rr, _c), v in other.items() if rr == r) == g.row_totals[r]
    if g.cols_add:
        col_change = sum(change.get(("col", c), 0) for c in g.columns)
        if g.rows_add:
            assert col_change == 0  # the grand total holds
        for c in g.columns:
            moved = sum(v for (_r, cc), v in other.items() if cc == c)
            assert moved == g.column_total(c) + change.get(("col", c), 0)
            assert moved >= 0


def check(result: Suppressed) -> None:
    g = result.grid
    values = g.values()
    small = {k for k, v in values.items() if 0 < v < THRESHOLD}
    assert small <= result.hidden
    if result.withheld:
        # Nothing but the row totals is published; small counts still must not follow.
        assert not (derivable(published(result)) & small)
        return
    for key in result.hidden:
        check_witness(result, key)
    assert derivable(published(result)) == set()


def grid(
    rows: list[list[int]],
    *,
    rows_add: bool = True,
    cols_add: bool = True,
    totals: list[int] | None = None,
) -> Grid:
    names = [f"r{i}" for i in range(len(rows))]
    columns = [f"c{j}" for j in range(len(rows[0]))]
    cells = {(names[i], columns[j]): v for i, row in enumerate(rows) for j, v in enumerate(row)}
    row_totals = {n: (totals[i] if totals else sum(rows[i])) for i, n in enumerate(names)}
    return Grid(tuple(names), tuple(columns), cells, row_totals, rows_add, cols_add)


def test_a_lone_small_cell_takes_a_complement_in_its_row_and_column() -> None:
    g = grid([[20, 3, 30], [25, 40, 35]])
    result = suppress(g, THRESHOLD)
    assert ("cell", "r0", "c1") in result.hidden
    # Row 0 minus the others, or column 1 minus row 1, would give it back otherwise.
    assert len(result.hidden) >= 4
    assert result.cell("r0", "c0") is None or result.cell("r0", "c2") is None
    check(result)


def test_a_small_column_total_is_hidden_too() -> None:
    g = grid([[1, 20, 9], [2, 30, 8]])
    result = suppress(g, THRESHOLD)
    assert result.column_total("c0") is None
    check(result)


def test_zero_cells_stay_published() -> None:
    result = suppress(grid([[0, 12, 9], [0, 30, 8]]), THRESHOLD)
    assert result.hidden == frozenset()
    assert result.cell("r0", "c0") == 0


def test_several_values_per_case_only_columns_add_up() -> None:
    g = grid([[2, 11], [9, 3]], rows_add=False, totals=[12, 12])
    result = suppress(g, THRESHOLD)
    assert {("cell", "r0", "c0"), ("cell", "r1", "c1")} <= result.hidden
    check(result)


def test_nested_rows_only_add_up_in_their_row() -> None:
    g = Grid(
        ("KZ", "KG"),
        ("KZ-ALA", "KG-C", "unknown"),
        {("KZ", "KZ-ALA"): 9, ("KZ", "unknown"): 2, ("KG", "KG-C"): 8, ("KG", "unknown"): 6},
        {"KZ": 11, "KG": 14},
        rows_add=True,
        cols_add=False,
    )
    result = suppress(g, THRESHOLD)
    # A row of two: hiding the small one means hiding its partner as well.
    assert result.cell("KZ", "unknown") is None
    assert result.cell("KZ", "KZ-ALA") is None
    assert result.cell("KG", "KG-C") == 8
    check(result)


counts = st.integers(min_value=0, max_value=14)


@st.composite
def grids(draw: st.DrawFn) -> Grid:
    rows_add, cols_add = draw(st.sampled_from([(True, True), (False, True), (True, False)]))
    n_rows = draw(st.integers(min_value=1, max_value=5))
    n_cols = draw(st.integers(min_value=2, max_value=6))
    values = [[draw(counts) for _ in range(n_cols)] for _ in range(n_rows)]
    if rows_add:
        return grid(values, rows_add=rows_add, cols_add=cols_add)
    totals = [max(row) + draw(st.integers(min_value=0, max_value=10)) for row in values]
    return grid(values, rows_add=False, cols_add=cols_add, totals=totals)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids())
def test_no_hidden_count_can_be_derived_from_a_random_table(g: Grid) -> None:
    check(suppress(g, THRESHOLD))
