"""The pages' helpers: names for saved files, typed tags, and labels kept in step with the
desk's own lists (so nothing appears untranslated or is silently dropped)."""

from __future__ import annotations

import pytest

import service.common.contract.sealed_item as sealed_item
from service.common.i18n import LANGUAGES, translations
from service.desk.web import logic


def test_every_import_reason_is_translated() -> None:
    reasons = list(sealed_item.REASONS.values())
    for language in (code for code in LANGUAGES if code != "en"):
        gettext = translations(language).gettext
        assert all(gettext(reason) != reason for reason in reasons), language


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\a\\scan.pdf", "scan.pdf"),
        ("re\u202egpj.exe", "regpj.exe"),
        ("a\x00b\nc.txt", "abc.txt"),
        ('x"; filename="evil.sh', "x filename=evil.sh"),
        ("...hidden", "hidden"),
        ("   ", "attachment-3"),
        (None, "attachment-3"),
        ("Фото ИВС.jpg", "Фото ИВС.jpg"),
        ("a" * 300 + ".jpeg", "a" * 115 + ".jpeg"),
    ],
)
def test_original_names_are_safe_to_save(name: str | None, expected: str) -> None:
    assert logic.original_name(name, 3) == expected


def test_content_disposition_keeps_the_exact_name_and_an_ascii_one() -> None:
    header = logic.content_disposition("Фото 1.jpg")
    assert header == (
        "attachment; filename=\"____ 1.jpg\"; filename*=UTF-8''%D0%A4%D0%BE%D1%82%D0%BE%201.jpg"
    )


def test_tag_changes() -> None:
    assert logic.tag_changes(["a", "b"], " b, c ,, c") == (["c"], ["a"])
    assert logic.tag_changes([], "") == ([], [])


def test_list_query_defaults_and_round_trip() -> None:
    query = logic.list_query({})
    assert query.sort == "received"
    assert query.form() == {
        "country": "",
        "status": "",
        "week": "",
        "language": "",
        "detained": "",
        "sort": "received",
    }
    chosen = {"country": "KZ", "status": "closed", "week": "2026-W01", "detained": "1"}
    assert logic.list_query(chosen).form() == {**chosen, "language": "", "sort": "received"}


def test_visible_shows_what_hides() -> None:
    assert logic.visible("a\u200bb\u202ec") == "a\\u{200B}b\\u{202E}c"
    assert logic.visible("line 1\nline 2", multiline=True) == "line 1\nline 2"
    assert logic.visible("line 1\nline 2") == "line 1\\u{000A}line 2"
    assert logic.visible(None) == ""
