"""At 360 px, JavaScript off, every language's pages fit the screen: the nine-name picker
wraps instead of pushing the page sideways, and "Leave quickly" stays on the first line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.common.i18n import LANGUAGES
from tests.browser.conftest import screenshot_path
from tests.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

WIDTH = 360  # the no_js context's viewport


def _right_edge(page: Page, selector: str) -> float:
    edges = []
    for element in page.locator(selector).all():
        box = element.bounding_box()
        assert box is not None, selector
        edges.append(box["x"] + box["width"])
    return max(edges)


def test_pages_fit_a_phone_in_every_language(
    no_js: BrowserContext, tmp_path: Path, sqlite_template: Path, registry_dir: Path
) -> None:
    # Layout does not depend on the database: SQLite only.
    database = tmp_path / "aryz.sqlite3"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    with ServerProcess(tmp_path, url, registry_dir / "registry.toml") as server:
        page = no_js.new_page()
        for code in LANGUAGES:
            for path in ("", "report", "safety", "status"):
                page.goto(f"{server.url}/{code}/{path}")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= WIDTH, f"/{code}/{path} is {width} px wide"
                assert _right_edge(page, "header *") <= WIDTH, f"/{code}/{path}: header"
                exit_box = page.locator("a.exit").bounding_box()
                first_name = page.locator("nav.languages > *").first.bounding_box()
                assert exit_box is not None
                assert first_name is not None
                # Above the picker, beside the brand: one tap away on every page.
                assert exit_box["y"] + exit_box["height"] <= first_name["y"], (code, path)
            page.goto(f"{server.url}/{code}/report")
            page.screenshot(path=screenshot_path(f"report-360-{code}"), full_page=True)
