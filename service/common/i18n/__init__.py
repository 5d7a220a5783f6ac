"""Languages and gettext catalogs.

English is the source language (msgids are English). Every other language has a
``locale/<locale>/LC_MESSAGES/messages.po`` catalog, compiled in memory at start, so there
are no stale binary ``.mo`` files to forget.

Each language has two names for machines: its *code*, used in addresses (``/uz-cyrl/``)
and in ``<html lang>``, lowercase BCP 47 so it is safe in a path; and its *locale*, the
CLDR identifier Babel understands (``uz_Cyrl``), which is also the catalog's folder name,
because ``pybabel update`` (``make messages``) parses each folder name as a locale.
Karakalpak is ``kaa_Latn``: CLDR's bare ``kaa`` means Cyrillic, while Latin is the
official script in Karakalpakstan. CLDR has no plural rules for Karakalpak or Tajik, so
Babel falls back to ``nplurals=2; plural=(n != 1)``, which is right here: like the other
Turkic languages and Tajik, a noun after a number stays singular, so both forms read alike.

Modules:

- ``markers.py``  ``N_`` marks a string for translation where it is defined; it is translated
                  when shown
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE = "en"

# Code → the language's name in itself (the picker shows each in its own script).
LANGUAGES: dict[str, str] = {
    "ru": "Русский",
    "kk": "Қазақша",
    "ky": "Кыргызча",
    "tg": "Тоҷикӣ",
    "uz": "Oʻzbekcha",
    "uz-cyrl": "Ўзбекча",
    "tk": "Türkmençe",
    "kaa": "Qaraqalpaqsha",
    "en": "English",
}
# Code → CLDR locale: the catalog's folder and what Babel reads plural rules from.
LOCALES: dict[str, str] = {
    "ru": "ru",
    "kk": "kk",
    "ky": "ky",
    "tg": "tg",
    "uz": "uz",  # CLDR's uz is Latin, the official script of Uzbekistan
    "uz-cyrl": "uz_Cyrl",
    "tk": "tk",
    "kaa": "kaa_Latn",
    "en": "en",
}
DEFAULT_LANGUAGE = "ru"  # the region's lingua franca


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / LOCALES[language] / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog for ``language`` (English: the identity)."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=LOCALES[language])
    buffer = io.BytesIO()
    # Fuzzy entries are never used: an unchecked translation could mislead a victim.
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def in_each_language(message: str) -> dict[str, str]:
    """``message`` translated into every language, code → text: for the page where the
    language is not chosen yet, so each reader finds a line in their own language."""
    return {code: translations(code).gettext(message) for code in LANGUAGES}
