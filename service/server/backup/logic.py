"""Make and restore encrypted backups (the work behind ``aryz backup``).

Two kinds of archive (``service.server.backup.archive``), deliberately separate:

- **database**: a consistent snapshot of the database plus the coalition registry and
  its signed changes (``registry-changes/``). It
  never holds the onion keys (SECURITY.md guarantee 10): whoever holds a database backup
  and its key can read no report (items are sealed to the coalitions) and cannot
  impersonate the onion address.
- **onion-keys**: the files of ``ARYZ_ONION_KEYS_DIR`` (tor's ``HiddenServiceDir``
  layout: ``intake/``, ``staff/``, ``staff/authorized_clients/``), restored 0700/0600.

Neither holds the token pepper (``ARYZ_TOKEN_PEPPER`` in the environment file): keep it
with the backup private key, offline. Without it no case token finds its case again.

Restores go only into empty targets and authenticate the whole archive before writing
anything.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from service.common.clock import current_week
from service.common.crypto.keys import BoxKeyPair
from service.common.errors import RegistryError
from service.server.backup import archive, database
from service.server.backup.errors import (
    BackupError,
    BackupFileError,
    BackupFormatError,
    BackupKindError,
    OnionKeysError,
    RestoreTargetError,
    SchemaError,
)
from service.server.backup.files import NewFile, make_private_dir
from service.server.backup.signing import check_signature, sign_backup
from service.server.registry.changes import CHANGES_DIR, changes_dir
from service.server.registry.logic import parse_registry
from service.server.storage.migrate import alembic_config, head_revision

DATABASE = "database"
ONION_KEYS = "onion-keys"
REGISTRY_MEMBER = "registry.toml"
# A registry change's file name inside the archive: one plain name, never a path.
_CHANGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.json")
SQLITE_FILE = "aryz.sqlite3"  # the default database name inside ARYZ_DATA_DIR
MAX_KEY_FILE = 64 * 1024

SQLITE_TARGET = (
    "This is a SQLite backup: it is restored into the data directory. Leave out --database-url."
)
POSTGRES_TARGET = (
    "This is a PostgreSQL backup: give --database-url naming an empty PostgreSQL database."
)


class RegistryChangedError(BackupError):
    code = "backup_registry_changed"
    message = (
        "The backup's registry holds coalition keys that differ from your reference "
        "registry. Restoring it would seal new reports to these keys; check each "
        "fingerprint with its coalition, then restore again with --accept-registry:"
    )


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backend, the schema revision, and whether it is current."""

    backend: str
    revision: str
    current: bool


def create_database_backup(
    database_url: str, registry_path: Path, recipients: Sequence[bytes], out: Path
) -> dict[str, Any]:
    """Write a sealed snapshot of the database and the registry to ``out``."""
    kind = database.backend(database_url)
    try:
        registry = registry_path.read_bytes()
    except OSError:
        raise BackupFileError("The coalition registry file cannot be read.") from None
    revision = database.schema_revision(database_url)
    snapshot = database.sqlite_snapshot if kind == "sqlite" else database.postgres_dump
    member = database.SQLITE_MEMBER if kind == "sqlite" else database.POSTGRES_MEMBER
    manifest = _manifest(DATABASE, backend=kind, schema=revision)
    members: list[archive.Member] = [(REGISTRY_MEMBER, lambda: [registry])]
    # The coalitions' signed registry changes (revoked couriers, rotated signing keys)
    # belong with the registry: restored without them, a revoked courier would work again.
    for name, data in _change_files(registry_path):
        members.append((f"{CHANGES_DIR}/{name}", functools.partial(lambda d: [d], data)))
    members.append((member, lambda: snapshot(database_url)))
    with NewFile(out) as sink:
        archive.write(sink.write, recipients, manifest, members)
    return manifest


