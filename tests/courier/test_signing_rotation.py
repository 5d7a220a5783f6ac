"""A stolen desk: the coalition replaces its signing key, and its old cases stay
answerable (issue 16 item 5).

The rotation is a registry change signed by the old key and countersigned by the new one
(``service.common.contract.registry_change``), dropped into ``registry-changes/`` and
picked up by a reload (``service.server.registry.reload``) — no restart. After it, the
server takes outboxes signed by the new key only; answers signed before it still show as
the coalition's on the status page and in ``aryz status`` (which follows the signed
rotation from the fingerprint the person pinned); the old key can neither answer nor
change the registry any more.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.contract.registry_change import (
    Acceptance,
    RegistryChange,
    make_acceptance,
    make_change,
)
from service.common.contract.statement import KeyStatement, make_statement
from service.common.crypto.keys import SigningKeyPair, generate_signing_keypair
from service.field.client import fetch_info, trusted_coalition
from service.field.client import status as client_status
from service.field.trust import TrustError
from service.server.app import build_runtime
from service.server.deps import Runtime
from service.server.registry.changes import changes_dir
from service.server.registry.reload import Watcher
from service.server.settings import Settings
from tests.conftest import make_settings
from tests.courier.helpers import (
    Courier,
    DeskKeys,
    case_refs,
    outbox,
    reply,
    reply_public_key,
    sealed_reply,
    status,
)
from tests.support import demo_trust, file_report

KZ = "kz-coalition"
BEFORE = "Ответ до кражи ноутбука."
AFTER = "Ответ после смены ключа."


@pytest.fixture
def settings(tmp_path: Path, database_url: str, registry_dir: Path) -> Settings:
    # A registry of this test's own: the change files go beside it.
    own = tmp_path / "registry"
    own.mkdir()
    shutil.copy(registry_dir / "registry.toml", own / "registry.toml")
    return make_settings(tmp_path, database_url, own, courier_allowed_hosts=["testserver"])


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    rt.engine.dispose()


def _drop(runtime: Runtime, name: str, text: str) -> None:
    folder = changes_dir(runtime.settings.resolved_registry_path)
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _restate(runtime: Runtime, keys: DeskKeys, new: SigningKeyPair) -> None:
    """The desk's key statement, signed again with the new key, pasted by the operator."""
    path = runtime.settings.resolved_registry_path
    entry = runtime.registry.get(KZ)
    assert entry is not None
    statement = KeyStatement(
        KZ,
        ("KZ",),
        False,
        7,
        tuple((k.epoch, k.public_key) for k in entry.current_keys),
        tuple((d.epoch, d.public_key, d.verify_key) for d in entry.duty_keys if not d.revoked),
    )
    text = path.read_text(encoding="utf-8")
    head, *blocks = text.split("[[coalition]]\n")
    blocks = [
        re.sub(
            r"^key_statement = .*$",
            lambda _m: f"key_statement = '{make_statement(statement, new.seed)}'",
            b,
            flags=re.M,
        )
        if f'id = "{KZ}"\n' in b
        else b
        for b in blocks
    ]
    path.write_text(head + "".join("[[coalition]]\n" + b for b in blocks), encoding="utf-8")


