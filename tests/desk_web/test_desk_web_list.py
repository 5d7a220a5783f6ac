"""The case list: every row's columns, the GET filters, the sort orders, both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.desk.casework.desk import init_desk, open_desk
from service.desk.web.app import create_desk_app
from tests.desk.helpers import COALITION, PASSPHRASE
from tests.desk_web.conftest import PORT, logged_in
from tests.desk_web.seed import Seeded


def listed(html: str) -> list[str]:
    """The full case references linked from the list, in the order shown."""
    return re.findall(r'class="ref" href="/(?:ru|en)/case/([0-9a-f]{32})"', html)


def row_of(html: str, ref: str) -> str:
    start = html.index(f"/case/{ref}")
    return html[start : html.index("</tr>", start)]


def test_root_goes_to_the_russian_case_list(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/ru/"
    assert client.get("/en").headers["location"] == "/en/"


def test_every_case_is_listed_with_its_columns(client: TestClient, seeded: Seeded) -> None:
    html = client.get("/en/").text
    assert len(listed(html)) == 5
    row = row_of(html, seeded.main.ref)
    assert f">{seeded.main.ref[:12]}</a>" in row  # the short reference
    assert "2026-W45" in row
    assert "Kazakhstan (KZ)" in row
    assert "Received" in row  # status label
    assert "Normal" in row  # priority
    assert '<td data-label="Items">5</td>' in row  # answers, 3 files, a message
    assert '<strong class="detained">Detained</strong>' in row
    assert "Released" in row_of(html, seeded.released.ref)
    assert "Died" in row_of(html, seeded.hostile.ref)
    assert "Shown: 5. On this desk: 5." in html


def test_the_list_is_in_russian(client: TestClient, seeded: Seeded) -> None:
    html = client.get("/ru/").text
    assert '<html lang="ru">' in html
    assert "Казахстан (KZ)" in row_of(html, seeded.main.ref)
    assert "Получено" in row_of(html, seeded.main.ref)
    assert "Под стражей" in row_of(html, seeded.main.ref)
    # The picker leads to the same page, filters kept, in the other language.
    html = client.get("/ru/?country=KZ&sort=priority").text
    assert 'hreflang="en" href="/en/?country=KZ&amp;sort=priority"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("country=KG", ["released"]),
        ("country=TJ", ["odd_file"]),
        ("detained=1", ["main", "odd_file"]),
        ("week=2026-W47", ["released", "hostile"]),
        ("language=en", ["released"]),
        ("country=KZ&week=2026-W47", ["hostile"]),
        ("status=under_review", []),
        ("country=UZ", []),
    ],
)
def test_filters(client: TestClient, seeded: Seeded, query: str, expected: list[str]) -> None:
    html = client.get(f"/en/?{query}").text
    wanted = {getattr(seeded, name).ref for name in expected}
    assert set(listed(html)) == wanted
    if not expected:
        assert "No case matches these filters." in html


def test_the_form_shows_the_chosen_filters_again(client: TestClient) -> None:
    html = client.get("/en/?country=KZ&detained=1&week=2026-W45&sort=status").text
    assert '<option value="KZ" selected>' in html
    assert '<option value="2026-W45" selected>' in html
    assert '<option value="status" selected>' in html
    assert 'name="detained" value="1" checked' in html
    assert "Show all cases" in html  # a way back to everything


def test_a_status_filter_finds_a_triaged_case(client: TestClient, seeded: Seeded) -> None:
    client.post(f"/en/case/{seeded.released.ref}/triage", data={"status": "under_review"})
    html = client.get("/en/?status=under_review").text
    assert listed(html) == [seeded.released.ref]


def test_sort_orders(client: TestClient, seeded: Seeded) -> None:
    by_received = listed(client.get("/en/").text)
    # Oldest first: the case that has waited longest comes first.
    assert by_received[:3] == [seeded.unconfirmed.ref, seeded.main.ref, seeded.odd_file.ref]
    client.post(f"/en/case/{seeded.hostile.ref}/triage", data={"priority": "urgent"})
    client.post(f"/en/case/{seeded.released.ref}/triage", data={"status": "closed"})
    assert listed(client.get("/en/?sort=priority").text)[0] == seeded.hostile.ref
    assert listed(client.get("/en/?sort=status").text)[-1] == seeded.released.ref
    assert listed(client.get("/en/?sort=received").text) == by_received


@pytest.mark.parametrize(
    "query",
    ["sort=name", "status=open", "country=Kazakhstan", "week=47", "detained=yes", "language=../"],
)
def test_a_filter_that_is_not_offered_is_refused_without_echo(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/en/?{query}")
    assert response.status_code == 400
    assert "not one of the choices" in response.text
    value = query.split("=", 1)[1]
    assert f">{value}<" not in response.text
    assert f'"{value}"' not in response.text


def test_an_empty_desk_says_what_to_do(tmp_path: Path) -> None:
    init_desk(tmp_path / "empty", COALITION, PASSPHRASE)
    with (
        open_desk(tmp_path / "empty", PASSPHRASE) as desk,
        logged_in(create_desk_app(desk, PORT)) as client,
    ):
        html = client.get("/en/").text
    assert "There are no cases on this desk yet." in html
    assert 'href="/en/import"' in html