def _change_files(registry_path: Path) -> list[tuple[str, bytes]]:
    folder = changes_dir(registry_path)
    if not folder.is_dir():
        return []
    try:
        return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.json"))]
    except OSError:
        raise BackupFileError("A registry change file cannot be read.") from None


def create_onion_keys_archive(keys_dir: Path, recipients: Sequence[bytes], out: Path) -> list[str]:
    """Write a sealed archive of every file under ``keys_dir``; return their names."""
    names = _key_files(keys_dir)
    members: list[archive.Member] = [
        (name, functools.partial(_key_content, keys_dir / name)) for name in names
    ]
    with NewFile(out) as sink:
        archive.write(sink.write, recipients, _manifest(ONION_KEYS), members)
    return names


def verify_backup(path: Path, key: BoxKeyPair) -> dict[str, Any]:
    """Check the offline key's signature (F-03), then that every byte opens; return the
    manifest."""
    check_signature(path, key)
    return archive.verify(path, [key])


def sign_verified_backup(path: Path, key: BoxKeyPair) -> Path:
    """On the offline machine: open and check the whole backup, then sign it (F-03)."""
    manifest = archive.verify(path, [key])
    return sign_backup(path, key, str(manifest.get("week", "")))


def registry_changes(backup_registry: str, reference: str) -> list[str]:
    """Lines naming each coalition whose keys in the backup's registry differ from the
    reference registry (the one built from the coalitions' ceremony snippets), with the
    fingerprints the backup would install. Empty when they agree."""
    try:
        restored, known = parse_registry(backup_registry), parse_registry(reference)
    except RegistryError:
        return ["The backup's registry or the reference registry is not valid."]
    lines = []
    for coalition in restored.coalitions:
        ref = known.get(coalition.id)
        same = ref is not None and (
            ref.signing_key == coalition.signing_key
            and sorted(k.public_key for k in ref.all_keys)
            == sorted(k.public_key for k in coalition.all_keys)
        )
        if not same:
            lines.append(f"coalition {coalition.id} (changed or new):")
            lines.append(f"  signing key  {coalition.signing_fingerprint}")
            lines += [f"  key epoch {k.epoch}  {k.fingerprint}" for k in coalition.current_keys]
    lines += [
        f"coalition {c.id}: missing from the backup"
        for c in known.coalitions
        if restored.get(c.id) is None
    ]
    return lines


def restore_database(
    path: Path,
    key: BoxKeyPair,
    into: Path,
    database_url: str | None = None,
    *,
    registry_reference: str | None = None,
    accept_registry: bool = False,
) -> Restored:
    """Restore a database backup into the empty data directory ``into``.

    A SQLite backup becomes ``into/aryz.sqlite3``; a PostgreSQL backup goes into the empty
    database ``database_url``. The registry becomes ``into/registry.toml`` either way.

    Only a backup signed by the offline key is restored (F-03). With
    ``registry_reference`` (registry text), a backup whose coalition keys differ from it is
    refused, its fingerprints shown, unless ``accept_registry``: a registry with someone
    else's keys would seal every new report to them.
    """
    check_signature(path, key)
    manifest = archive.verify(path, [key])
    if registry_reference is not None and not accept_registry:
        changes = registry_changes(_registry_of(path, key), registry_reference)
        if changes:
            raise RegistryChangedError("\n".join([RegistryChangedError.message, *changes]))
    if manifest.get("kind") != DATABASE:
        raise BackupKindError()
    kind = manifest.get("backend")
    schema = manifest.get("schema")
    _check_known_schema(schema)
    if kind == "sqlite":
        if database_url is not None:
            raise RestoreTargetError(SQLITE_TARGET)
        url = f"sqlite:///{into / SQLITE_FILE}"
    elif kind == "postgresql":
        if database_url is None or database.backend(database_url) != "postgresql":
            raise RestoreTargetError(POSTGRES_TARGET)
        url = database_url
        database.check_postgres_empty(url)
    else:
        raise BackupFormatError()
    _check_empty_dir(into)
    make_private_dir(into)
    for name, pieces in archive.Reader(path, [key]).members():
        if name == REGISTRY_MEMBER:
            _write(into / REGISTRY_MEMBER, pieces)
        elif name.startswith(CHANGES_DIR + "/"):
            change = name[len(CHANGES_DIR) + 1 :]
            if not _CHANGE_NAME.fullmatch(change):
                raise BackupFormatError()
            make_private_dir(into / CHANGES_DIR)
            _write(into / CHANGES_DIR / change, pieces)
        elif name == database.SQLITE_MEMBER and kind == "sqlite":
            database.restore_sqlite(pieces, into / SQLITE_FILE)
        elif name == database.POSTGRES_MEMBER and kind == "postgresql":
            database.restore_postgres(pieces, url)
        else:
            raise BackupFormatError()
    revision = database.restored_revision(url)
    if revision != schema or revision is None:
        raise BackupFormatError()
    return Restored(kind, revision, current=revision == head_revision(url))