def test_rotation_keeps_old_cases_answerable(
    client: TestClient, runtime: Runtime, kz: DeskKeys, kz_courier: Courier
) -> None:
    token = file_report(client, narrative="Избили в Алматы.")
    (ref,) = case_refs(runtime)
    key = reply_public_key(runtime, ref).hex()
    first = outbox(kz, [reply(KZ, ref, 1, sealed_reply(bytes.fromhex(key), BEFORE), key=key)])
    assert kz_courier.push(first).status_code == 200
    pinned = demo_trust(runtime.settings.resolved_registry_path)  # the OLD fingerprint

    # The desk is stolen. The restored desk rotates: old key signs, new key countersigns.
    new = generate_signing_keypair()
    change = RegistryChange(KZ, 1, signer=kz.signing_key_pair.verify, signing_key=new.verify)
    _drop(runtime, "kz-rotation.json", make_change(change, kz.signing_seed, new.seed))
    # Until the operator pastes the statement signed by the new key, the registry is not
    # valid, and the server keeps the one it has: still the old key.
    watcher = Watcher(runtime)
    assert watcher.reload() is False
    entry = runtime.registry.get(KZ)
    assert entry is not None
    assert entry.signing_key == kz.signing_key_pair.verify
    _restate(runtime, kz, new)
    assert watcher.reload() is True
    entry = runtime.registry.get(KZ)
    assert entry is not None
    assert entry.signing_key == new.verify
    assert entry.signing_history == (kz.signing_key_pair.verify,)

    # The thief's old key answers nothing any more.
    forged = outbox(kz, [status(KZ, ref, 2, "closed", key=key)])
    refused = kz_courier.push(forged)
    assert refused.status_code == 400
    assert "signature" in refused.json()["message"]

    # The new key answers the old case.
    rotated = DeskKeys(KZ, new.seed, kz.courier_seed, kz.courier_key_id)
    second = outbox(
        rotated,
        [
            status(KZ, ref, 2, "will_contact", key=key),
            reply(KZ, ref, 3, sealed_reply(bytes.fromhex(key), AFTER), key=key),
        ],
    )
    pushed = kz_courier.push(second)
    assert pushed.status_code == 200, pushed.text

    # Both answers show as the coalition's: on the status page …
    page = client.post("/en/status", data={"token": token}).text
    assert BEFORE in page
    assert AFTER in page
    assert "We will contact you" in page
    # … and in aryz status, which pinned the old key and follows the signed rotation.
    seen = client_status(client, token, trust=pinned)
    assert seen["replies"] == [BEFORE, AFTER]
    assert seen["replies_verified"] == [True, True]
    assert seen["status_verified"] is True
    # aryz submit, pinned to the old key, takes the statement the new key signed.
    info = fetch_info(client)
    coalition = trusted_coalition(info, pinned, "KZ", None)
    assert coalition["id"] == KZ
    # Without the signed rotation to follow, the new key is refused.
    (entry_info,) = [c for c in info.coalitions if c["id"] == KZ]
    entry_info["signing_rotations"] = []
    with pytest.raises(TrustError, match="REFUSED"):
        trusted_coalition(info, pinned, "KZ", None)


def test_old_key_changes_after_rotation_are_refused(runtime: Runtime, kz: DeskKeys) -> None:
    new = generate_signing_keypair()
    old = kz.signing_key_pair.verify
    rotation = RegistryChange(KZ, 1, signer=old, signing_key=new.verify)
    _drop(runtime, "a-rotation.json", make_change(rotation, kz.signing_seed, new.seed))
    _restate(runtime, kz, new)
    assert Watcher(runtime).reload() is True
    # The thief, holding the old key, adds a courier of their own with a later serial.
    thief = RegistryChange(KZ, 2, signer=old, couriers_added=(generate_signing_keypair().verify,))
    _drop(runtime, "b-thief.json", make_change(thief, kz.signing_seed))
    assert Watcher(runtime).reload() is False
    entry = runtime.registry.get(KZ)
    assert entry is not None
    assert len(entry.couriers) == 1  # unchanged: the previous registry stays in use


def test_operator_accepts_a_new_key_read_out_by_the_coalition(
    client: TestClient, runtime: Runtime, kz: DeskKeys, kz_courier: Courier
) -> None:
    """The desk was lost with no backup: no change signed by the old key can be made."""
    token = file_report(client, narrative="Избили в Алматы.")
    (ref,) = case_refs(runtime)
    key = reply_public_key(runtime, ref).hex()
    first = outbox(kz, [reply(KZ, ref, 1, sealed_reply(bytes.fromhex(key), BEFORE), key=key)])
    assert kz_courier.push(first).status_code == 200
    new = generate_signing_keypair()
    accepted = Acceptance(KZ, kz.signing_key_pair.verify, new.verify, after_serial=0)
    _drop(runtime, "kz-accepted.json", make_acceptance(accepted))
    _restate(runtime, kz, new)
    assert Watcher(runtime).reload() is True
    rotated = DeskKeys(KZ, new.seed, kz.courier_seed, kz.courier_key_id)
    reply_after = sealed_reply(bytes.fromhex(key), AFTER)
    assert (
        kz_courier.push(outbox(rotated, [reply(KZ, ref, 2, reply_after, key=key)])).status_code
        == 200
    )
    page = client.post("/en/status", data={"token": token}).text
    assert BEFORE in page
    assert AFTER in page
