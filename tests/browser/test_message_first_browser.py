"""A frightened person on a 360 × 740 phone, JavaScript off, in a real Chromium.

- A message-only report in at most three taps from the language page, in each of the
  region's languages, ending on the token page with the organisation named in that
  language; "Start" (the country buttons) above the fold.
- The keyboard's Enter/Go key in a field continues the step it is in, in the same
  language, on every page of the report.
- An empty report and an empty message are refused on the same page, which stays intact.
- At the bottom of the longest page "Leave quickly" is still on the screen, and it leads
  to a small page of this site that needs nothing more to load.
- The server restarts between two steps and again before sending: no written text is
  lost, and the report still goes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.common.i18n import translations
from service.server.cli.demo import DEMO_COALITIONS
from tests.browser.conftest import screenshot_path
from tests.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 360, 740
REGION_LANGUAGES = ("ru", "kk", "ky", "tg", "uz", "tk", "kaa")
COALITION_OF = {"KZ": "kz-coalition", "KG": "kg-coalition", "TJ": "tj-coalition",
                "UZ": "ahrca", "TM": "tihr"}  # fmt: skip
NAMES = {cid: names for cid, _countries, _fallback, names in DEMO_COALITIONS}
TOKEN = re.compile(r"(\d{4} ){5}\d{4}")


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": WIDTH, "height": HEIGHT}, has_touch=True
    )
    yield context
    context.close()


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path, registry_dir: Path) -> Iterator[ServerProcess]:
    # The browser's behaviour does not depend on the database: SQLite only.
    database = tmp_path / "aryz.sqlite3"
    shutil.copyfile(sqlite_template, database)
    with ServerProcess(tmp_path, f"sqlite:///{database}", registry_dir / "registry.toml") as s:
        yield s


def _lang(page: Page) -> str:
    return str(page.evaluate("document.documentElement.lang"))


def _tap(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.tap(selector)


def test_a_message_only_report_takes_three_taps_in_every_language(
    phone: BrowserContext, server: ServerProcess
) -> None:
    page = phone.new_page()
    for lang in REGION_LANGUAGES:
        page.goto(f"{server.url}/")
        taps = 0
        _tap(page, f"a.button[hreflang={lang}]")
        taps += 1
        start = page.locator("form[action$='/report/start'] button").first
        box = start.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= HEIGHT, (lang, "Start below the fold")
        country = start.get_attribute("value")
        assert country is not None
        _tap(page, "form[action$='/report/start'] button >> nth=0")
        taps += 1
        page.fill("textarea[name='narrative.text']", f"{lang}: my brother was beaten")
        _tap(page, "#write .steps button:not([formaction])")
        taps += 1
        assert taps <= 3
        assert _lang(page) == lang
        assert TOKEN.fullmatch(page.inner_text(".token").strip()), lang
        name = NAMES[COALITION_OF[country]]
        assert name[lang] in page.inner_text("main"), (lang, "the receiver in its language")
        assert name["en"] not in page.content(), (lang, "the receiver in English")
        page.screenshot(path=screenshot_path(f"message-first-token-{lang}"), full_page=True)


def _move_on_with_enter(page: Page) -> None:
    """Press Enter where a person would: in a one-line text field if the page has one,
    else on a choice (a radio button or a box)."""
    text = page.locator("main input[type=text]")
    with page.expect_navigation():
        if text.count():
            text.first.fill("x")
            text.first.press("Enter")
        else:
            page.locator("main input[type=radio], main input[type=checkbox]").first.press("Enter")


def test_enter_continues_every_step_in_the_same_language(
    phone: BrowserContext, server: ServerProcess
) -> None:
    page = phone.new_page()
    page.goto(f"{server.url}/tg/report")
    page.fill("textarea[name='narrative.text']", "Бародарамро заданд")
    _tap(page, "button[formaction$='then=details']")
    progress = translations("tg").gettext("Step %(number)s of %(total)s")
    for number in range(1, 13):
        assert progress % {"number": number, "total": 12} in page.inner_text(".progress")
        _move_on_with_enter(page)
        assert _lang(page) == "tg", number
        assert page.url.startswith(f"{server.url}/tg/"), number
    # After the last step, the review, still in Tajik, with the account.
    assert page.locator("button[name=action][value=send]").count() == 2
    assert page.input_value("textarea[name='narrative.text']") == "Бародарамро заданд"
    # On the write page, Enter on a choice sends the report, as its "Send" does.
    page.goto(f"{server.url}/tg/report")
    page.fill("textarea[name='narrative.text']", "Бо Enter")
    with page.expect_navigation():
        page.locator("input[name=country][value=TJ]").press("Enter")
    assert _lang(page) == "tg"
    assert TOKEN.fullmatch(page.inner_text(".token").strip())


def test_an_empty_report_and_an_empty_message_are_refused_on_the_same_page(
    phone: BrowserContext, server: ServerProcess
) -> None:
    page = phone.new_page()
    page.goto(f"{server.url}/ky/report")
    heading = page.inner_text("h1")
    _tap(page, "#write .steps button:not([formaction])")
    assert page.inner_text("h1") == heading  # the same page, not an error page
    assert page.locator("p.error").count() == 1
    assert page.is_checked("input[name=country][value=KG]")  # what was chosen stays
    page.screenshot(path=screenshot_path("empty-report-refused-ky"), full_page=True)
    page.fill("textarea[name='narrative.text']", "Эми жазам")
    _tap(page, "#write .steps button:not([formaction])")
    token = page.inner_text(".token")
    assert TOKEN.fullmatch(token.strip())
    _tap(page, "form[action$='/case/message'] button[type=submit]")  # an empty message
    assert page.inner_text(".token") == token  # the token page stays the token page
    assert page.locator("#message-error").is_visible()
    page.screenshot(path=screenshot_path("empty-message-refused-ky"), full_page=True)


def test_leave_quickly_is_on_screen_at_the_bottom_of_the_longest_page(
    phone: BrowserContext, server: ServerProcess
) -> None:
    page = phone.new_page()
    page.goto(f"{server.url}/ru/report")
    page.fill("textarea[name='narrative.text']", "Его избили в ИВС. " * 400)  # ~12 KB
    page.check("input[name=country][value=KZ]")
    _tap(page, "button[formaction$='then=details']")
    _tap(page, "button[name=go][value=review]")  # the review: the longest page
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height > 2 * HEIGHT
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    box = page.locator("a.exit").bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= HEIGHT
    assert box["width"] >= 44
    assert box["height"] >= 44
    page.screenshot(path=screenshot_path("quick-exit-at-the-bottom-ru"))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    _tap(page, "a.exit")
    assert requests == [f"{server.url}/ru/weather"]  # one small page, nothing else
    assert "Aryz" not in page.content()


def test_a_restart_between_steps_loses_no_written_text(
    phone: BrowserContext, server: ServerProcess
) -> None:
    account = "Вчера его увезли в СИЗО.\nТам его били."
    page = phone.new_page()
    page.goto(f"{server.url}/ru/report")
    page.fill("textarea[name='narrative.text']", account)
    page.check("input[name=country][value=TJ]")
    _tap(page, "button[formaction$='then=details']")
    page.check("input[name='filer.role'][value=relative]")
    server.stop()
    server.start()  # a new in-memory key: the sealed state of this page cannot be opened
    _tap(page, "button[name=go][value=next]")
    assert page.locator("p.warning").count() == 1  # says the other pages were lost
    assert page.is_checked("input[name='filer.role'][value=relative]")  # this page kept
    _tap(page, "button[name=go][value=review]")
    assert page.input_value("textarea[name='narrative.text']") == account
    server.stop()
    server.start()
    _tap(page, "button[name=action][value=send] >> nth=0")
    # Not an error page: the write page, the account in it, and the reason in plain words.
    assert page.input_value("textarea[name='narrative.text']") == account
    assert page.is_checked("input[name=country][value=TJ]")
    assert page.locator("p.warning").count() == 1
    page.screenshot(path=screenshot_path("restart-before-send-ru"), full_page=True)
    _tap(page, "#write .steps button:not([formaction])")
    assert TOKEN.fullmatch(page.inner_text(".token").strip())


def _small_targets(page: Page) -> list[str]:
    """Every choice row, button and link a thumb must hit, smaller than 44 × 44 CSS px."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll(
                 'label.option, main button:not([hidden]), main form a, a.exit, nav summary'))
               .filter(e => e.offsetParent !== null)
               .map(e => [e, e.getBoundingClientRect()])
               .filter(([e, r]) => r.width < 44 || r.height < 44)
               .map(([e, r]) => e.tagName + ' ' + e.textContent.trim().slice(0, 30)
                    + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))"""
        )
    )


def test_every_choice_and_button_is_at_least_44_px(
    phone: BrowserContext, server: ServerProcess
) -> None:
    page = phone.new_page()
    page.goto(f"{server.url}/kk/report")
    assert _small_targets(page) == []
    page.fill("textarea[name='narrative.text']", "x")
    _tap(page, "button[formaction$='then=details']")
    for _ in range(3):  # about you, the person, the arrest: radios, text, a select
        assert _small_targets(page) == [], page.inner_text("h1")
        _tap(page, "button[name=go][value=next]")
    _tap(page, "button[name=go][value=review]")
    assert _small_targets(page) == []
