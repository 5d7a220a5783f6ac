"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright, JavaScript off.

Playwright never downloads a browser here: ``executable_path`` points at the system one.
Without Chromium these tests skip with a reason; under CI they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import require

CHROMIUM = Path(os.environ.get("ARYZ_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Flags for a sandbox with no network but loopback, running as root: no background
# fetches (they would only be refused), no GPU, no first-run or sync machinery.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API holds an event loop on this thread while it
    runs, which would break later tests that start their own (anyio) loop."""
    require(CHROMIUM.exists(), "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def no_js(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized context with JavaScript disabled, as Tor Browser at "Safest"."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 780})
    yield context
    context.close()


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


@pytest.fixture
def with_js(browser: Browser) -> Iterator[BrowserContext]:
    """The same phone-sized context with JavaScript on, as Tor Browser at "Standard"."""
    context = browser.new_context(java_script_enabled=True, viewport={"width": 360, "height": 780})
    yield context
    context.close()
