"""Audit F-03: a backup written with the public key only (all a seized server holds) is
refused by ``verify`` and ``restore``; a changed registry needs explicit acceptance.

On e75117f the PoC's forged backup verified as "authentic" and restore installed its
registry, which sealed new reports to the adversary's key.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.common.clock import current_week
from service.common.crypto.keys import BoxKeyPair, fingerprint, generate_box_keypair
from service.server.backup import archive
from service.server.backup.logic import (
    RegistryChangedError,
    create_database_backup,
    restore_database,
    sign_verified_backup,
    verify_backup,
)
from service.server.backup.signing import BackupSignatureError, BackupTooOldToSignError, sign_backup
from service.server.registry.logic import parse_registry
from service.server.settings import Settings
from tests.support import without_statements


@pytest.fixture(scope="module")
def key() -> BoxKeyPair:
    return generate_box_keypair()


def _forged(out: Path, public: bytes, registry: str) -> None:
    """What the PoC wrote: a well-formed backup sealed to the operator's public key."""
    manifest = {"format": archive.FORMAT, "version": 1, "kind": "database"}
    manifest |= {"week": "2026-W40", "backend": "sqlite", "schema": "0002"}
    with out.open("wb") as handle:

        def sink(data: bytes) -> None:
            handle.write(data)

        archive.write(
            sink,
            [public],
            manifest,
            [("registry.toml", lambda: [registry.encode()]), ("database.sqlite3", lambda: [b""])],
        )


def _adversary_registry(settings: Settings) -> tuple[str, str]:
    text = settings.resolved_registry_path.read_text()
    entry = parse_registry(text).get("kz-coalition")
    assert entry is not None
    old = entry.current_keys[0]
    attacker = generate_box_keypair()
    forged = text.replace(old.public_key.hex(), attacker.public.hex()).replace(
        old.fingerprint, fingerprint(attacker.public)
    )
    # The adversary cannot sign a key statement; it leaves the statements out (and the
    # duty keys, which a registry only takes with a statement naming them).
    forged = without_statements(forged)
    return forged, fingerprint(attacker.public)


def test_a_backup_forged_with_the_public_key_is_refused(
    tmp_path: Path, settings: Settings, key: BoxKeyPair
) -> None:
    forged_registry, _ = _adversary_registry(settings)
    forged = tmp_path / "aryz-db-2026-W40-1.aryzbak"
    _forged(forged, key.public, forged_registry)
    assert archive.verify(forged, [key])["kind"] == "database"  # well-formed, as on e75117f
    with pytest.raises(BackupSignatureError):
        verify_backup(forged, key)
    with pytest.raises(BackupSignatureError):
        restore_database(forged, key, tmp_path / "new")
    assert not (tmp_path / "new").exists()

    # A genuine backup's signature next to the forged file does not carry over.
    genuine = tmp_path / "genuine.aryzbak"
    create_database_backup(
        settings.resolved_database_url, settings.resolved_registry_path, [key.public], genuine
    )
    sign_verified_backup(genuine, key)
    shutil.copyfile(tmp_path / "genuine.aryzbak.sig", tmp_path / f"{forged.name}.sig")
    with pytest.raises(BackupSignatureError):
        verify_backup(forged, key)
    with pytest.raises(BackupSignatureError):
        restore_database(forged, key, tmp_path / "new")
    (tmp_path / f"{forged.name}.sig").unlink()
    # And the operator's signing step refuses an "old" backup that turns up now.
    with pytest.raises(BackupTooOldToSignError):
        sign_verified_backup(forged, key)
    assert not (tmp_path / f"{forged.name}.sig").exists()


def test_a_restored_registry_with_other_keys_needs_explicit_acceptance(
    tmp_path: Path, settings: Settings, key: BoxKeyPair
) -> None:
    if not settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("the registry check is the same for both; SQLite restores into a folder")
    reference = settings.resolved_registry_path.read_text()
    forged_registry, attacker_fp = _adversary_registry(settings)
    changed = tmp_path / "changed-registry.toml"
    changed.write_text(forged_registry)
    out = tmp_path / "db.aryzbak"
    create_database_backup(settings.resolved_database_url, changed, [key.public], out)
    sign_backup(out, key, current_week())  # signed: say the operator signed it in good faith
    with pytest.raises(RegistryChangedError) as refused:
        restore_database(out, key, tmp_path / "new", registry_reference=reference)
    assert "kz-coalition" in refused.value.message
    assert attacker_fp in refused.value.message
    assert not (tmp_path / "new").exists()
    restored = restore_database(
        out, key, tmp_path / "new", registry_reference=reference, accept_registry=True
    )
    assert restored.current
    assert (tmp_path / "new" / "registry.toml").read_text() == forged_registry
    # The same registry as the reference restores without asking.
    same = tmp_path / "same.aryzbak"
    create_database_backup(
        settings.resolved_database_url, settings.resolved_registry_path, [key.public], same
    )
    sign_verified_backup(same, key)
    restore_database(same, key, tmp_path / "other", registry_reference=reference)
