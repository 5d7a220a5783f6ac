"""``aryz desk statement``: the desk signs its keys and countries for the registry, and
the server refuses a statement that does not match its registry entry (audit F-02)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.common.contract.statement import parse_statement
from service.common.errors import RegistryError
from service.desk.store.keys import unlock
from service.desk.store.statement import write_statement
from service.server.registry.logic import parse_registry
from tests.desk.helpers import PASSPHRASE
from tests.desk.test_desk_round_trip import registry_with_desk
from tests.support import run_aryz

ENV = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE, "ARYZ_DESK_KDF": "minimum"}


def _line_in(registry: str) -> str:
    start = registry.index('id = "kz-coalition"')
    return next(
        line for line in registry[start:].splitlines() if line.startswith("key_statement = ")
    )


def _line(desk_dir: Path) -> str:
    return (desk_dir / "key-statement.toml").read_text().splitlines()[-1]


def test_the_command_signs_numbered_statements_of_the_newest_key(desk_dir: Path) -> None:
    made = run_aryz("desk", "statement", "--dir", str(desk_dir), "--countries", "KZ", env=ENV)
    assert made.returncode == 0, made.stderr
    assert "Key statement 1" in made.stdout
    keyring = unlock(desk_dir, PASSPHRASE)
    text = re.fullmatch(r"key_statement = '(.*)'", _line(desk_dir))
    assert text is not None
    statement = parse_statement(text.group(1), keyring.public.signing_key)
    assert (statement.coalition, statement.countries, statement.serial) == (
        keyring.coalition,
        ("KZ",),
        1,
    )
    assert statement.keys == (keyring.public.epochs[-1],)
    again = run_aryz("desk", "statement", "--dir", str(desk_dir), "--countries", "KZ", env=ENV)
    assert again.returncode == 0
    assert "Key statement 2" in again.stdout
    unknown = run_aryz(
        "desk", "statement", "--dir", str(desk_dir), "--countries", "KZ", "--epoch", "9", env=ENV
    )
    assert unknown.returncode == 2
    assert "Traceback" not in unknown.stderr


def test_the_server_refuses_a_statement_that_does_not_match(desk_dir: Path, tmp_path: Path) -> None:
    registry = registry_with_desk(tmp_path / "registry", desk_dir) / "registry.toml"
    text = registry.read_text()
    assert parse_registry(text).get("kz-coalition") is not None  # the matching one loads
    # A genuine statement of the desk that says something else than the entry (KG).
    other = write_statement(desk_dir, PASSPHRASE, ["KG"], fallback=False)
    changed = text.replace(_line_in(text), other.path.read_text().splitlines()[-1])
    with pytest.raises(RegistryError, match="does not match"):
        parse_registry(changed)
    # Or pastes a statement whose signature does not check out.
    forged = re.sub(
        r'("signature": ")([0-9a-f])', lambda m: m.group(1) + "0f"[m.group(2) == "0"], text, count=1
    )
    with pytest.raises(RegistryError, match="not signed by its signing key"):
        parse_registry(forged)
