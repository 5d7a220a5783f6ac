"""The chart in the README (docs/statistics-example.svg), from the generated test desk.

Regenerate after changing the charts or the generator::

    ARYZ_DESK_KDF=minimum .venv/bin/python -m tests.desk_stats.docs_chart
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from service.desk.casework.desk import Desk, open_desk
from service.desk.web.render import gettext
from service.desk.web.report import chart_views
from tests.desk.helpers import PASSPHRASE
from tests.desk_stats.generate import build

DOCS_CHART = Path(__file__).resolve().parents[2] / "docs" / "statistics-example.svg"


def chart(desk: Desk) -> str:
    return str(chart_views(desk.statistics(), gettext("en"))["by_period"]) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        generated = build(Path(tmp))
        with open_desk(generated.folder, PASSPHRASE) as desk:
            DOCS_CHART.parent.mkdir(exist_ok=True)
            DOCS_CHART.write_text(chart(desk), encoding="utf-8")
    sys.stdout.write(f"{DOCS_CHART}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
