"""Backups the server cannot forge (audit F-03): the operator's offline key signs them.

Envelope v1 has no sender authentication and the backup *public* key is on the server,
so anyone who held the server can write a well-formed backup. Sealing proves nothing
about who made it. So a backup is trusted only with a signature by a key the server never
holds: an Ed25519 key derived from the operator's offline backup secret (the same wrapped
``backup-secret.key``; derivation is domain-separated from its X25519 use).

The operator signs each backup on the offline machine when copying it offsite
(``aryz backup sign FILE``), which first opens and checks the whole archive, and refuses a
backup whose manifest says an earlier week than the current or previous one: an "old"
backup appearing now is exactly what a planted pre-incident backup looks like. The
signature goes next to the file (``FILE.sig``) and covers the SHA-256 of every byte.
``verify`` and ``restore`` refuse a backup without a valid signature.

Limit: a backup the adversary forges during the very week it holds the server, and that
the operator then signs with the week's genuine ones, is still signed. Signing promptly,
and never signing after a suspected compromise, is the operator's part (deploy/README).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from service.common.clock import current_week
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.keys import BoxKeyPair, sign, signing_keypair_from_seed, verify
from service.common.errors import EnvelopeKeyError
from service.server.backup.errors import BackupError
from service.server.backup.files import write_new

FORMAT = "aryz-backup-signature"
VERSION = 1
SUFFIX = ".sig"
DOMAIN = b"aryz-backup-signature-v1\n"
_SEED_CONTEXT = b"aryz-backup-signing-seed-v1\n"


class BackupSignatureError(BackupError):
    code = "backup_signature"
    message = (
        "This backup is not signed by your offline backup key (no valid FILE.sig next to "
        "it). A backup anyone could have written is not restored."
    )


class BackupTooOldToSignError(BackupError):
    code = "backup_too_old_to_sign"
    message = (
        "This backup says it was made before last week. Sign backups as they are copied "
        "offsite; an old backup appearing now may have been planted. Nothing was signed."
    )


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def _seed(key: BoxKeyPair) -> bytes:
    return blake2b_256(_SEED_CONTEXT + key.secret)


def signing_public_key(key: BoxKeyPair) -> bytes:
    return signing_keypair_from_seed(_seed(key)).verify


def _digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError:
        raise BackupSignatureError() from None
    return digest.digest()


def _message(digest: bytes) -> bytes:
    return DOMAIN + digest


def _previous_week(week: str) -> str:
    import datetime as dt

    year, number = int(week[:4]), int(week[6:])
    monday = dt.date.fromisocalendar(year, number, 1) - dt.timedelta(days=7)
    y, w, _d = monday.isocalendar()
    return f"{y}-W{w:02d}"


def sign_backup(path: Path, key: BoxKeyPair, manifest_week: str) -> Path:
    """Sign ``path`` (already opened and checked by the caller); returns the .sig path."""
    now = current_week()
    if manifest_week not in (now, _previous_week(now)):
        raise BackupTooOldToSignError()
    digest = _digest(path)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "sha256": digest.hex(),
        "signature": sign(_seed(key), _message(digest)).hex(),
    }
    out = signature_path(path)
    write_new(out, json.dumps(document, indent=1, sort_keys=True).encode())
    return out


def check_signature(path: Path, key: BoxKeyPair) -> None:
    """Refuse ``path`` unless its .sig is the offline key's signature of every byte."""
    try:
        document = json.loads(signature_path(path).read_text(encoding="ascii"))
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise BackupSignatureError()
        signature = bytes.fromhex(str(document["signature"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise BackupSignatureError() from None
    try:
        verify(signing_public_key(key), _message(_digest(path)), signature)
    except EnvelopeKeyError:
        raise BackupSignatureError() from None
