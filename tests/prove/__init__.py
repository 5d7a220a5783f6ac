"""``make prove``: the long proofs — fuzzing, faults, load — that ``make test`` leaves out.

Every ``tests/prove/step_*.py`` module is one step: ``TITLE``, and ``run(budget) ->
list[Row]`` where ``budget`` scales how long it may take (1.0 = the documented default).
``python -m tests.prove`` runs them all in name order and prints one summary table; it
exits non-zero if any row failed. Steps must bound themselves in count and time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the summary: what was checked, what was measured, and whether it held."""

    check: str
    figure: str
    ok: bool
