"""Registry changes signed by a coalition's desk: the rules the server applies them by
(``service.server.registry.changes``) and the format (``…contract.registry_change``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.common.contract.registry_change import (
    Acceptance,
    RegistryChange,
    RegistryChangeError,
    SignedChange,
    follow,
    make_acceptance,
    make_change,
    parse,
)
from service.common.crypto.keys import SigningKeyPair, generate_signing_keypair, key_id
from service.common.errors import RegistryError
from service.server.registry.changes import ChangeFile, read_changes
from service.server.registry.logic import Registry, parse_registry
from tests.courier.helpers import desk
from tests.support import without_statements

KZ = "kz-coalition"


@pytest.fixture(scope="module")
def base(registry_dir: Path) -> str:
    """The demo registry without key statements (a rotation would need a new one)."""
    text = (registry_dir / "registry.toml").read_text(encoding="utf-8")
    return without_statements(text)


@pytest.fixture(scope="module")
def old(registry_dir: Path) -> SigningKeyPair:
    return desk(registry_dir, KZ).signing_key_pair


def _file(name: str, text: str) -> ChangeFile:
    return ChangeFile(name, parse(text), text)


def _apply(base: str, *files: ChangeFile) -> Registry:
    return parse_registry(base, list(files))


def _couriers(registry: Registry) -> list[tuple[bytes, bool]]:
    entry = registry.get(KZ)
    assert entry is not None
    return [(c.verify_key, c.revoked) for c in entry.couriers]


def test_add_then_revoke(base: str, old: SigningKeyPair) -> None:
    first = parse_registry(base).get(KZ)
    assert first is not None
    (original,) = first.couriers
    new = generate_signing_keypair().verify
    add = _file("1.json", make_change(RegistryChange(KZ, 1, old.verify, (new,)), old.seed))
    revoke = _file(
        "2.json",
        make_change(
            RegistryChange(KZ, 2, old.verify, couriers_revoked=(original.verify_key,)), old.seed
        ),
    )
    registry = _apply(base, revoke, add)  # applied in serial order, whatever the file order
    assert _couriers(registry) == [(original.verify_key, True), (new, False)]
    assert registry.courier(original.key_id) is None
    found = registry.courier(key_id(new))
    assert found is not None
    assert found[0].id == KZ


def test_the_last_courier_cannot_be_revoked_alone(base: str, old: SigningKeyPair) -> None:
    entry = parse_registry(base).get(KZ)
    assert entry is not None
    only = entry.couriers[0].verify_key
    alone = RegistryChange(KZ, 1, old.verify, couriers_revoked=(only,))
    with pytest.raises(RegistryError, match="without any courier"):
        _apply(base, _file("1.json", make_change(alone, old.seed)))


def _foreign(o: SigningKeyPair, other: SigningKeyPair) -> str:
    """Another coalition's key cannot change this one."""
    change = RegistryChange(KZ, 1, other.verify, (generate_signing_keypair().verify,))
    return make_change(change, other.seed)


def _unknown_courier(o: SigningKeyPair, other: SigningKeyPair) -> str:
    """A courier that is not there cannot be revoked."""
    change = RegistryChange(KZ, 1, o.verify, couriers_revoked=(other.verify,))
    return make_change(change, o.seed)


def _signing_as_courier(o: SigningKeyPair, other: SigningKeyPair) -> str:
    """The signing key is never a courier key."""
    return make_change(RegistryChange(KZ, 1, o.verify, (o.verify,)), o.seed)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_foreign, "not signed by"),
        (_unknown_courier, "does not have"),
        (_signing_as_courier, "signing key as a courier key"),
    ],
)
def test_changes_that_do_not_fit_are_refused(
    base: str, old: SigningKeyPair, make: object, message: str
) -> None:
    text = make(old, generate_signing_keypair())  # type: ignore[operator]
    with pytest.raises(RegistryError, match=message):
        _apply(base, _file("x.json", text))


