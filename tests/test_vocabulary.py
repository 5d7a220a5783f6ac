"""The shared vocabulary is written once (``service/common/contract/vocabulary.py``).

Every status and priority word is searched for as a string literal in the product code
(``service/``, ``onion/``: Python, templates, scripts and specs). Outside the vocabulary,
the migrations and the tests it must not appear, except for the few places listed below
where the same English word means something else; each such place is named with its
reason, and a listed place that no longer uses the word fails too (so the list cannot
rot into a blanket exception).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from service.common.contract.vocabulary import (
    COUNTRIES,
    INITIAL_STATUS,
    PRIORITIES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    STATUSES,
    kdf_id,
    parse_kdf_id,
)

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = ROOT / "service/common/contract/vocabulary.py"
WORDS = (*STATUSES, *PRIORITIES)

# (file, word): why the word there is not the vocabulary's.
NOT_THE_VOCABULARY: dict[tuple[str, str], str] = {
    ("service/server/intake/routes.py", "received"): "the page a submission came from",
    ("service/desk/casework/desk.py", "received"): "a sort order: by the week received",
    ("service/desk/web/logic.py", "received"): "the same sort order's label",
    ("service/desk/cli/main.py", "received"): "the same sort order on the command line",
    ("service/desk/stats/charts.py", "normal"): "an SVG font weight",
    ("service/common/questionnaire/istanbul.py", "urgent"): "a question's id",
    ("service/common/contract/EXCHANGE-v1.md", "received"): "the spec's example",
    ("service/common/contract/EXCHANGE-v1.md", "under_review"): "the spec's example",
}
# The urgent lane (issue 17) is named "urgent" too: a form field, a body key, a record
# type, a statistics dimension. Not the priority; it could become a named constant of its
# own (service/common/contract/duty.py).
URGENT_LANE_FILES = (
    "service/common/contract/duty.py",
    "service/common/questionnaire/payload.py",
    "service/desk/casework/desk.py",
    "service/desk/stats/REPORT-v1.md",
    "service/desk/stats/facts.py",
    "service/desk/stats/tables.py",
    "service/field/cli.py",
    "service/field/client.py",
    "service/server/intake/routes.py",
    "service/server/intake/steps.py",
    "service/server/web/templates/status.html",
    "service/server/web/templates/write.html",
)
NOT_THE_VOCABULARY |= {(f, "urgent"): "the urgent lane's own name" for f in URGENT_LANE_FILES}


def _python_literals(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(w for w in WORDS if node.value == w)
    return found


def _text_literals(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {w for w in WORDS if re.search(rf"""["'`]{w}["'`]""", text)}


def _product_files() -> list[Path]:
    files = []
    for top in ("service", "onion"):
        for path in sorted((ROOT / top).rglob("*")):
            if (
                path.suffix in (".py", ".html", ".js", ".md", ".toml")
                and "vendor" not in path.parts
            ):
                files.append(path)
    return files


def test_status_and_priority_words_are_written_only_in_the_vocabulary() -> None:
    found: set[tuple[str, str]] = set()
    for path in _product_files():
        if path == VOCABULARY:
            continue
        words = _python_literals(path) if path.suffix == ".py" else _text_literals(path)
        found.update((str(path.relative_to(ROOT)), w) for w in words)
    assert sorted(found - set(NOT_THE_VOCABULARY)) == []
    assert sorted(set(NOT_THE_VOCABULARY) - found) == []  # the exceptions are still needed


def test_the_search_finds_a_copy() -> None:
    # The search above can fail: a copied status list is a finding.
    source = 'STATUSES = ("received", "under_review")\nLEVEL = "urgent"\n'
    tree = ast.parse(source)
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert {"received", "under_review", "urgent"} <= literals & set(WORDS)


def test_the_workflow_and_defaults() -> None:
    assert STATUSES[0] == INITIAL_STATUS
    assert tuple(STATUS_LABELS) == STATUSES  # the labels' order is the workflow
    assert tuple(PRIORITY_LABELS) == PRIORITIES
    assert set(COUNTRIES) == {"KZ", "KG", "TJ", "UZ", "TM"}


def test_a_kdf_id_round_trips_and_refuses_what_it_cannot_re_derive() -> None:
    assert parse_kdf_id(kdf_id(3, 64 * 1024 * 1024)) == (3, 64 * 1024 * 1024)
    for bad in ("scrypt:3:1024", "argon2id13:3", "argon2id13:x:1", "", "argon2id13:3:1:2"):
        try:
            parse_kdf_id(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
