"""Desk backups: the whole desk in one encrypted, authenticated file, and its restore.

A backup holds everything a new laptop needs to carry on: the key file (still wrapped
under the passphrase), the store (every case, item, note, history line and record still
waiting for an outbox, with its sequence number) and, once recovery shares exist
(``service.desk.store.recovery``), the desk's secret keys wrapped under the recovery key.

File layout (``*.aryz-backup``)::

    "ARYZDBAK" (8) | version 0x01 (1) | header length L (u32 BE) | header: JSON (L)
    | secretstream header (24) | messages: length (u32 BE) | secretstream ciphertext

The header, in clear: ``{"format": "aryz-desk-backup", "version": 1, "coalition": id,
"keys": <keys.json, text>, "recovery": null | {"threshold", "shares", "wrapped"}}``. The
key file is the desk's own (Argon2id over the passphrase, public keys as associated
data); ``wrapped`` is the secret half of the keys under the recovery key (wrap value
v1, bound to the public keys). Nothing else is in clear: no date, count or reference.

The body is one libsodium secretstream (XChaCha20-Poly1305) under the **backup key**,
BLAKE2b-256 of the desk's store key (keyed, domain-separated), with SHA-256 of everything
before it (magic, version, header) as associated data of every message. Message 1 is
the inventory (JSON: date, the store's size and SHA-256, counts, and the backup's
serial: 1, 2, … per desk, kept in the store; a spare desk takes only a higher one), then
the store file in
1 MiB messages, then an empty message tagged FINAL. So:

- a **copied** backup reads like the desk folder itself: nothing without the passphrase
  (one Argon2id guess at the sensitive limits each) or M recovery shares;
- a **forged or altered** one is refused: without the store key nobody can make a stream
  that authenticates; a changed header (say, a key file with another passphrase) changes
  the associated data; a cut, reordered or extended stream fails the tags or lacks FINAL.

Writing is crash-safe: a snapshot of the store (SQLite's backup API, consistent even while
the web desk writes) next to the store, the backup written to ``NAME.part`` on the stick,
fsynced, renamed, the folder fsynced; only then are the items in the snapshot marked as
held by a backup (the next outbox releases them: the server may then delete them).
A restore builds the desk in a hidden folder beside the target and renames it into place
at the end: a desk is restored whole or not at all.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import sqlite3
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import service.common.files as files
import service.desk.store.keys as keys
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.stream import HEADER_BYTES, Puller, Pusher, StreamError
from service.common.crypto.wrap import decrypt_value, encrypt_value
from service.common.errors import EnvelopeError
from service.desk.casework.resync import mark_restored
from service.desk.errors import DeskDamagedError, DeskError, DeskExistsError
from service.desk.store.database import DB_FILE, Store
from service.desk.store.keys import Keyring, PublicKeys

MAGIC = b"ARYZDBAK"
VERSION = 1
FORMAT = "aryz-desk-backup"
SUFFIX = ".aryz-backup"
_PREFIX = struct.Struct(">8sBI")
_LENGTH = struct.Struct(">I")
_CHUNK = 1 << 20
_MAX_HEADER = 1 << 20
_MAX_MESSAGE = _CHUNK + 4096
_STREAM_HEADER = HEADER_BYTES
_KEY_DOMAIN = b"aryz-desk backup key v1"
_RECOVERY_CONTEXT = b"aryz-desk-backup recovery v1\n"
SNAPSHOT_PREFIX = ".backup-snapshot-"
RESTORING_PREFIX = ".restoring-"
LAST_BACKUP = "last_backup"
RECOVERY = "recovery"
RESTORED = "restored"
BACKUP_SERIAL = "backup_serial"


class BackupPathError(DeskError):
    code = "backup_path"
    message = "The backup folder does not exist or cannot be written. Nothing was written."


class BackupDamagedError(DeskError):
    code = "backup_damaged"
    message = (
        "This backup is damaged, altered, or not a desk backup of this kind. Nothing was restored."
    )


class RestoreTargetError(DeskError):
    code = "restore_target"
    message = "A desk is restored only into a new or empty folder."


class NoRecoveryError(DeskError):
    code = "backup_no_recovery"
    message = (
        "This backup was made before recovery shares were drawn: it opens with the passphrase only."
    )


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    cases: int
    items: int
    recovery: bool  # the backup also opens with recovery shares


@dataclass(frozen=True)
class Inventory:
    """The first message of a backup's stream."""

    created: str  # local date
    cases: int
    items: int
    db_size: int
    db_sha256: str
    up_to_item: int
    serial: int = 0  # grows with every backup of a desk (a spare takes only newer ones)


