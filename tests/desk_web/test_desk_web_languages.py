"""The desk in every language: each page's ``lang``, its own words, and the picker."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from markupsafe import escape

from service.common.i18n import LANGUAGES, SOURCE_LANGUAGE, translations
from tests.desk_web.seed import Seeded


def _shown(code: str, msgid: str) -> str:
    text = translations(code).gettext(msgid)
    if code != SOURCE_LANGUAGE:
        assert text != msgid, f"{code}: {msgid!r} is not translated"
    return str(escape(text))


def test_every_desk_page_in_every_language(client: TestClient, seeded: Seeded) -> None:
    # One seeded desk for all languages: seeding is the slow part.
    case = f"case/{seeded.main.ref}"
    pages = (
        ("", "Received (oldest first)"),
        (case, "Private notes"),
        (case, "Where did it happen?"),  # the questionnaire, as the desk shows answers
        (case, "Temporary detention facility (IVS)"),  # and the chosen answer
        ("import", "Bundle file"),
        ("export", "Write the outbox"),
    )
    for code in LANGUAGES:
        for here, msgid in pages:
            response = client.get(f"/{code}/{here}")
            assert response.status_code == 200, (code, here)
            html = response.text
            assert f'<html lang="{code}">' in html
            assert _shown(code, msgid) in html, f"{code}/{here}: {msgid!r} not translated"
            assert _shown(code, "Import bundle") in html  # the shared navigation
            nav = re.search(r'<nav class="languages"[^>]*>(.*?)</nav>', html, re.S)
            assert nav is not None
            for other, name in LANGUAGES.items():
                if other == code:
                    assert f'<strong lang="{other}">{name}</strong>' in nav.group(1)
                else:
                    link = f'<a lang="{other}" hreflang="{other}" href="/{other}/{here}">{name}</a>'
                    assert link in nav.group(1), f"{code}/{here}: no link to {other}"


def test_the_list_filters_by_every_language_code(client: TestClient) -> None:
    # Reports carry the code of the language they were filed in, "uz-cyrl" and "kaa" too.
    for code in LANGUAGES:
        assert client.get(f"/en/?language={code}").status_code == 200, code
