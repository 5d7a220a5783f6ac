"""Courier credentials and the signing key, changed from the desk (issue 16).

``aryz desk courier add`` makes a new courier credential; ``aryz desk courier revoke``
withdraws one; ``aryz desk rotate --signing`` replaces the signing key after a stolen
desk. Each writes a **registry change** signed with the desk's signing key
(``service.common.contract.registry_change``) into the desk folder, to be carried to the
server's operator, who drops it into ``registry-changes/`` (the server applies it within
seconds, no restart). The desk's ``keys.json`` lists the couriers it considers current;
it is re-wrapped under the passphrase with each change, as a rotation does.

The coalition is never locked out by its own hand: revoking the last current courier is
refused unless the same change issues the next one (the server refuses such a change too).

Changes signed by one key are numbered from 1 (``registry-change-serial`` in the desk
folder: the key's id and the last number, public). A rotation restarts the count for the
new key. A desk restored from a backup does not have that file: if the server says a
change number is already applied, make the change again with ``serial`` one more than
the last number ``aryz registry check`` shows for the coalition.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import service.common.files as files
import service.desk.store.keys as keys
from service.common.contract.registry_change import RegistryChange, make_change
from service.common.contract.statement import (
    KeyStatement,
    StatementError,
    make_statement,
    parse_statement,
)
from service.common.crypto.keys import generate_signing_keypair, key_id
from service.desk.errors import DeskError
from service.desk.store.statement import SERIAL_FILE, STATEMENT_FILE

CHANGE_SERIAL_FILE = "registry-change-serial"
CHANGES_DIR = "registry-changes"


class CourierChoiceError(DeskError):
    code = "desk_courier"
    message = "Name a current courier of this desk by its key id (aryz desk courier list)."


class LastCourierError(DeskError):
    code = "desk_last_courier"
    message = (
        "That would leave the coalition without any courier: issue the next one in the same "
        "change (aryz desk courier revoke … --issue-new FILE). Nothing was changed."
    )


class CredentialExistsError(DeskError):
    code = "desk_credential_exists"
    message = "The credential file already exists; choose a new name. Nothing was changed."


@dataclass(frozen=True)
class CourierChange:
    change_file: Path
    serial: int
    added: bytes | None  # the new courier's verify key
    credential_file: Path | None
    revoked: tuple[bytes, ...]


@dataclass(frozen=True)
class SigningRotation:
    change_file: Path
    old_key: bytes
    new_key: bytes
    statement_file: Path | None  # a new key statement signed by the new key, if one existed


def courier_keys(directory: Path) -> tuple[bytes, ...]:
    """The verify keys of the couriers this desk considers current."""
    return keys.read_public(directory).courier_keys


def change_couriers(
    directory: Path,
    passphrase: str,
    *,
    revoke: Sequence[str] = (),
    issue_to: Path | None = None,
    serial: int | None = None,
) -> CourierChange:
    """Revoke the couriers named by key id, and/or issue a new one into ``issue_to``.

    All in one signed registry change; nothing is written unless all of it can be.
    """
    keyring = keys.unlock(directory, passphrase)
    current = keyring.public.courier_keys
    revoked = tuple(dict.fromkeys(_resolve(current, wanted) for wanted in revoke))
    remaining = [k for k in current if k not in revoked]
    if not remaining and issue_to is None:
        raise LastCourierError()
    if issue_to is not None and issue_to.exists():
        raise CredentialExistsError()
    pair = generate_signing_keypair() if issue_to is not None else None
    serial = serial or _next_serial(directory, keyring.public.signing_key)
    change = RegistryChange(
        coalition=keyring.coalition,
        serial=serial,
        signer=keyring.public.signing_key,
        couriers_added=(pair.verify,) if pair else (),
        couriers_revoked=revoked,
    )
    text = make_change(change, keyring.signing_seed)
    public = replace(keyring.public, courier_keys=(*remaining, *((pair.verify,) if pair else ())))
    if pair is not None and issue_to is not None:
        credential = keys.CourierCredential(keyring.coalition, pair)
        files.write_new(issue_to, (json.dumps(credential.as_json(), indent=1) + "\n").encode())
    signer = keyring.public.signing_key
    change_file = _write_change(directory, keyring.coalition, signer, serial, text)
    keys.replace_key_file(directory, replace(keyring, public=public), passphrase)
    _save_serial(directory, keyring.public.signing_key, serial)
    return CourierChange(change_file, serial, pair.verify if pair else None, issue_to, revoked)


def rotate_signing(directory: Path, passphrase: str, serial: int | None = None) -> SigningRotation:
    """Replace the signing key: a change signed by the old key, countersigned by the new.

    The old signing seed is dropped from ``keys.json`` (it is presumed stolen). The next
    outbox is signed with the new key, so the server must have applied the change first.
    If the desk made a key statement before, a new one (next serial, same countries) is
    signed with the new key, for the operator to paste into the registry.
    """
    keyring = keys.unlock(directory, passphrase)
    new = generate_signing_keypair()
    old_key = keyring.public.signing_key
    serial = serial or _next_serial(directory, old_key)
    change = RegistryChange(
        coalition=keyring.coalition, serial=serial, signer=old_key, signing_key=new.verify
    )
    text = make_change(change, keyring.signing_seed, new.seed)
    change_file = _write_change(directory, keyring.coalition, old_key, serial, text)
    rotated = replace(
        keyring, public=replace(keyring.public, signing_key=new.verify), signing_seed=new.seed
    )
    keys.replace_key_file(directory, rotated, passphrase)
    _save_serial(directory, new.verify, 0)
    return SigningRotation(change_file, old_key, new.verify, _restate(directory, old_key, new.seed))


def _restate(directory: Path, old_key: bytes, new_seed: bytes) -> Path | None:
    """Sign the desk's last key statement again with the new key (next serial)."""
    path = directory / STATEMENT_FILE
    try:
        line = path.read_text(encoding="utf-8")
        text = line.split("key_statement = '", 1)[1].rsplit("'", 1)[0]
        last = parse_statement(text, old_key)
    except (OSError, IndexError, StatementError):
        return None
    serial = last.serial + 1
    statement = KeyStatement(
        last.coalition, last.countries, last.fallback, serial, last.keys, last.duty
    )
    signed = make_statement(statement, new_seed)
    files.replace(
        path,
        (
            f"# Key statement {serial} of coalition {last.coalition}, signed with the NEW "
            "signing key: paste this\n# line into its [[coalition]] entry in the server's "
            "registry.toml together with the rotation.\n"
            f"key_statement = '{signed}'\n"
        ).encode(),
    )
    files.replace(directory / SERIAL_FILE, f"{serial}\n".encode("ascii"))
    return path


