"""Every translated catalog covers every string in the current sources, and safely.

The messages are extracted again from the sources on each run, the way ``make messages``
does (``pybabel extract -F babel.cfg -k N_ .``), into a temporary template. So a string
added to a template or marked with ``N_()`` but not yet translated fails here, and the
failure names the msgid for the translator.

Placeholders are checked strictly because Jinja's new-style gettext always applies
``%`` to a translation, even one without variables: a stray ``%`` or a misspelt
``%(name)s`` would break the page for a person in the middle of a report.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from service.common.i18n import LANGUAGES, LOCALES, SOURCE_LANGUAGE, catalog_path, translations

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "babel.cfg"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}  # as ``-k N_``
TRANSLATED = sorted(code for code in LANGUAGES if code != SOURCE_LANGUAGE)

# Strings every catalog must translate; they also prove that the compiled catalog is used.
KNOWN = ("Check a case", "Send the report", "Kazakhstan", "Leave quickly")
KNOWN_PLURAL = ("Your case holds %(num)s sealed item.", "Your case holds %(num)s sealed items.")

# One printf-style conversion: %(name)s, %s, %5.2f, %% ...
FORMAT_SPEC = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)
HTML_TAG = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)[^<>]*>")

# Babel's own parser for babel.cfg (untyped upstream), so the mapping is read as pybabel does.
_parse_mapping: Callable[
    [IO[str], str], tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]
] = parse_mapping_cfg

language = pytest.mark.parametrize("language", TRANSLATED)


# --- helpers -------------------------------------------------------------------------------


def _msgid(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _forms(message: Message) -> tuple[str, ...]:
    if message.string is None:
        return ("",)
    if isinstance(message.string, str):
        return (message.string,)
    return tuple(message.string)


def _source_forms(message: Message) -> tuple[str, str]:
    """(text to compare a singular translation with, text for plural forms)."""
    if isinstance(message.id, str):
        return message.id, message.id
    return message.id[0], message.id[1]


def _specs(text: str) -> set[str]:
    return {match.group(0) for match in FORMAT_SPEC.finditer(text)}


def _names(text: str) -> set[str]:
    return {m.group("name") for m in FORMAT_SPEC.finditer(text) if m.group("name") is not None}


def _has_stray_percent(text: str) -> bool:
    return "%" in FORMAT_SPEC.sub("", text)


def _tags(text: str) -> set[str]:
    """Tag names, closing tags with a leading slash: {"a", "/a", "br"}."""
    return {
        ("/" if m.group(0).startswith("</") else "") + m.group(1).lower()
        for m in HTML_TAG.finditer(text)
    }


def _report(title: str, problems: Iterable[str]) -> str:
    lines = sorted(problems)
    return f"{title} ({len(lines)}):\n" + "\n".join(f"  {line}" for line in lines)


def _entries(template: Catalog, catalog: Catalog) -> list[tuple[Message, Message]]:
    """(source message, its entry in the catalog) for every source message translated."""
    pairs = []
    for source in template:
        if not source.id:
            continue
        entry = catalog.get(source.id, context=source.context)
        if entry is not None and all(_forms(entry)):
            pairs.append((source, entry))
    return pairs


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages of the current sources, through a temporary .pot like ``pybabel``."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = _parse_mapping(cfg, str(BABEL_CFG))
    extracted = Catalog(project="Aryz", version="1")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        extracted.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    with pot.open("wb") as out:
        write_po(out, extracted, no_location=True, sort_output=True)
    with pot.open("rb") as read_back:
        return read_po(read_back)


def _catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=LOCALES[language], abort_invalid=True)


# --- tests ---------------------------------------------------------------------------------


def test_extraction_sees_templates_and_marked_python_strings(template: Catalog) -> None:
    ids = {_msgid(m) for m in template if m.id}
    # One from a template, one from each N_() module: the mapping and the N_ keyword work.
    for expected in ("Check a case", "Who is filing this report?", "Kazakhstan", "Under review"):
        assert expected in ids, f"extraction missed {expected!r}: check babel.cfg and N_"


def test_codes_are_lowercase_bcp47_and_name_their_locale() -> None:
    """A code goes into addresses and ``<html lang>``; its locale into Babel and a folder."""
    assert LOCALES.keys() == LANGUAGES.keys()
    for code, locale_id in LOCALES.items():
        # Lowercase letters and one hyphenated subtag: nothing a path or a header could misread.
        assert re.fullmatch(r"[a-z]{2,3}(-[a-z]{4})?", code), code
        locale = Locale.parse(locale_id)
        assert str(locale) == locale_id
        assert locale.language == code.split("-")[0], code
        if "-" in code:
            assert (locale.script or "").lower() == code.split("-")[1], code


def test_there_is_a_catalog_to_check() -> None:
    assert TRANSLATED, "no language besides the source language"
    for code in TRANSLATED:
        assert catalog_path(code).is_file(), f"{code}: no catalog at {catalog_path(code)}"


@language
def test_every_source_message_is_translated(language: str, template: Catalog) -> None:
    catalog = _catalog(language)
    problems = []
    for source in template:
        if not source.id:
            continue
        msgid = _msgid(source)
        entry = catalog.get(source.id, context=source.context)
        if entry is None:
            problems.append(f"{msgid!r}: missing (run `make messages`, then translate)")
            continue
        if source.pluralizable != entry.pluralizable:
            problems.append(f"{msgid!r}: plural in one of source and catalog only")
            continue
        if source.pluralizable and _source_forms(source)[1] != _source_forms(entry)[1]:
            problems.append(f"{msgid!r}: msgid_plural differs from the source")
            continue
        forms = _forms(entry)
        if entry.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"{msgid!r}: {len(forms)} plural forms, need {catalog.num_plurals}")
        empty = [i for i, form in enumerate(forms) if not form.strip()]
        if empty:
            where = "" if not entry.pluralizable else f" (msgstr{empty})"
            problems.append(f"{msgid!r}: empty translation{where}")
    assert not problems, _report(f"{language}: untranslated messages", problems)


@language
def test_nothing_is_fuzzy(language: str) -> None:
    catalog = _catalog(language)
    assert not catalog.fuzzy, f"{language}: the header is marked fuzzy"
    fuzzy = [repr(_msgid(m)) for m in catalog if m.id and m.fuzzy]
    # Fuzzy entries are dropped at compile time, so the page would silently show English.
    assert not fuzzy, _report(f"{language}: fuzzy entries (check, then remove the flag)", fuzzy)


# Words that are the same in a language and in English, and so may be "translated" as
# themselves: numbers, and units the Latin-script languages write as English does.
SAME_AS_ENGLISH = re.compile(r"(?:[0-9–]+|%\(num\)s [KM]B)")


@language
def test_nothing_falls_back_to_english(language: str) -> None:
    """A translation copied from the English source (as a tool does for a string nobody
    translated) would pass for done and show a frightened reader English."""
    catalog = _catalog(language)
    copied = [
        repr(_msgid(m))
        for m in catalog
        if m.id
        and _forms(m) == _source_forms(m)[: len(_forms(m))]
        and not SAME_AS_ENGLISH.fullmatch(_msgid(m))
    ]
    assert not copied, _report(f"{language}: translations that are the English text", copied)


@language
def test_header_matches_the_language(language: str) -> None:
    catalog = _catalog(language)
    assert str(catalog.locale) == LOCALES[language]
    expected = Catalog(locale=LOCALES[language])
    assert catalog.num_plurals == expected.num_plurals, (
        f"{language}: Plural-Forms says {catalog.num_plurals} forms, "
        f"CLDR says {expected.num_plurals} ({expected.plural_forms})"
    )


@language
def test_placeholders_match_the_source(language: str, template: Catalog) -> None:
    problems = []
    for source, entry in _entries(template, _catalog(language)):
        msgid = _msgid(source)
        singular, plural = _source_forms(source)
        wanted = [singular] if not entry.pluralizable else [plural] * len(_forms(entry))
        for index, (form, reference) in enumerate(zip(_forms(entry), wanted, strict=True)):
            where = f"msgstr[{index}]" if entry.pluralizable else "msgstr"
            if _specs(form) != _specs(reference):
                problems.append(
                    f"{msgid!r}: {where} has {sorted(_specs(form))}, "
                    f"source has {sorted(_specs(reference))}"
                )
            elif _has_stray_percent(form):
                problems.append(f"{msgid!r}: {where} has a lone '%' (write '%%')")
            else:
                # What Jinja does at render time: this must not raise.
                try:
                    form % {name: 7 for name in _names(form)}
                except (KeyError, TypeError, ValueError) as error:
                    problems.append(f"{msgid!r}: {where} does not format: {error}")
    assert not problems, _report(f"{language}: placeholder mismatches", problems)


@language
def test_no_markup_the_source_lacks(language: str, template: Catalog) -> None:
    problems = []
    for source, entry in _entries(template, _catalog(language)):
        allowed = _tags(" ".join(_source_forms(source)))
        for form in _forms(entry):
            extra = _tags(form) - allowed
            if extra:
                problems.append(f"{_msgid(source)!r}: HTML not in the source: {sorted(extra)}")
    assert not problems, _report(f"{language}: markup added in translation", problems)


@language
def test_compiled_catalog_is_used(language: str) -> None:
    catalog = _catalog(language)
    compiled = translations(language)
    for msgid in KNOWN:
        entry = catalog.get(msgid)
        assert entry is not None, f"{language}: {msgid!r} missing"
        got = compiled.gettext(msgid)
        assert got == entry.string, f"{language}: {msgid!r} compiled as {got!r}"
        assert got != msgid, f"{language}: {msgid!r} is not translated"
    entry = catalog.get(KNOWN_PLURAL)
    assert entry is not None, f"{language}: {KNOWN_PLURAL[0]!r} missing"
    forms = _forms(entry)
    plural_index = gettext.c2py(catalog.plural_expr)
    for n in (0, 1, 2, 3, 5, 11, 12, 21, 22, 25, 101, 111):
        got = compiled.ngettext(*KNOWN_PLURAL, n)
        assert got == forms[plural_index(n)], f"{language}: n={n} chose {got!r}"
        assert str(n) in got % {"num": n}
