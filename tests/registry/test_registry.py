"""The coalition registry is validated strictly at start; mistakes stop the server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.common.errors import RegistryError
from service.server.registry.logic import load_registry, parse_registry
from tests.support import without_statements


def _text(registry_dir: Path) -> str:
    return (registry_dir / "registry.toml").read_text(encoding="utf-8")


def test_demo_registry_routes_all_five_countries(registry_dir: Path) -> None:
    registry = parse_registry(_text(registry_dir))
    for country in ("KZ", "KG", "TJ", "UZ", "TM"):
        national = registry.national(country)
        assert national is not None
        assert [c.id for c in registry.choices_for(country)] == [national.id, "iphr"]
    assert registry.has_demo_keys


def test_demo_keys_refused_outside_demo(registry_dir: Path) -> None:
    with pytest.raises(RegistryError, match="demo keys"):
        load_registry(registry_dir / "registry.toml", allow_demo=False)
    assert load_registry(registry_dir / "registry.toml", allow_demo=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('countries = ["KG"]', 'countries = ["KG", "KZ"]'),
            "KZ is named by more than one coalition",
        ),
        # TM has no coalition of its own and nobody would receive its reports.
        (
            lambda t: t.replace("fallback = true", "fallback = false").replace(
                'countries = ["TM"]', "countries = []"
            ),
            "No coalition names TM and the registry has no fallback",
        ),
        (lambda t: t.replace('countries = ["KZ"]', 'countries = ["KZ", "RU"]'), "country"),
        (
            lambda t: (
                re.sub(r'fingerprint = "[0-9A-F]', 'fingerprint = "0', t, count=1)
                if 'fingerprint = "0' not in t
                else t.replace('fingerprint = "0', 'fingerprint = "1', 1)
            ),
            "fingerprint",
        ),
        (lambda t: re.sub(r'public_key = "[0-9a-f]{4}', 'public_key = "zzzz', t, count=1), "hex"),
        (lambda t: t.replace("version = 1", "version = 2"), "version"),
        (lambda t: t + "\nunexpected = 1\n", "not valid"),
        (lambda t: t.replace('id = "kg-coalition"', 'id = "kz-coalition"'), "share one id"),
        (lambda t: t + "[[", "TOML"),
        (lambda t: t.replace("epoch = 1\n", "epoch = 1\nretired = true\n", 1), "no current key"),
    ],
)
def test_mistakes_are_refused_with_a_clear_message(
    registry_dir: Path, edit: object, message: str
) -> None:
    broken = edit(_text(registry_dir))  # type: ignore[operator]
    with pytest.raises(RegistryError, match=message):
        parse_registry(broken)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot be read"):
        load_registry(tmp_path / "missing.toml", allow_demo=True)


def _only(text: str, keep: set[str]) -> str:
    """The registry text with only the coalitions whose id is in ``keep``."""
    head, *blocks = text.split("[[coalition]]\n")
    kept = [b for b in blocks if any(f'id = "{k}"\n' in b for k in keep)]
    return head + "".join("[[coalition]]\n" + b for b in kept)


def test_one_national_coalition_and_the_fallback(registry_dir: Path) -> None:
    registry = parse_registry(_only(_text(registry_dir), {"kz-coalition", "iphr"}))
    assert registry.uncovered == ("KG", "TJ", "UZ", "TM")
    kz = registry.receiver("KZ")
    kg = registry.receiver("KG")
    assert kz is not None
    assert kz.id == "kz-coalition"
    assert kg is not None
    assert kg.id == "iphr"
    assert [c.id for c in registry.choices_for("KG")] == ["iphr"]


def test_one_coalition_alone_is_its_own_fallback(registry_dir: Path) -> None:
    alone = _only(_text(registry_dir), {"kz-coalition"})
    with pytest.raises(RegistryError, match="no fallback"):
        parse_registry(alone)
    # The desk signs "fallback" into its statement; this test's entry carries none.
    unsigned = without_statements(alone)
    registry = parse_registry(unsigned.replace("fallback = false", "fallback = true"))
    for country in ("KZ", "KG", "TM"):
        receiver = registry.receiver(country)
        assert receiver is not None
        assert receiver.id == "kz-coalition"
    assert registry.international == ()  # it serves a country: not "international"


def test_the_fallback_alone(registry_dir: Path) -> None:
    registry = parse_registry(_only(_text(registry_dir), {"iphr"}))
    assert registry.uncovered == ("KZ", "KG", "TJ", "UZ", "TM")
    assert [c.id for c in registry.international] == ["iphr"]


def test_an_empty_registry_is_refused() -> None:
    with pytest.raises(RegistryError, match="no coalition"):
        parse_registry("version = 1\ncoalition = []\n")


def test_a_missing_name_falls_back_to_russian_and_the_operator_is_told(
    registry_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Intake walk 4.1: names fell back to English, which few readers there can read.
    # Only the English and Russian names left on every coalition.
    text = re.sub(
        r'^names = \{ ("en" = "[^"]*"), ("ru" = "[^"]*"), .*\}$',
        r"names = { \1, \2 }",
        _text(registry_dir),
        flags=re.MULTILINE,
    )
    assert text.count('names = { "en"') == text.count("names = ")
    path = tmp_path / "registry.toml"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level("WARNING", logger="aryz"):
        registry = load_registry(path, allow_demo=True)
    kz = registry.get("kz-coalition")
    assert kz is not None
    assert kz.name("tg") == kz.names["ru"] != kz.names["en"]
    assert kz.name("en") == kz.names["en"]
    assert kz.name("ru") == kz.names["ru"]
    assert registry.missing_names()["kz-coalition"] == [
        "kk",
        "ky",
        "tg",
        "uz",
        "uz-cyrl",
        "tk",
        "kaa",
    ]
    assert "coalition kz-coalition has no name in kk, ky, tg" in caplog.text
    # The demo registry names every coalition in every language: nothing to say.
    caplog.clear()
    with caplog.at_level("WARNING", logger="aryz"):
        full = load_registry(registry_dir / "registry.toml", allow_demo=True)
    assert full.missing_names() == {}
    assert "has no name" not in caplog.text
