"""Every intake page in every language: the right ``lang``, the page's own words from the
language's catalog, and a language picker that leads to the same page in each language."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from service.common.i18n import LANGUAGES, SOURCE_LANGUAGE, in_each_language, translations
from tests.support import file_report, reach_review, state_of

language = pytest.mark.parametrize("code", sorted(LANGUAGES))

# (address after /{code}/, a string that page shows, the picker's address for it)
PAGES = (
    ("", "Start a report: where did it happen?", ""),
    ("safety", "Your device and connection", "safety"),
    ("keys", "Who receives reports", "keys"),
    ("status", "Your case token (24 digits)", "status"),
    # The write page: the account, the country names, the file.
    ("report", "Uzbekistan (including Karakalpakstan)", "report"),
    ("report", "What happened? Tell it in your own words.", "report"),
    ("report", "A photo or document (optional)", "report"),
)


def _shown(code: str, msgid: str) -> str:
    """How ``msgid`` appears in a page in ``code``: translated (unless English), escaped."""
    text = translations(code).gettext(msgid)
    if code != SOURCE_LANGUAGE:
        assert text != msgid, f"{code}: {msgid!r} is not translated"
    return str(escape(text))


def _assert_page(html: str, code: str, msgid: str, here: str | None) -> None:
    assert f'<html lang="{code}">' in html
    assert _shown(code, msgid) in html, f"{code}: {msgid!r} not shown in its translation"
    # The chrome every page shares is translated as well.
    assert _shown(code, "Leave quickly") in html
    assert _shown(code, "Check a case") in html
    if here is not None:
        _assert_picker(html, code, here)


def _assert_picker(html: str, code: str, here: str) -> None:
    nav = re.search(r'<nav aria-label="[^"]*" class="languages">(.*?)</nav>', html, re.S)
    assert nav is not None, "no language picker"
    picker = nav.group(1)
    for other, name in LANGUAGES.items():
        if other == code:
            assert f'<strong lang="{other}">{name}</strong>' in picker
        else:
            # On a questionnaire step the switch is a button that posts the page first,
            # so what was typed there is kept; elsewhere a plain link.
            link = f'<a lang="{other}" hreflang="{other}" href="/{other}/{here}">{name}</a>'
            button = re.compile(
                rf'<button type="submit" form="step" formaction="/{other}/{here}" '
                rf'name="go" value="[a-z_]+" class="link" lang="{other}">{re.escape(name)}</button>'
                # The write page: the button posts what is written there.
                rf'|<button type="submit" form="write" formaction="/{other}/{here}/send'
                rf'\?then=page" class="link" lang="{other}">{re.escape(name)}</button>'
            )
            assert link in picker or button.search(picker), (
                f"{code}: the picker has no way to {other} for /{here}"
            )
    assert picker.count("<a ") + picker.count("<button ") == len(LANGUAGES) - 1


@language
def test_each_page_is_in_the_chosen_language(client: TestClient, code: str) -> None:
    for path, msgid, here in PAGES:
        response = client.get(f"/{code}/{path}")
        assert response.status_code == 200, (code, path)
        _assert_page(response.text, code, msgid, here)


@language
def test_the_report_flow_is_in_the_chosen_language(client: TestClient, code: str) -> None:
    # A later step's controlled list (places of detention), reached as a browser does.
    first = client.get(f"/{code}/report")
    form = {
        "state": state_of(first.text),
        "step": "filer",
        "go": "detention",
        "country": "KZ",
        "recipient": "national",
    }
    detention = client.post(f"/{code}/report", data=form)
    assert detention.status_code == 200
    _assert_page(detention.text, code, "Pre-trial detention centre (SIZO)", None)
    _assert_page(detention.text, code, "Temporary detention facility (IVS)", None)
    review = reach_review(client, code, victim__situation="detained")
    _assert_page(review.text, code, "Check your report", None)
    token = file_report(client, code, victim__situation="detained")
    status = client.post(f"/{code}/status", data={"token": token})
    assert status.status_code == 200
    _assert_page(status.text, code, "Status:", None)
    _assert_page(status.text, code, "Received", None)


@language
def test_errors_are_in_the_chosen_language(client: TestClient, code: str) -> None:
    missing = client.get(f"/{code}/no-such-page")
    assert missing.status_code == 404
    _assert_page(missing.text, code, "This page does not exist.", None)
    typo = client.post(f"/{code}/status", data={"token": "1" * 24})
    assert typo.status_code == 400
    _assert_page(typo.text, code, "The token has a typo. Please check the digits.", None)


def test_the_first_page_offers_every_language_in_its_own_words(client: TestClient) -> None:
    html = client.get("/").text
    _assert_picker(html, "ru", "")
    taglines = in_each_language("Report torture or ill-treatment safely")
    for code, name in LANGUAGES.items():
        item = (
            f'<li lang="{code}"><a class="button" hreflang="{code}" href="/{code}/">{name}</a> '
            f'<span class="tagline">{escape(taglines[code])}</span></li>'
        )
        assert item in html, f"no choice for {code}"
    # Each in its own words: nine languages, nine different lines.
    assert len(set(taglines.values())) == len(LANGUAGES)


def test_an_unknown_language_is_not_found(client: TestClient) -> None:
    # Only listed codes are served: a code is never used to build a path or a locale.
    for code in ("xx", "uz_Cyrl", "kaa_Latn", "UZ-CYRL", "ru-ru"):
        assert client.get(f"/{code}/").status_code == 404, code