def _registry_of(path: Path, key: BoxKeyPair) -> str:
    for name, pieces in archive.Reader(path, [key]).members():
        if name == REGISTRY_MEMBER:
            try:
                return b"".join(pieces).decode("utf-8")
            except UnicodeDecodeError:
                raise BackupFormatError() from None
        break
    raise BackupFormatError()


def restore_onion_keys(path: Path, key: BoxKeyPair, into: Path) -> list[str]:
    """Restore an onion key archive into the empty directory ``into`` (0700, files 0600).

    Signed offline too (F-03): planted onion keys would hand the address to whoever made
    them."""
    check_signature(path, key)
    manifest = archive.verify(path, [key])
    if manifest.get("kind") != ONION_KEYS:
        raise BackupKindError()
    _check_empty_dir(into)
    make_private_dir(into)
    names = []
    for name, pieces in archive.Reader(path, [key]).members():
        target = into / name
        for parent in reversed(target.relative_to(into).parents[:-1]):
            make_private_dir(into / parent)
        _write(target, pieces)
        names.append(name)
    return names


def _manifest(kind: str, **extra: object) -> dict[str, Any]:
    return {
        "format": archive.FORMAT,
        "version": archive.VERSION,
        "kind": kind,
        "week": current_week(),
        **extra,
    }


def _check_known_schema(schema: object) -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = {revision.revision for revision in script.walk_revisions()}
    if not isinstance(schema, str) or schema not in known:
        raise SchemaError()


def _check_empty_dir(path: Path) -> None:
    if path.is_symlink() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
        raise RestoreTargetError()


def _write(path: Path, pieces: Iterator[bytes]) -> None:
    with NewFile(path) as out:
        for piece in pieces:
            out.write(piece)


def _key_files(keys_dir: Path) -> list[str]:
    """Relative names of the regular files under ``keys_dir``; anything else is refused."""
    if keys_dir.is_symlink() or not keys_dir.is_dir():
        raise OnionKeysError()
    names = []
    try:
        for root, dirs, files in os.walk(keys_dir):
            for entry in (*dirs, *files):
                mode = (Path(root) / entry).lstat().st_mode
                # A symlink could pull a file from elsewhere into the archive; a socket or
                # device has no place among keys.
                if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                    raise OnionKeysError()
            names += [(Path(root) / f).relative_to(keys_dir).as_posix() for f in files]
    except OSError:
        raise OnionKeysError() from None
    if not names:
        raise OnionKeysError("The onion key directory holds no files.")
    for name in names:
        try:
            archive.check_member_name(name)
        except BackupFormatError:
            raise OnionKeysError() from None
    return sorted(names)


def _key_content(path: Path) -> list[bytes]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except OSError:
        raise OnionKeysError() from None
    if len(data) > MAX_KEY_FILE:
        raise OnionKeysError()  # key files are tiny; a big file here is not ours
    return [data]