@dataclass(frozen=True)
class Header:
    coalition: str
    keys_text: str
    recovery: dict[str, Any] | None
    ad: bytes  # SHA-256 of magic, version and header


@dataclass(frozen=True)
class Opening:
    """How to open a backup: the passphrase, or the recovery key from M shares."""

    passphrase: str | None = None
    recovery_key: bytes | None = None


def backup_key(store_key: bytes) -> bytes:
    return blake2b_256(_KEY_DOMAIN, key=store_key)


# --- writing ----------------------------------------------------------------------------


def write_backup(store: Store, keyring: Keyring, directory: Path, out_dir: Path) -> BackupReport:
    """Write a backup of the desk in ``directory`` into the folder ``out_dir``."""
    if not out_dir.is_dir() or out_dir.is_symlink():
        raise BackupPathError()
    remove_leftovers(directory, SNAPSHOT_PREFIX)
    keys_text = (directory / keys.KEYS_FILE).read_text(encoding="utf-8")
    recovery = store.get_meta(RECOVERY)
    wrapped = None
    if recovery is not None:
        kek = bytes.fromhex(recovery["key"])
        sealed = encrypt_value(kek, keys.secrets_bytes(keyring), _recovery_ad(keyring.public))
        wrapped = {
            "threshold": recovery["threshold"],
            "shares": recovery["shares"],
            "wrapped": base64.b64encode(sealed).decode("ascii"),
        }
    header = _header_bytes(keyring.coalition, keys_text, wrapped)
    with store.transaction():
        serial = int(store.get_meta(BACKUP_SERIAL) or 0) + 1
        store.set_meta(BACKUP_SERIAL, serial)  # in the snapshot too: a restore continues it
    snapshot = directory / f"{SNAPSHOT_PREFIX}{secrets.token_hex(8)}"
    name = _new_name(out_dir)
    part = out_dir / (name + ".part")
    try:
        inventory = replace(_snapshot(store, snapshot), serial=serial)
        with _exclusive(part) as out:
            size = _write_stream(out, header, inventory, snapshot, backup_key(keyring.store_key))
        os.replace(part, out_dir / name)
        files.fsync_dir(out_dir)
    except OSError:
        part.unlink(missing_ok=True)
        raise BackupPathError() from None
    finally:
        _unlink_snapshot(snapshot)
    with store.transaction() as db:
        db.execute("UPDATE items SET held = 1 WHERE id <= ?", (inventory.up_to_item,))
        store.set_meta(
            LAST_BACKUP,
            {"date": inventory.created, "up_to_item": inventory.up_to_item, "name": name},
        )
    return BackupReport(
        out_dir / name, size, inventory.cases, inventory.items, recovery is not None
    )


def _new_name(out_dir: Path) -> str:
    stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M%S")  # noqa: DTZ005 - the desk's local time
    name = f"desk-backup-{stamp}{SUFFIX}"
    if (out_dir / name).exists():
        name = f"desk-backup-{stamp}-{secrets.token_hex(3)}{SUFFIX}"
    return name


def _header_bytes(coalition: str, keys_text: str, recovery: dict[str, Any] | None) -> bytes:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "coalition": coalition,
        "keys": keys_text,
        "recovery": recovery,
    }
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _PREFIX.pack(MAGIC, VERSION, len(body)) + body


def _snapshot(store: Store, path: Path) -> Inventory:
    """A consistent copy of the store at ``path``, and what it holds."""
    files.write_new(path, b"")
    target = sqlite3.connect(path)
    try:
        store.connection.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        cases = target.execute("SELECT count(*) FROM cases").fetchone()[0]
        items, up_to = target.execute("SELECT count(*), coalesce(max(id), 0) FROM items").fetchone()
    except sqlite3.Error:
        raise BackupPathError() from None
    finally:
        target.close()
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        for piece in iter(lambda: source.read(_CHUNK), b""):
            digest.update(piece)
            size += len(piece)
    return Inventory(dt.date.today().isoformat(), cases, items, size, digest.hexdigest(), up_to)


def _write_stream(
    out: BinaryIO, header: bytes, inventory: Inventory, snapshot: Path, key: bytes
) -> int:
    ad = hashlib.sha256(header).digest()
    pusher = Pusher(key)
    out.write(header + pusher.header)
    size = len(header) + len(pusher.header)

    def push(data: bytes, *, final: bool = False) -> None:
        nonlocal size
        sealed = pusher.push(data, ad, final=final)
        out.write(_LENGTH.pack(len(sealed)) + sealed)
        size += _LENGTH.size + len(sealed)

    push(json.dumps(inventory.__dict__, sort_keys=True).encode())
    with snapshot.open("rb") as source:
        for piece in iter(lambda: source.read(_CHUNK), b""):
            push(piece)
    push(b"", final=True)
    files.sync(out)
    return size


