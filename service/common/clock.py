"""Coarse time. Precise timestamps at rest help a seizer correlate a case with network
logs or an arrest; an ISO week is enough for triage and statistics (SECURITY.md guarantee 7).
"""

from __future__ import annotations

import datetime as dt


def current_week(today: dt.date | None = None) -> str:
    """The ISO week, e.g. ``2026-W48``."""
    year, week, _ = (today or dt.datetime.now(dt.UTC).date()).isocalendar()
    return f"{year}-W{week:02d}"
