"""A person files a report in a real browser with JavaScript off: the whole questionnaire
in Russian and in Tajik (the write page, then every detail step, back and forward, a second
place of detention), a photo, the token written down and the case checked with it; and a
short way in English (one detail, then straight to sending)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.common.i18n import translations
from service.server.web.assets import integrity
from tests.browser.conftest import screenshot_path
from tests.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

NARRATIVE = "Моего сына избили в ИВС. Требовали подписать признание."
MAX_PAGE = 50 * 1024


def _next(page: Page, button: str = "next") -> None:
    with page.expect_navigation():  # the next page has loaded before it is looked at
        page.click(f"button[name=go][value={button}]")
    assert len(page.content().encode()) < MAX_PAGE
    assert page.locator("a.exit").count() == 1  # the quick exit on every page


def _step(page: Page, number: int, tag: str, lang: str = "ru") -> None:
    progress = translations(lang).gettext("Step %(number)s of %(total)s")
    assert progress % {"number": number, "total": 12} in page.inner_text(".progress")
    shot = page.screenshot(path=screenshot_path(f"step{number:02d}-{tag}"), full_page=True)
    # A full-page capture is as wide as the page: nothing sticks out of a 360 px phone.
    assert int.from_bytes(shot[16:20], "big") == 360


def _attach_photo_and_check_status(page: Page, server_url: str, photo: Path, lang: str) -> str:
    token_text = page.inner_text(".token")
    assert re.fullmatch(r"(\d{4} ){5}\d{4}", token_text.strip())
    page.set_input_files("input[type=file]", str(photo))
    page.click("section.add form[enctype] button[type=submit]")
    assert "photo.jpg" in page.content()
    page.goto(f"{server_url}/{lang}/status")
    page.fill("input[name=token]", token_text)  # as written down, with spaces
    page.click("form button[type=submit]")
    return page.content()


@pytest.mark.parametrize("lang", ["ru", "tg"])
def test_full_questionnaire_with_photo_then_status(
    no_js: object, tmp_path: Path, database_url: str, registry_dir: Path, lang: str
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 3000)
    tag = f"{lang}-{database_url.split(':')[0].split('+')[0]}"
    _ = translations(lang).gettext
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        page = no_js.new_page()  # type: ignore[attr-defined]
        page.goto(f"{server.url}/")
        page.click(f"a[hreflang={lang}].button")
        page.click("button[name=country][value=KZ]")  # the home page starts the report
        page.screenshot(path=screenshot_path(f"write-{tag}"), full_page=True)
        page.fill("textarea[name='narrative.text']", NARRATIVE)
        page.click("button[formaction$='then=details']")
        _step(page, 1, tag, lang)
        page.check("input[name='filer.role'][value=relative]")
        page.check("input[name='filer.relation'][value=parent]")
        _next(page)
        _step(page, 2, tag, lang)
        page.fill("input[name='victim.pseudonym']", "Азамат")
        page.check("input[name='victim.sex'][value=male]")
        page.check("input[name='victim.age_band'][value='18_29']")
        page.check("input[name='victim.minor'][value=no]")
        page.check("input[name='victim.situation'][value=detained]")
        page.fill("input[name='victim.situation_details']", "СИЗО-1, Алматы")
        _next(page)
        # Back to step 2 and forward again: both pages keep what was entered.
        _next(page, "back")
        assert page.input_value("input[name='victim.pseudonym']") == "Азамат"
        _next(page)
        _step(page, 3, tag, lang)
        page.fill("input[name='arrest.date']", "март 2026")
        page.select_option("select[name='arrest.region']", "KZ-75")
        page.check("input[name='arrest.agency'][value=police]")
        page.check("input[name='arrest.registered'][value=late]")
        _next(page)
        _step(page, 4, tag, lang)
        page.check("input[name='detention.0.type'][value=ivs]")
        page.select_option("select[name='detention.0.region']", "KZ-75")
        page.check("input[name='detention.0.lawyer'][value=no]")
        _next(page, "add")
        page.check("input[name='detention.1.type'][value=sizo]")
        page.check("input[name='detention.1.family'][value=late]")
        assert page.is_checked("input[name='detention.0.type'][value=ivs]")
        _next(page)
        _step(page, 5, tag, lang)
        page.fill("input[name='episodes.0.when']", "в первую ночь, в ИВС")
        page.check("input[name='episodes.0.methods'][value=beating]")
        page.check("input[name='episodes.0.methods'][value=suffocation]")
        page.check("input[name='episodes.0.forced_confession'][value=yes]")
        _next(page)
        _step(page, 6, tag, lang)
        page.check("input[name='perpetrators.number'][value=two_to_three]")
        page.check("input[name='perpetrators.agency'][value=police]")
        _next(page)
        _step(page, 7, tag, lang)
        page.check("input[name='witnesses.any'][value=yes]")
        page.fill("textarea[name='witnesses.who']", "сокамерник")
        _next(page)
        _step(page, 8, tag, lang)
        page.check("input[name='effects.physical'][value=bruises]")
        page.check("input[name='effects.psychological'][value=sleep]")
        _next(page)
        _step(page, 9, tag, lang)
        page.check("input[name='medical.care'][value=refused]")
        page.check("input[name='medical.records'][value=yes]")
        _next(page)
        _step(page, 10, tag, lang)
        page.check("input[name='complaints.made'][value=yes]")
        page.check("input[name='complaints.to'][value=prosecutor]")
        page.check("input[name='complaints.reprisals'][value=yes]")
        _next(page)
        _step(page, 11, tag, lang)
        page.check("input[name='needs.help'][value=lawyer]")
        page.fill("textarea[name='needs.urgent']", "Его снова могут избить.")
        _next(page)
        _step(page, 12, tag, lang)
        # Consent comes last, once the person knows what they have told. The person is
        # alive and a relative files: the person's own consent is asked.
        page.check("input[name='consent.contact'][value=no]")
        page.check("input[name='consent.legal'][value=yes]")
        page.check("input[name='consent.un'][value=ask]")
        page.check("input[name='consent.statistics'][value=yes]")
        page.check("input[name='consent.victim'][value=not_asked]")
        _next(page)
        review = page.content()
        translated = (
            _("Almaty (city)"),
            _("Pre-trial detention centre (SIZO)"),
            _("Suffocation (a bag, a gas mask, water)"),
        )
        for shown in (NARRATIVE, "Азамат", *translated, "Его снова могут избить."):
            assert shown in review, shown
        page.screenshot(path=screenshot_path(f"review-{tag}"), full_page=True)
        page.click("button[name=action][value=send]")
        page.screenshot(path=screenshot_path(f"token-{tag}"), full_page=True)
        content = _attach_photo_and_check_status(page, server.url, photo, lang)
        held = translations(lang).ngettext(
            "Your case holds %(num)s sealed item.", "Your case holds %(num)s sealed items.", 2
        )
        assert held % {"num": 2} in content
        page.screenshot(path=screenshot_path(f"status-{tag}"), full_page=True)
        # Everything above ran with JavaScript off. The page offers one script, our own,
        # for browsers that run it: no inline code, pinned by its hash.
        tags = re.findall(r"<script[^>]*>[^<]*</script>", content)
        wanted = f'<script src="/static/upload.js" integrity="{integrity("upload.js")}" defer="">'
        assert tags == [wanted + "</script>"]


def test_short_report_in_english_then_status(
    no_js: object, tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 300)
    with ServerProcess(tmp_path, database_url, registry_dir / "registry.toml") as server:
        page = no_js.new_page()  # type: ignore[attr-defined]
        page.goto(f"{server.url}/en/report")
        page.check("input[name=country][value=KG]")
        page.fill("textarea[name='narrative.text']", "It happened to me.")
        page.click("button[formaction$='then=details']")
        page.check("input[name='filer.role'][value=victim]")
        _next(page, "review")
        assert "It happened to me" in page.content()
        page.click("button[name=action][value=send]")
        content = _attach_photo_and_check_status(page, server.url, photo, "en")
        assert "2 sealed items" in content
