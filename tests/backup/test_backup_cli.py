"""``aryz backup`` as an operator meets it: key files, passphrases, fixed errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from service.server.backup.errors import (
    BackupFormatError,
    BackupPassphraseError,
    RestoreTargetError,
)
from service.server.backup.signing import BackupSignatureError
from tests.support import run_aryz

PASSPHRASE = "orbit candle meadow pocket silver lantern harbor"  # noqa: S105 - a test key
ENV = {"ARYZ_BACKUP_PASSPHRASE": PASSPHRASE, "ARYZ_BACKUP_KDF": "minimum"}


def test_keygen_wraps_the_private_key_and_errors_are_fixed(tmp_path: Path) -> None:
    made = run_aryz("backup", "keygen", "--out", str(tmp_path / "op"), env=ENV)
    assert made.returncode == 0, made.stderr
    secret = tmp_path / "op" / "backup-secret.key"
    public = json.loads((tmp_path / "op" / "backup-public.key").read_text())
    document = json.loads(secret.read_text())
    assert set(document) == {"format", "version", "public_key", "wrapped"}
    assert document["public_key"] == public["public_key"]
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert public["fingerprint"].replace(" ", "")[:4] in made.stdout.replace(" ", "")

    keys = tmp_path / "keys" / "intake"
    keys.mkdir(parents=True)
    (keys / "hostname").write_text("x.onion\n")
    archive = tmp_path / "onion.aryzbak"
    to = ["--to", str(tmp_path / "op" / "backup-public.key")]
    source = str(keys.parent)
    sealed = run_aryz("backup", "onion-keys", *to, "--out", str(archive), "--from", source)
    assert sealed.returncode == 0, sealed.stderr

    wrong = run_aryz(
        "backup", "verify", str(archive), "--key", str(secret),
        env={**ENV, "ARYZ_BACKUP_PASSPHRASE": "not the passphrase at all, no"},
    )  # fmt: skip
    assert (wrong.returncode, wrong.stderr) == (2, f"aryz: {BackupPassphraseError.message}\n")
    unsigned = run_aryz("backup", "verify", str(archive), "--key", str(secret), env=ENV)
    assert (unsigned.returncode, unsigned.stderr) == (2, f"aryz: {BackupSignatureError.message}\n")
    signed = run_aryz("backup", "sign", str(archive), "--key", str(secret), env=ENV)
    assert signed.returncode == 0, signed.stderr
    assert run_aryz("backup", "verify", str(archive), "--key", str(secret), env=ENV).returncode == 0

    damaged = tmp_path / "damaged.aryzbak"
    damaged.write_bytes(archive.read_bytes()[:-1])
    (tmp_path / "damaged.aryzbak.sig").write_bytes((tmp_path / "onion.aryzbak.sig").read_bytes())
    bad = run_aryz("backup", "verify", str(damaged), "--key", str(secret), env=ENV)
    assert (bad.returncode, bad.stderr) == (2, f"aryz: {BackupSignatureError.message}\n")
    resigned = run_aryz("backup", "sign", str(damaged), "--key", str(secret), env=ENV)
    assert (resigned.returncode, resigned.stderr) == (2, f"aryz: {BackupFormatError.message}\n")

    into = tmp_path / "busy"
    into.mkdir()
    (into / "x").write_text("")
    busy = run_aryz(
        "backup", "restore-onion-keys", str(archive), "--key", str(secret), "--into", str(into),
        env=ENV,
    )  # fmt: skip
    assert (busy.returncode, busy.stderr) == (2, f"aryz: {RestoreTargetError.message}\n")
    weak = run_aryz(
        "backup", "keygen", "--out", str(tmp_path / "weak"),
        env={**ENV, "ARYZ_BACKUP_PASSPHRASE": "short"},
    )  # fmt: skip
    assert weak.returncode == 2
    assert "Traceback" not in weak.stderr
    assert not (tmp_path / "weak" / "backup-secret.key").exists()
