"""Every intake page, in every language, at 360 px: a screenshot of each (artifacts/
screenshots/pages/, git-ignored), nothing wider than the phone, every page under 50 KB;
and axe-core finds no WCAG 2.2 A/AA violation on any of them in Russian and English.

One walk per language: home, safety, keys, the write page (and sent empty), every detail
step, review, token page (with the organisation's name in that language, and kept across
a change of language), "files received", "message received", status (and a file sealed
there in the browser, with its progress, then an empty message refused on the page), an
unknown token, a typo in a token and the error pages. axe-core
(tests/node, integrity-pinned) is injected into each page; the context bypasses the CSP
for that alone, since the site's policy rightly refuses scripts it did not serve.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from service.common.crypto.token import generate_token
from service.common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from service.server.cli.demo import DEMO_COALITIONS
from tests.browser.conftest import ARTIFACTS
from tests.conftest import require
from tests.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page, Response

pytestmark = pytest.mark.slow

AXE = Path(__file__).resolve().parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_LANGUAGES = ("ru", "en")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MAX_PAGE = 50 * 1024
WIDTH = 360


@dataclass
class Walk:
    page: Page
    lang: str
    axe: str | None
    shots: Path
    seen: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    loaded: int = 0  # bytes of the page last loaded, as the server sent them
    fetched: list[str] = field(default_factory=list)  # every URL the browser asked for

    def __post_init__(self) -> None:
        self.page.on("request", lambda request: self.fetched.append(request.url))

    def visit(self, name: str) -> None:
        """Check the page now shown and keep its screenshot."""
        self.seen.append(name)
        assert 0 < self.loaded < MAX_PAGE, (self.lang, name, self.loaded)
        assert self.page.locator("a.exit").count() == 1, (self.lang, name)
        assert self.page.evaluate("document.documentElement.lang") == self.lang, name
        shot = self.page.screenshot(
            path=self.shots / f"{len(self.seen):02d}-{name}.png", full_page=True
        )
        # A full-page capture is as wide as the page: nothing sticks out of the phone.
        width = int.from_bytes(shot[16:20], "big")
        assert width == WIDTH, (self.lang, name, width, self._widest())
        if self.axe is not None:
            self._axe(name)

    def _widest(self) -> object:
        return self.page.evaluate(
            "() => [document.documentElement.scrollWidth, ...Array.from("
            "document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
            " > innerWidth).map(e => e.tagName + '.' + e.className).slice(0, 5)]"
        )

    def _axe(self, name: str) -> None:
        self.page.add_script_tag(content=self.axe)
        result: dict[str, Any] = self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        assert result["passes"], name  # the rules really ran on this page
        for v in result["violations"]:
            targets = [n["target"] for n in v["nodes"]][:3]
            self.violations.append(f"{self.lang}/{name}: {v['id']} ({v['impact']}) {targets}")

    def press(self, selector: str) -> None:
        """Click something that loads a page, and wait until the new page has loaded."""
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        self._loaded(navigation.value)

    def goto(self, url: str, name: str) -> None:
        self._loaded(self.page.goto(url))
        self.visit(name)

    def _loaded(self, response: Response | None) -> None:
        assert response is not None
        self.loaded = len(response.body())

    def click(self, selector: str, name: str) -> None:
        self.press(selector)
        self.visit(name)


def _walk(walk: Walk, url: str) -> None:
    page = walk.page
    lang = walk.lang
    if lang == DEFAULT_LANGUAGE:  # the language picker is in the default language
        walk.goto(f"{url}/", "choose-language")
    walk.goto(f"{url}/{lang}/", "home")
    walk.goto(f"{url}/{lang}/safety", "safety")
    walk.goto(f"{url}/{lang}/keys", "keys")
    walk.goto(f"{url}/{lang}/nothing-here", "error-not-found")
    walk.goto(f"{url}/{lang}/status", "status-form")
    page.fill("input[name=token]", "1234")
    walk.click("form button[type=submit]", "status-form-typo")
    assert page.input_value("input[name=token]") == "1234"  # what was typed stays
    page.fill("input[name=token]", generate_token())
    walk.click("form button[type=submit]", "status-no-case")

    # The write page; sent empty, it says so on the same page.
    walk.goto(f"{url}/{lang}/report", "write")
    walk.press("#write .steps button:not([formaction])")
    walk.visit("write-empty")
    assert page.locator("p.error").count() == 1
    page.fill("textarea[name='narrative.text']", "Тест / test")
    page.check("input[name=country][value=KZ]")
    # The details: answers that open every step, then Continue to the review.
    walk.press("button[formaction$='then=details']")
    page.check("input[name='filer.role'][value=relative]")
    page.check("input[name='filer.relation'][value=parent]")
    walk.visit("step01")
    walk.press("button[name=go][value=next]")
    page.check("input[name='victim.situation'][value=detained]")
    number = 2
    while page.locator("button[name=action][value=send]").count() == 0:
        walk.visit(f"step{number:02d}")
        walk.press("button[name=go][value=next]")
        number += 1
    assert number >= 13, number  # every step was shown
    walk.visit("review")
    walk.click("button[name=action][value=send] >> nth=0", "token")
    # The organisation's name in this language, not in English (service/server/cli/demo.py).
    names = {cid: n for cid, _c, _f, n in DEMO_COALITIONS}["kz-coalition"]
    assert names[lang] in page.inner_text("main")
    if lang != "en":
        assert names["en"] not in page.content()
    # Another language keeps the token on screen.
    other = "en" if lang != "en" else "ru"
    token_text = page.inner_text(".token")
    page.click("nav.languages summary")
    walk.press(f"nav.languages button[lang={other}]")
    assert page.inner_text(".token") == token_text
    assert page.evaluate("document.documentElement.lang") == other
    page.click("nav.languages summary")
    walk.press(f"nav.languages button[lang={lang}]")
    assert page.inner_text(".token") == token_text
    # No file chosen: the form posts as without JavaScript and the server says so.
    walk.click("section.add form[enctype] button[type=submit]", "files-received")
    page.fill("textarea[name=message]", "Тест / test")
    walk.click("form[action$='/case/message'] button[type=submit]", "message-received")
    token = page.input_value("input[name=token]")
    page.goto(f"{url}/{lang}/status")
    page.fill("input[name=token]", token)
    walk.click("form button[type=submit]", "status")
    # With JavaScript on, a file is sealed here and the progress shows what arrived.
    page.set_input_files("input[type=file]", files=[_small_file()])
    page.click("section.add form[enctype] button[type=submit]")
    page.wait_for_selector(".upload-done li")
    walk.visit("status-file-sealed-in-browser")
    walk.press("form[action$='/case/message'] button[type=submit]")  # an empty message
    walk.visit("status-empty-message")
    assert page.locator("#message-error").count() == 1


def _small_file() -> FilePayload:
    return {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n" * 500}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_in_every_language_at_360px(
    browser: Browser, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    require(AXE.exists(), "axe-core (npm ci --prefix tests/node)")
    axe = AXE.read_text("utf-8")
    violations: list[str] = []
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        for lang in LANGUAGES:
            # bypass_csp only so axe can be injected; JavaScript on, as most people have it.
            context = browser.new_context(viewport={"width": WIDTH, "height": 780}, bypass_csp=True)
            try:
                shots = ARTIFACTS / "pages" / lang
                shutil.rmtree(shots, ignore_errors=True)  # no stale pictures from older runs
                shots.mkdir(parents=True)
                walk = Walk(context.new_page(), lang, axe if lang in AXE_LANGUAGES else None, shots)
                _walk(walk, server.url)
                violations += walk.violations
                # No web fonts, no third-party resources: everything came from this site.
                assert all(u.startswith(server.url + "/") for u in walk.fetched), walk.fetched
                assert not [u for u in walk.fetched if u.endswith((".woff", ".woff2", ".ttf"))]
            finally:
                context.close()
    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)
