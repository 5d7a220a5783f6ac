"""Backup archives refuse what they must: tampering, truncation, the wrong key, the wrong
kind, a non-empty target, odd files among the onion keys, an existing output file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from service.common.clock import current_week
from service.common.crypto.keys import BoxKeyPair, generate_box_keypair
from service.server.backup import archive
from service.server.backup.errors import (
    BackupExistsError,
    BackupFormatError,
    BackupKindError,
    OnionKeysError,
    RestoreTargetError,
    SchemaError,
)
from service.server.backup.logic import (
    create_database_backup,
    create_onion_keys_archive,
    restore_database,
    restore_onion_keys,
    sign_verified_backup,
    verify_backup,
)
from service.server.backup.signing import BackupSignatureError, sign_backup
from service.server.settings import Settings


@pytest.fixture(scope="module")
def key() -> BoxKeyPair:
    return generate_box_keypair()


def _keys_dir(root: Path) -> Path:
    (root / "intake").mkdir(parents=True, mode=0o700)
    (root / "intake" / "hs_ed25519_secret_key").write_bytes(b"S" * 96)
    (root / "intake" / "hostname").write_text("x.onion\n")
    return root


def test_database_backup_round_trip_refuses_second_restore(
    tmp_path: Path, settings: Settings, key: BoxKeyPair
) -> None:
    out = tmp_path / "db.aryzbak"
    manifest = create_database_backup(
        settings.resolved_database_url, settings.resolved_registry_path, [key.public], out
    )
    assert manifest["kind"] == "database"
    sign_verified_backup(out, key)  # on the offline machine, as it is copied offsite
    assert verify_backup(out, key)["members"] == ["registry.toml", manifest_member(settings)]
    with pytest.raises(BackupExistsError):
        create_database_backup(
            settings.resolved_database_url, settings.resolved_registry_path, [key.public], out
        )
    if settings.resolved_database_url.startswith("sqlite"):
        restored = restore_database(out, key, tmp_path / "new")
        assert restored.current
        with pytest.raises(RestoreTargetError):
            restore_database(out, key, tmp_path / "new")  # not empty any more
        with pytest.raises(RestoreTargetError):
            restore_database(out, key, tmp_path / "newer", "postgresql://x@/y")
    else:
        with pytest.raises(RestoreTargetError):
            restore_database(out, key, tmp_path / "new")  # no --database-url
        with pytest.raises(RestoreTargetError):
            # The source database itself is not empty: a restore never writes into it.
            restore_database(out, key, tmp_path / "new", settings.resolved_database_url)
        assert not (tmp_path / "new").exists()


def manifest_member(settings: Settings) -> str:
    sqlite = settings.resolved_database_url.startswith("sqlite")
    return "database.sqlite3" if sqlite else "database.pgdump"


def test_tampered_truncated_and_foreign_backups_restore_nothing(
    tmp_path: Path, key: BoxKeyPair
) -> None:
    out = tmp_path / "onion.aryzbak"
    create_onion_keys_archive(_keys_dir(tmp_path / "keys"), [key.public], out)
    good = out.read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 1
    cases = {
        "flipped": bytes(flipped),
        "truncated": good[:-40],
        "extended": good + b"\0",
        "empty": b"",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.aryzbak"
        path.write_bytes(data)
        with pytest.raises(BackupSignatureError):  # unsigned: refused before anything
            restore_onion_keys(path, key, tmp_path / f"into-{name}")
        sign_backup(path, key, current_week())  # signed as it is: the format is checked
        with pytest.raises(BackupFormatError):
            restore_onion_keys(path, key, tmp_path / f"into-{name}")
        assert not (tmp_path / f"into-{name}").exists()
    with pytest.raises(BackupSignatureError):
        verify_backup(out, generate_box_keypair())
    sign_verified_backup(out, key)
    with pytest.raises(BackupFormatError):
        archive.verify(out, [generate_box_keypair()])
    with pytest.raises(BackupKindError):
        restore_database(out, key, tmp_path / "db")


def test_onion_keys_restore_private_and_refuse_a_used_folder(
    tmp_path: Path, key: BoxKeyPair
) -> None:
    out = tmp_path / "onion.aryzbak"
    source = _keys_dir(tmp_path / "keys")
    (source / "intake" / "hostname").chmod(0o644)  # restored 0600 whatever the source said
    assert create_onion_keys_archive(source, [key.public], out) == [
        "intake/hostname",
        "intake/hs_ed25519_secret_key",
    ]
    with pytest.raises(BackupSignatureError):
        restore_onion_keys(out, key, tmp_path / "unsigned")
    assert not (tmp_path / "unsigned").exists()
    sign_verified_backup(out, key)
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("")
    with pytest.raises(RestoreTargetError):
        restore_onion_keys(out, key, used)
    target = tmp_path / "restored"
    restore_onion_keys(out, key, target)
    assert (target / "intake" / "hs_ed25519_secret_key").read_bytes() == b"S" * 96
    for path in [target, *target.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected


def test_onion_keys_refuse_symlinks_and_empty_folders(tmp_path: Path, key: BoxKeyPair) -> None:
    source = _keys_dir(tmp_path / "keys")
    os.symlink("/etc/passwd", source / "intake" / "link")
    with pytest.raises(OnionKeysError):
        create_onion_keys_archive(source, [key.public], tmp_path / "a.aryzbak")
    (tmp_path / "empty").mkdir()
    with pytest.raises(OnionKeysError):
        create_onion_keys_archive(tmp_path / "empty", [key.public], tmp_path / "b.aryzbak")
    assert list(tmp_path.glob("*.aryzbak")) == []
    assert list(tmp_path.glob(".*partial")) == []


@pytest.mark.parametrize("name", ["../evil", "/abs", "a//b", "a/./b", ".hidden", "a\nb", ""])
def test_member_names_cannot_leave_the_target(name: str) -> None:
    with pytest.raises(BackupFormatError):
        archive.check_member_name(name)


def test_unknown_schema_is_refused(tmp_path: Path, key: BoxKeyPair) -> None:
    out = tmp_path / "future.aryzbak"
    with out.open("wb") as handle:

        def sink(data: bytes) -> None:
            handle.write(data)

        manifest = {"format": archive.FORMAT, "version": 1, "kind": "database"}
        manifest |= {"backend": "sqlite", "schema": "9999_from_the_future", "week": "2030-W01"}
        archive.write(sink, [key.public], manifest, [("registry.toml", lambda: [b""])])
    sign_backup(out, key, current_week())
    with pytest.raises(SchemaError):
        restore_database(out, key, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_registry_changes_travel_with_the_registry(
    tmp_path: Path, settings: Settings, key: BoxKeyPair
) -> None:
    """A revocation restored away would let a stolen courier credential work again."""
    if not settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("the registry part is the same on PostgreSQL")
    registry = tmp_path / "live" / "registry.toml"
    registry.parent.mkdir()
    registry.write_bytes(settings.resolved_registry_path.read_bytes())
    (registry.parent / "registry-changes").mkdir()
    change = registry.parent / "registry-changes" / "kz-coalition-1.json"
    change.write_text('{"a revocation": true}')
    out = tmp_path / "db.aryzbak"
    create_database_backup(settings.resolved_database_url, registry, [key.public], out)
    sign_verified_backup(out, key)
    members = verify_backup(out, key)["members"]
    assert members[:2] == ["registry.toml", "registry-changes/kz-coalition-1.json"]
    restore_database(out, key, tmp_path / "new")
    restored = tmp_path / "new" / "registry-changes" / "kz-coalition-1.json"
    assert restored.read_text() == change.read_text()
