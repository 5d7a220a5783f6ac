"""The operator's backup key pair: X25519, the private half wrapped under a passphrase.

Backups are sealed (envelope v1) to the public half, which is all the server holds: a
seized server cannot open its own backups. The private half lives offline with the
operator (or two operators: ``create`` seals to several public keys) and is only needed
to restore. It is wrapped exactly as the desk's keys are (``service.common.crypto.wrap``:
Argon2id at libsodium's sensitive limits, XChaCha20-Poly1305), and the passphrase is
judged by the desk's rules (``service.common.passphrase``).

Files, both JSON::

    backup-public.key   {"format": "aryz-backup-public-key", "version": 1,
                         "public_key": hex, "fingerprint": "ABCD …"}
    backup-secret.key   {"format": "aryz-backup-secret-key", "version": 1,
                         "public_key": hex, "wrapped": base64(wrap v1 of the 32-byte seed)}

The public key is the wrap's associated data, so a secret file whose public half was
swapped fails to unwrap; after unwrapping, the public key is derived again and compared.
``ARYZ_BACKUP_KDF=minimum`` makes new wraps use libsodium's minimum limits (tests only).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path

from service.common.crypto.keys import (
    PUBLIC_KEY_LEN,
    BoxKeyPair,
    box_keypair_from_seed,
    fingerprint,
)
from service.common.crypto.wrap import (
    KdfLimits,
    limits_named,
    new_key,
    unwrap_secret,
    wrap_secret,
)
from service.common.errors import EnvelopeFormatError, EnvelopeKeyError
from service.common.passphrase import check_strength, normalise
from service.server.backup.errors import BackupKeyError, BackupPassphraseError
from service.server.backup.files import write_new

PUBLIC_FILE = "backup-public.key"
SECRET_FILE = "backup-secret.key"  # noqa: S105 - a file name, not a secret
PUBLIC_FORMAT = "aryz-backup-public-key"
SECRET_FORMAT = "aryz-backup-secret-key"  # noqa: S105 - a format name
VERSION = 1
KDF_ENV = "ARYZ_BACKUP_KDF"
_WRAP_CONTEXT = b"aryz-backup-key-v1\n"


def kdf_limits_from_env(env: Mapping[str, str] = os.environ) -> KdfLimits:
    """Sensitive limits, unless ``ARYZ_BACKUP_KDF=minimum`` (for tests only)."""
    limits = limits_named(env.get(KDF_ENV, ""))
    if limits is None:
        raise BackupKeyError(
            "ARYZ_BACKUP_KDF must be unset, 'sensitive' or (tests only) 'minimum'."
        )
    return limits


def create_key_pair(directory: Path, passphrase: str, limits: KdfLimits) -> bytes:
    """Write a new key pair into ``directory`` (created 0700); return the public key."""
    check_strength(passphrase)
    seed = new_key()
    public = box_keypair_from_seed(seed).public
    blob = wrap_secret(seed, _passphrase_bytes(passphrase), limits, context=_context(public))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_doc = {
        "format": SECRET_FORMAT,
        "version": VERSION,
        "public_key": public.hex(),
        "wrapped": base64.b64encode(blob).decode("ascii"),
    }
    public_doc = {
        "format": PUBLIC_FORMAT,
        "version": VERSION,
        "public_key": public.hex(),
        "fingerprint": fingerprint(public),
    }
    write_new(directory / SECRET_FILE, _json(secret_doc))
    write_new(directory / PUBLIC_FILE, _json(public_doc))
    return public


def read_public_key(path: Path) -> bytes:
    """The 32-byte public key from a ``backup-public.key`` file."""
    return _public_from(_read(path, PUBLIC_FORMAT))


def unlock_key(path: Path, passphrase: str) -> BoxKeyPair:
    """Unwrap a ``backup-secret.key`` file with ``passphrase``."""
    document = _read(path, SECRET_FORMAT)
    public = _public_from(document)
    try:
        blob = base64.b64decode(str(document["wrapped"]), validate=True)
        seed = unwrap_secret(blob, _passphrase_bytes(passphrase), context=_context(public))
    except (KeyError, binascii.Error, EnvelopeFormatError):
        raise BackupKeyError() from None
    except EnvelopeKeyError:
        raise BackupPassphraseError() from None
    try:
        pair = box_keypair_from_seed(seed)
    except ValueError:
        raise BackupKeyError() from None
    if pair.public != public:
        raise BackupKeyError()
    return pair


def _read(path: Path, expected_format: str) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise BackupKeyError() from None
    if (
        not isinstance(document, dict)
        or document.get("format") != expected_format
        or document.get("version") != VERSION
    ):
        raise BackupKeyError()
    return document


def _public_from(document: Mapping[str, object]) -> bytes:
    try:
        public = bytes.fromhex(str(document["public_key"]))
    except (KeyError, ValueError):
        raise BackupKeyError() from None
    if len(public) != PUBLIC_KEY_LEN:
        raise BackupKeyError()
    return public


def _passphrase_bytes(passphrase: str) -> bytes:
    return normalise(passphrase).encode("utf-8")


def _context(public: bytes) -> bytes:
    return _WRAP_CONTEXT + public


def _json(document: Mapping[str, object]) -> bytes:
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")