def set_recovery(store: Store, key: bytes, threshold: int, count: int) -> None:
    """Keep the recovery key (encrypted, in the store) for every later backup."""
    with store.transaction():
        store.set_meta(RECOVERY, {"key": key.hex(), "threshold": threshold, "shares": count})


def _recovery_ad(public: PublicKeys) -> bytes:
    return _RECOVERY_CONTEXT + keys.public_context(public)


# --- reading ----------------------------------------------------------------------------


def read_header(source: BinaryIO) -> Header:
    """Parse the clear header; anything unexpected is :class:`BackupDamagedError`."""
    prefix = source.read(_PREFIX.size)
    if len(prefix) != _PREFIX.size:
        raise BackupDamagedError()
    magic, version, length = _PREFIX.unpack(prefix)
    if magic != MAGIC or version != VERSION or not 0 < length <= _MAX_HEADER:
        raise BackupDamagedError()
    body = source.read(length)
    if len(body) != length:
        raise BackupDamagedError()
    try:
        document = json.loads(body.decode("utf-8"))
        if document["format"] != FORMAT or document["version"] != VERSION:
            raise BackupDamagedError()
        coalition, keys_text, recovery = (
            document["coalition"],
            document["keys"],
            document["recovery"],
        )
        if not isinstance(coalition, str) or not isinstance(keys_text, str):
            raise BackupDamagedError()
        if recovery is not None and not (
            isinstance(recovery, dict) and isinstance(recovery.get("wrapped"), str)
        ):
            raise BackupDamagedError()
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise BackupDamagedError() from None
    ad = hashlib.sha256(prefix + body).digest()
    return Header(coalition, keys_text, recovery, ad)


def _keyring(header: Header, folder: Path, opening: Opening) -> Keyring:
    """Unlock the backup's keys; ``folder`` (private, new) receives its ``keys.json``."""
    files.write_new(folder / keys.KEYS_FILE, header.keys_text.encode("utf-8"))
    if opening.passphrase is not None:
        try:
            return keys.unlock(folder, opening.passphrase)
        except DeskDamagedError:
            raise BackupDamagedError() from None
    if header.recovery is None:
        raise NoRecoveryError()
    try:
        public = keys.read_public(folder)
        sealed = base64.b64decode(header.recovery["wrapped"], validate=True)
        raw = decrypt_value(opening.recovery_key or b"", sealed, _recovery_ad(public))
        return keys.keyring_from_secrets(public, raw, keys.kdf_limits_from_env())
    except EnvelopeError:
        from service.desk.store.recovery import RecoverySharesError

        raise RecoverySharesError() from None
    except (DeskDamagedError, ValueError):
        raise BackupDamagedError() from None


def _messages(source: BinaryIO, header: Header, key: bytes) -> Iterator[bytes]:
    """Every message of the stream, authenticated, up to and including FINAL."""
    stream_header = source.read(_STREAM_HEADER)
    if len(stream_header) != _STREAM_HEADER:
        raise BackupDamagedError()
    try:
        puller = Puller(stream_header, key)
    except StreamError:
        raise BackupDamagedError() from None
    while True:
        raw = source.read(_LENGTH.size)
        if len(raw) != _LENGTH.size:
            raise BackupDamagedError()  # cut before FINAL
        (length,) = _LENGTH.unpack(raw)
        if not 0 < length <= _MAX_MESSAGE:
            raise BackupDamagedError()
        sealed = source.read(length)
        if len(sealed) != length:
            raise BackupDamagedError()
        try:
            data, final = puller.pull(sealed, header.ad)
        except StreamError:
            raise BackupDamagedError() from None
        if final:
            if data or source.read(1):
                raise BackupDamagedError()  # anything after the end is not ours
            return
        yield data


def _extract(path: Path, opening: Opening, folder: Path) -> tuple[Header, Keyring, Inventory]:
    """Unlock a backup and write its key file and store into the private ``folder``."""
    try:
        source = path.open("rb")
    except OSError:
        raise BackupDamagedError() from None
    with source:
        header = read_header(source)
        keyring = _keyring(header, folder, opening)
        if keyring.coalition != header.coalition:
            raise BackupDamagedError()
        messages = _messages(source, header, backup_key(keyring.store_key))
        try:
            inventory = Inventory(**json.loads(next(messages)))
        except (StopIteration, ValueError, TypeError):
            raise BackupDamagedError() from None
        digest = hashlib.sha256()
        size = 0
        with _exclusive(folder / DB_FILE) as out:
            for data in messages:
                digest.update(data)
                size += len(data)
                out.write(data)
            files.sync(out)
    if size != inventory.db_size or digest.hexdigest() != inventory.db_sha256:
        raise BackupDamagedError()
    return header, keyring, inventory