def test_a_serial_is_applied_once(base: str, old: SigningKeyPair) -> None:
    one = make_change(
        RegistryChange(KZ, 1, old.verify, (generate_signing_keypair().verify,)), old.seed
    )
    two = make_change(
        RegistryChange(KZ, 1, old.verify, (generate_signing_keypair().verify,)), old.seed
    )
    with pytest.raises(RegistryError, match="already applied"):
        _apply(base, _file("a.json", one), _file("b.json", two))


def test_a_tampered_change_is_refused(base: str, old: SigningKeyPair) -> None:
    text = make_change(
        RegistryChange(KZ, 1, old.verify, (generate_signing_keypair().verify,)), old.seed
    )
    document = json.loads(text)
    document["body"]["couriers_added"] = [generate_signing_keypair().verify.hex()]
    with pytest.raises(RegistryError, match="not signed by"):
        _apply(base, _file("x.json", json.dumps(document)))
    document["body"]["extra"] = 1
    with pytest.raises(RegistryChangeError):
        parse(json.dumps(document))


def test_a_rotation_needs_the_new_keys_countersignature(old: SigningKeyPair) -> None:
    new, impostor = generate_signing_keypair(), generate_signing_keypair()
    change = RegistryChange(KZ, 1, old.verify, signing_key=new.verify)
    # Signed by the old key, "countersigned" by someone who does not hold the new one.
    forged = make_change(change, old.seed, impostor.seed)
    item = parse(forged)
    assert isinstance(item, SignedChange)
    assert item.signed_by(old.verify) is False
    genuine = parse(make_change(change, old.seed, new.seed))
    assert isinstance(genuine, SignedChange)
    assert genuine.signed_by(old.verify) is True


def test_rotation_chain_and_acceptance(base: str, old: SigningKeyPair) -> None:
    k1, k2 = generate_signing_keypair(), generate_signing_keypair()
    rotate = make_change(
        RegistryChange(KZ, 1, old.verify, signing_key=k1.verify), old.seed, k1.seed
    )
    # The new key's changes count from 1 again.
    add = make_change(
        RegistryChange(KZ, 1, k1.verify, (generate_signing_keypair().verify,)), k1.seed
    )
    accepted = make_acceptance(Acceptance(KZ, k1.verify, k2.verify, after_serial=1))
    registry = _apply(
        base, _file("r.json", rotate), _file("a.json", add), _file("z.json", accepted)
    )
    entry = registry.get(KZ)
    assert entry is not None
    assert entry.signing_key == k2.verify
    assert entry.signing_history == (old.verify, k1.verify)
    assert entry.signing_keys == (k2.verify, k1.verify, old.verify)
    assert len(entry.couriers) == 2
    # A change by k1 after the operator accepted k2 in its place: refused.
    late = make_change(
        RegistryChange(KZ, 2, k1.verify, (generate_signing_keypair().verify,)), k1.seed
    )
    with pytest.raises(RegistryError, match="operator has replaced"):
        _apply(
            base,
            _file("r.json", rotate),
            _file("a.json", add),
            _file("z.json", accepted),
            _file("l.json", late),
        )
    # Only signed rotations are offered to clients to follow; the acceptance is not one.
    assert entry.rotations == (rotate,)
    assert follow(entry.rotations, [old.verify]) == [old.verify, k1.verify]
    assert follow(entry.rotations, [k1.verify]) == [old.verify, k1.verify]  # vouched back
    assert follow(entry.rotations, [k2.verify]) == [k2.verify]  # nothing links k2 back


def test_changes_are_read_from_the_folder(tmp_path: Path, base: str, old: SigningKeyPair) -> None:
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"registry-changes/bad\.json"):
        read_changes(tmp_path)
    (tmp_path / "bad.json").unlink()
    text = make_change(
        RegistryChange(KZ, 1, old.verify, (generate_signing_keypair().verify,)), old.seed
    )
    (tmp_path / "kz-1.json").write_text(text, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    (found,) = read_changes(tmp_path)
    assert found.name == "kz-1.json"
    assert read_changes(tmp_path / "missing") == []
