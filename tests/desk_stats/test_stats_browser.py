"""Statistics in real Chromium with JavaScript off, against the real ``aryz desk web``
process over the generated desk: the statistics page with its SVG charts, the printable
report (also printed to PDF, as staff would with the browser's Print), and recording a
legal step on a case. Screenshots and the PDF go to artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import ARTIFACTS, screenshot_path
from tests.desk_stats.generate import Generated
from tests.desk_web.test_desk_web_browser import browser, login_link, run_desk_web

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the desk's test


@pytest.fixture
def desk_run(generated: Generated, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The running desk's address and the link it printed (the only way in)."""
    with run_desk_web(generated.folder, tmp_path) as (port, _process, stdout, _stderr):
        yield f"http://127.0.0.1:{port}", login_link(stdout)


@pytest.fixture
def desk_url(desk_run: tuple[str, str]) -> str:
    return desk_run[0]


@pytest.fixture
def desk_login(desk_run: tuple[str, str]) -> str:
    return desk_run[1]


def _submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_statistics_and_the_printable_report_without_javascript(
    browser: Browser, desk_url: str, desk_login: str, generated: Generated
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(desk_login)
    page.goto(f"{desk_url}/ru/")
    _submit(page, "nav.sections a[href='/ru/stats']")
    assert page.locator("h1").inner_text() == "Статистика"
    assert page.locator(".charts svg").count() == 3
    assert "Казахстан" in page.inner_text(".charts")
    assert "Не показаны" in page.inner_text("section.summary")
    assert "×" in page.inner_text("#table-sex")
    page.screenshot(path=screenshot_path("desk-stats-1280"), full_page=True)

    # Quarterly, through the GET form.
    page.select_option("select[name=period]", "quarter")
    _submit(page, "form.filters button[type=submit]")
    assert "period=quarter" in page.url
    assert "-Q" in page.inner_text("#table-period")

    # The printable report in English, then printed to PDF.
    page.goto(f"{desk_url}/en/report?threshold=5&period=year")
    assert page.locator("h1").inner_text() == "Statistics on torture complaints"
    assert page.locator("svg").count() == 3
    bars = page.locator("svg rect[fill='#0072B2']")
    assert bars.count() >= 4  # the four countries shown, at least
    page.screenshot(path=screenshot_path("desk-report-1280"), full_page=True)
    pdf = ARTIFACTS.parent / "desk-report.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")
    context.close()


def test_record_a_legal_step_without_javascript(
    browser: Browser, desk_url: str, desk_login: str, generated: Generated
) -> None:
    # An intake-basic case: how istanbul answers are shown is the questionnaire's work.
    ref = next(t.ref for t in generated.truths if not t.istanbul)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(desk_login)
    page.goto(f"{desk_url}/ru/case/{ref}")
    _submit(page, f"a[href='/ru/case/{ref}/outcomes']")
    before = page.locator("#events .event").count()
    page.check("input[name=event][value=compensation_awarded]")
    page.fill("input[name=on]", "2025-11-03")
    page.fill("input[name=amount]", "1500000")
    page.select_option("select[name=currency]", "KZT")
    _submit(page, "#add form button[type=submit]")
    assert "Событие записано." in page.inner_text(".flash")
    assert page.locator("#events .event").count() == before + 1
    assert "1500000" in page.inner_text("#events")
    page.screenshot(path=screenshot_path("desk-outcomes-1280"), full_page=True)
    context.close()
