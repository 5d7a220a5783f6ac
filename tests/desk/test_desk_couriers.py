"""``aryz desk courier add/revoke`` and ``rotate --signing`` at the desk: what they write,
what they refuse, and that the server's registry takes what they write
(``service.desk.store.couriers``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.common.contract.credential import load_credential
from service.common.contract.registry_change import parse
from service.common.crypto.keys import key_id
from service.common.errors import RegistryError
from service.desk.store import keys
from service.desk.store.couriers import (
    CHANGES_DIR,
    CourierChoiceError,
    CredentialExistsError,
    LastCourierError,
    change_couriers,
    courier_keys,
    rotate_signing,
)
from service.desk.store.statement import write_statement
from service.server.registry.changes import ChangeFile, read_changes
from service.server.registry.logic import Registry, parse_registry
from tests.desk.helpers import COALITION, PASSPHRASE


def _registry(desk_dir: Path, initial: str) -> Registry:
    """The server's view: the registry built at the ceremony, with every change applied."""
    return parse_registry(initial, read_changes(desk_dir / CHANGES_DIR))


def _initial(desk_dir: Path) -> str:
    snippet = (desk_dir / keys.PUBLIC_KEY_FILE).read_text(encoding="utf-8")
    snippet = snippet.replace("countries = []", 'countries = ["KZ"]\nfallback = true')
    return "version = 1\n" + snippet


def _changes(desk_dir: Path) -> list[Path]:
    return (
        sorted((desk_dir / CHANGES_DIR).glob("*.json")) if (desk_dir / CHANGES_DIR).exists() else []
    )


def test_issue_and_revoke(desk_dir: Path, tmp_path: Path) -> None:
    initial = _initial(desk_dir)
    (first,) = courier_keys(desk_dir)
    issued = change_couriers(desk_dir, PASSPHRASE, issue_to=tmp_path / "second.json")
    second = load_credential(tmp_path / "second.json")
    assert issued.added == second.verify_key
    assert second.coalition == COALITION
    assert courier_keys(desk_dir) == (first, second.verify_key)
    revoked = change_couriers(desk_dir, PASSPHRASE, revoke=[key_id(first).hex()[:8]])
    assert revoked.revoked == (first,)
    assert (issued.serial, revoked.serial) == (1, 2)
    assert courier_keys(desk_dir) == (second.verify_key,)
    keys.unlock(desk_dir, PASSPHRASE)  # keys.json re-wrapped and still whole

    registry = _registry(desk_dir, initial)
    assert registry.courier(key_id(first)) is None
    assert registry.courier(second.key_id) is not None


def test_the_last_courier_is_not_revoked_alone(desk_dir: Path, tmp_path: Path) -> None:
    initial = _initial(desk_dir)
    (only,) = courier_keys(desk_dir)
    before = (desk_dir / keys.KEYS_FILE).read_bytes()
    with pytest.raises(LastCourierError):
        change_couriers(desk_dir, PASSPHRASE, revoke=[key_id(only).hex()])
    assert _changes(desk_dir) == []
    assert (desk_dir / keys.KEYS_FILE).read_bytes() == before
    # Revoked and replaced in one change: allowed.
    done = change_couriers(
        desk_dir, PASSPHRASE, revoke=[key_id(only).hex()], issue_to=tmp_path / "next.json"
    )
    assert courier_keys(desk_dir) == (done.added,)
    registry = _registry(desk_dir, initial)
    assert registry.courier(key_id(only)) is None


def test_mistakes_change_nothing(desk_dir: Path, tmp_path: Path) -> None:
    existing = tmp_path / "there.json"
    existing.write_text("x")
    with pytest.raises(CredentialExistsError):
        change_couriers(desk_dir, PASSPHRASE, issue_to=existing)
    with pytest.raises(CourierChoiceError):
        change_couriers(desk_dir, PASSPHRASE, revoke=["0000000000"], issue_to=tmp_path / "n.json")
    assert _changes(desk_dir) == []
    assert not (tmp_path / "n.json").exists()


def test_rotate_signing(desk_dir: Path, tmp_path: Path) -> None:
    initial = _initial(desk_dir)
    write_statement(desk_dir, PASSPHRASE, ["KZ"], fallback=True)
    old = keys.read_public(desk_dir).signing_key
    done = rotate_signing(desk_dir, PASSPHRASE)
    assert done.old_key == old
    keyring = keys.unlock(desk_dir, PASSPHRASE)
    assert keyring.public.signing_key == done.new_key != old
    # The desk's next change is signed by the new key and numbered from 1 again.
    after = change_couriers(desk_dir, PASSPHRASE, issue_to=tmp_path / "c.json")
    assert after.serial == 1
    # The server, given the rotation, the later change and the re-signed statement.
    assert done.statement_file is not None
    statement = done.statement_file.read_text(encoding="utf-8").splitlines()[-1]
    with_statement = initial.replace("fallback = true\n", "fallback = true\n" + statement + "\n")
    registry = _registry(desk_dir, with_statement)
    entry = registry.get(COALITION)
    assert entry is not None
    assert entry.signing_key == done.new_key
    assert entry.signing_history == (old,)
    assert len([c for c in entry.couriers if not c.revoked]) == 2


def test_a_restored_desk_numbers_its_next_change_by_hand(desk_dir: Path, tmp_path: Path) -> None:
    """A restored desk has neither its change counter nor its change files: the server
    refuses the repeated number and says how to go on; ``serial`` (``--serial``)
    continues after the last one applied."""
    initial = _initial(desk_dir)
    server = tmp_path / "server-changes"
    change_couriers(desk_dir, PASSPHRASE, issue_to=tmp_path / "a.json")
    shutil.copytree(desk_dir / CHANGES_DIR, server)
    # As after aryz desk restore into a new folder: no counter, no change files.
    (desk_dir / "registry-change-serial").unlink()
    shutil.rmtree(desk_dir / CHANGES_DIR)
    again = change_couriers(desk_dir, PASSPHRASE, issue_to=tmp_path / "b.json")
    assert again.serial == 1
    with pytest.raises(RegistryError, match="already applied.*--serial"):
        parse_registry(initial, [*read_changes(server), *_read(again.change_file)])
    fixed = change_couriers(desk_dir, PASSPHRASE, issue_to=tmp_path / "c.json", serial=2)
    registry = parse_registry(initial, [*read_changes(server), *_read(fixed.change_file)])
    entry = registry.get(COALITION)
    assert entry is not None
    assert entry.change_serial == fixed.serial == 2


def _read(path: Path) -> list[ChangeFile]:
    return [ChangeFile(path.name, parse(path.read_text()), path.read_text())]
