"""Languages and gettext catalogs.

English is the source language (msgids are English). Every other language has a
``locale/<code>/LC_MESSAGES/messages.po`` catalog, compiled in memory at start, so there
are no stale binary ``.mo`` files to forget.
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
    "en": "English",
}
DEFAULT_LANGUAGE = "ru"  # the region's lingua franca


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog for ``language`` (English: the identity)."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    # Fuzzy entries are never used: an unchecked translation could mislead a victim.
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
