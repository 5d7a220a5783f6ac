"""Courier credentials in the registry: validated at start, looked up by key id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.common.crypto.keys import generate_signing_keypair, key_id
from service.common.errors import RegistryError
from service.server.registry.logic import parse_registry

COURIER_KEY = re.compile(r'verify_key = "([0-9a-f]{64})"')


def _text(registry_dir: Path) -> str:
    return (registry_dir / "registry.toml").read_text(encoding="utf-8")


def test_every_demo_coalition_has_a_courier_found_by_key_id(registry_dir: Path) -> None:
    registry = parse_registry(_text(registry_dir))
    for coalition in registry.coalitions:
        ((kid, verify_key),) = coalition.courier_keys.items()
        assert kid == key_id(verify_key)
        found = registry.courier(kid)
        assert found is not None
        assert found[0].id == coalition.id
        assert found[1] == verify_key
    assert registry.courier(bytes(8)) is None


def test_a_revoked_courier_is_not_found(registry_dir: Path) -> None:
    text = _text(registry_dir)
    first = COURIER_KEY.search(text)
    assert first is not None
    revoked = text.replace('label = "demo courier"', 'label = "demo courier"\nrevoked = true', 1)
    registry = parse_registry(revoked)
    assert registry.courier(key_id(bytes.fromhex(first.group(1)))) is None
    # The others are untouched.
    assert sum(len(c.courier_keys) for c in registry.coalitions) == len(registry.coalitions) - 1


def _second_courier(text: str, verify_key: str) -> str:
    block = f'[[coalition.couriers]]\nverify_key = "{verify_key}"\n'
    return text.replace("[[coalition.couriers]]", block + "[[coalition.couriers]]", 1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: COURIER_KEY.sub('verify_key = "zz"', t, count=1), "hex"),
        (lambda t: COURIER_KEY.sub('verify_key = "' + "ab" * 31 + '"', t, count=1), "hex"),
        (lambda t: t.replace('label = "demo courier"', "colour = 1", 1), "not valid"),
        (lambda t: t.replace('label = "demo courier"', 'label = "x"\nrevoked = "no"', 1), "valid"),
        # The same key twice in one coalition.
        (
            lambda t: _second_courier(t, COURIER_KEY.findall(t)[0]),
            "same courier key twice",
        ),
        # One key listed under two coalitions: its requests would be ambiguous.
        (
            lambda t: t.replace(COURIER_KEY.findall(t)[1], COURIER_KEY.findall(t)[0]),
            "share one courier key",
        ),
        # The coalition's signing key is not a courier key.
        (
            lambda t: COURIER_KEY.sub(
                'verify_key = "' + re.findall(r'signing_key = "([0-9a-f]{64})"', t)[0] + '"',
                t,
                count=1,
            ),
            "signing key as a courier key",
        ),
    ],
)
def test_courier_mistakes_are_refused(registry_dir: Path, edit: object, message: str) -> None:
    broken = edit(_text(registry_dir))  # type: ignore[operator]
    with pytest.raises(RegistryError, match=message):
        parse_registry(broken)


def test_several_couriers_per_coalition(registry_dir: Path) -> None:
    spare = generate_signing_keypair().verify
    registry = parse_registry(_second_courier(_text(registry_dir), spare.hex()))
    found = registry.courier(key_id(spare))
    assert found is not None
    assert len(found[0].courier_keys) == 2


def test_a_registry_without_couriers_still_loads(registry_dir: Path) -> None:
    text = re.sub(
        r'\[\[coalition\.couriers\]\]\nverify_key = "[0-9a-f]+"\nlabel = "[^"]*"\n',
        "",
        _text(registry_dir),
    )
    assert "couriers" not in text
    registry = parse_registry(text)
    assert all(not c.courier_keys for c in registry.coalitions)
