"""The language slips the intake walk found (2026-12, section 4) stay fixed.

Each is a word or phrase a reader met on a page; the catalogs must not carry it again.
The message context of "Someone else" / "Prosecutor's office" (4.2) is checked on the
pages themselves in ``tests/intake/test_write_page.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "service" / "common" / "i18n" / "locale"

# (catalog, phrase that must not appear in any translation, the walk's section)
SLIPS = [
    ("ru", "токен", "4.5: 'код' everywhere else"),
    ("ru", "мониторы", "4.5: read as computer screens"),
    ("tg", "мониторҳо", "4.5: read as computer screens"),
    ("ru", "До 14", "4.5: the other age bands say 'лет'"),
    ("ru", "для души", "4.5: awkward"),
    ("kk", "бас тартты", "4.5: reads as 'the person refused'"),
    ("kaa_Latn", "Sizdiń", "4.5: Kazakh-style form"),
    ("kaa_Latn", "tiklep almaydı", "4.5: ability form is -a/-e al-"),
    ("kaa_Latn", "tekserip almaysız", "4.5: ability form is -a/-e al-"),
    ("kk", "противогаз", "4.4: Russian loanword"),
    ("tg", "противогаз", "4.4: Russian loanword"),
    ("uz", "protivogaz", "4.4: Russian loanword"),
    ("kaa_Latn", "protivogaz", "4.4: Russian loanword"),
    ("kaa_Latn", "vkladka", "4.4: Russian loanword"),
    ("kaa_Latn", "podval", "4.4: Russian loanword"),
    ("kk", "қауіпсіздік қызметі (ҰҚК)", "4.3: ҰҚК is a committee"),
    ("ky", "коопсуздук кызматы (УКМК)", "4.3: УКМК is a committee"),
    ("tg", "Хадамоти амнияти миллӣ (КДАМ)", "4.3: КДАМ is a committee"),
    ("tk", "howpsuzlyk edaralary (MHM)", "4.3: MHM is a ministry"),
]


def _translations(catalog: str) -> list[str]:
    with (LOCALE / catalog / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        messages = read_po(handle)
    texts: list[str] = []
    for message in messages:
        string = message.string
        strings = [string] if isinstance(string, str) else list(string or ())
        texts.extend(str(s) for s in strings if s)
    return texts


@pytest.mark.parametrize(("catalog", "phrase", "why"), SLIPS, ids=[f"{c}-{p}" for c, p, _ in SLIPS])
def test_the_walks_slip_is_gone(catalog: str, phrase: str, why: str) -> None:
    found = [t for t in _translations(catalog) if phrase.casefold() in t.casefold()]
    assert not found, (why, found[:3])


def test_the_fixed_forms_are_there() -> None:
    ru = " ".join(_translations("ru"))
    assert "Кому-то другому" in ru  # complaints: dative, its own message context
    assert "Кто-то другой" in ru  # who detained: nominative
    assert "Младше 14 лет" in ru
    assert "Siziń" in " ".join(_translations("kaa_Latn"))