@dataclass(frozen=True)
class VerifyReport:
    coalition: str
    created: str
    cases: int
    items: int
    recovery: bool


def verify_backup(path: Path, opening: Opening) -> VerifyReport:
    """Open a backup completely without restoring it: every byte, every case record."""
    with tempfile.TemporaryDirectory(prefix="aryz-verify-") as scratch:
        folder = Path(scratch) / "desk"
        files.make_private_dir(folder)
        header, keyring, inventory = _extract(path, opening, folder)
        _check_store(folder, keyring)
    return VerifyReport(
        header.coalition,
        inventory.created,
        inventory.cases,
        inventory.items,
        header.recovery is not None,
    )


def _check_store(folder: Path, keyring: Keyring) -> None:
    import service.desk.casework.cases as cases

    try:
        store = Store.open(folder / DB_FILE, keyring.store_key)
    except DeskError:
        raise BackupDamagedError() from None
    try:
        ok = store.connection.execute("PRAGMA integrity_check").fetchone()
        if ok is None or ok[0] != "ok":
            raise BackupDamagedError()
        for case in cases.all_cases(store):
            cases.items_of(store, case)
    except (DeskDamagedError, sqlite3.Error):
        raise BackupDamagedError() from None
    finally:
        store.close()


@dataclass(frozen=True)
class RestoreReport:
    directory: Path
    coalition: str
    created: str
    cases: int
    items: int
    serial: int = 0


def restore_backup(
    path: Path,
    target: Path,
    opening: Opening,
    new_passphrase: Callable[[], str] | None = None,
) -> RestoreReport:
    """Rebuild a desk from a backup in the new or empty folder ``target``.

    Opened with recovery shares, the keys are wrapped under a new passphrase, which
    ``new_passphrase`` asks for once the shares are known to fit.
    """
    target = target.absolute()
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise RestoreTargetError()
    if not target.parent.is_dir():
        raise RestoreTargetError()
    remove_leftovers(target.parent, f"{RESTORING_PREFIX}{target.name}-")
    staging = target.parent / f"{RESTORING_PREFIX}{target.name}-{secrets.token_hex(6)}"
    files.make_private_dir(staging)
    try:
        header, keyring, inventory = _extract(path, opening, staging)
        if opening.passphrase is None:
            if new_passphrase is None:
                raise NoRecoveryError()
            passphrase = new_passphrase()
            (staging / keys.KEYS_FILE).unlink()
            keyring = replace(keyring, limits=keys.kdf_limits_from_env())
            keys.write_key_file(staging, keyring, passphrase)
        _check_store(staging, keyring)
        _mark_restored(staging, keyring, inventory)
        files.write_new(
            staging / keys.PUBLIC_KEY_FILE, keys.public_key_toml(keyring.public).encode("utf-8")
        )
        files.fsync_dir(staging)
        if target.exists():
            target.rmdir()
        os.rename(staging, target)
        files.fsync_dir(target.parent)
    except BaseException:
        remove_tree(staging)
        raise
    return RestoreReport(
        target,
        header.coalition,
        inventory.created,
        inventory.cases,
        inventory.items,
        inventory.serial,
    )


def _mark_restored(folder: Path, keyring: Keyring, inventory: Inventory) -> None:
    """Every item of the restored store is held by a backup (this one)."""
    store = Store.open(folder / DB_FILE, keyring.store_key)
    try:
        with store.transaction() as db:
            db.execute("UPDATE items SET held = 1")
            store.set_meta(
                LAST_BACKUP,
                {"date": inventory.created, "up_to_item": inventory.up_to_item, "name": None},
            )
            store.set_meta(RESTORED, {"from": inventory.created})
            mark_restored(store)
        store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()


# --- small file helpers -----------------------------------------------------------------


class _exclusive:  # noqa: N801 - used like open()
    """A new private file opened for binary writing (never an existing one)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __enter__(self) -> BinaryIO:
        try:
            self._file = files.open_private(self._path)
        except FileExistsError:
            raise DeskExistsError() from None
        return self._file

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def _unlink_snapshot(snapshot: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{snapshot}{suffix}").unlink(missing_ok=True)


def remove_leftovers(folder: Path, prefix: str) -> None:
    """What a killed backup or restore left behind (never a finished file)."""
    try:
        leftovers = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
        else:
            path.unlink(missing_ok=True)


def remove_tree(folder: Path) -> None:
    if not folder.exists():
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            remove_tree(child)
        else:
            child.unlink(missing_ok=True)
    folder.rmdir()