def _resolve(current: tuple[bytes, ...], wanted: str) -> bytes:
    text = "".join(wanted.split()).lower()
    matches = [k for k in current if len(text) >= 6 and key_id(k).hex().startswith(text)]
    if len(matches) != 1:
        raise CourierChoiceError()
    return matches[0]


def _next_serial(directory: Path, signer: bytes) -> int:
    """One more than the last change this key signed here: the counter file, or a change
    file left by an attempt that stopped before the counter was written."""
    last = 0
    try:
        fields = (directory / CHANGE_SERIAL_FILE).read_text(encoding="ascii").split()
        if fields[0] == key_id(signer).hex():
            last = int(fields[1])
    except (OSError, ValueError, IndexError):
        pass
    prefix = f"-{key_id(signer).hex()[:8]}-"
    for path in (directory / CHANGES_DIR).glob(f"*{prefix}*.json"):
        number = path.stem.rsplit("-", 1)[-1]
        if number.isdigit():
            last = max(last, int(number))
    return last + 1


def _save_serial(directory: Path, signer: bytes, serial: int) -> None:
    files.replace(
        directory / CHANGE_SERIAL_FILE, f"{key_id(signer).hex()} {serial}\n".encode("ascii")
    )


def _write_change(directory: Path, coalition: str, signer: bytes, serial: int, text: str) -> Path:
    folder = directory / CHANGES_DIR
    files.make_private_dir(folder)
    path = folder / f"{coalition}-{key_id(signer).hex()[:8]}-{serial:04d}.json"
    files.write_new(path, text.encode("utf-8"))
    return path
