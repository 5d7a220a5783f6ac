"""deploy/backup/aryz-backup, as the timer runs it: a sealed backup named by ISO week and
counter, older ones pruned to ARYZ_BACKUP_KEEP, each one opening with the offline key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.common.crypto.wrap import MIN_LIMITS
from service.server.backup.keys import create_key_pair, unlock_key
from service.server.backup.logic import sign_verified_backup, verify_backup
from service.server.settings import Settings
from tests.deploy.units import DEPLOY

PASSPHRASE = "orbit candle meadow pocket silver lantern harbor"  # noqa: S105 - a test key


def test_nightly_script_seals_names_and_prunes(tmp_path: Path, settings: Settings) -> None:
    create_key_pair(tmp_path / "op", PASSPHRASE, MIN_LIMITS)
    aryz = tmp_path / "aryz"
    aryz.write_text(f'#!/bin/sh\nexec {sys.executable} -m service "$@"\n')
    aryz.chmod(0o755)
    out = tmp_path / "backups"
    out.mkdir(mode=0o700)
    env = {
        **os.environ,
        "PYTHONPATH": str(DEPLOY.parent),
        "ARYZ": str(aryz),
        "ARYZ_BACKUP_DIR": str(out),
        "ARYZ_BACKUP_KEY": str(tmp_path / "op" / "backup-public.key"),
        "ARYZ_BACKUP_KEEP": "2",
        "ARYZ_DATABASE_URL": settings.resolved_database_url,
        "ARYZ_REGISTRY_PATH": str(settings.resolved_registry_path),
    }
    for _ in range(3):
        run = subprocess.run(
            [str(DEPLOY / "backup" / "aryz-backup")], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2
    assert [n.rsplit("-", 1)[1] for n in names] == ["2.aryzbak", "3.aryzbak"]
    key = unlock_key(tmp_path / "op" / "backup-secret.key", PASSPHRASE)
    for name in names:
        sign_verified_backup(out / name, key)
        assert verify_backup(out / name, key)["kind"] == "database"
