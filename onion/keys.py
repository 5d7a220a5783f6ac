"""Onion service keys on disk, in tor's own ``HiddenServiceDir`` layout.

One directory per service (``intake``, ``staff``) holding ``hs_ed25519_secret_key``,
``hs_ed25519_public_key`` and ``hostname``, exactly as tor writes them, so an operator can
publish the same keys either through ``aryz serve`` (``ADD_ONION``) or from a torrc
(``HiddenServiceDir``, e.g. behind Onionbalance), and a restored backup keeps the address.

The keys live outside the data directory and its database backups (security brief
item 10): whoever has the key can impersonate the service. Directories are 0700 and files
0600; loading refuses key files that others can read, since that means the key may have
leaked and the operator must decide, not us.
"""

from __future__ import annotations

import base64
import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path

import service.common.files as files
from onion.errors import OnionKeyError
from service.common.crypto.onion import OnionKeyMaterialError, new_onion_identity, onion_public_key
from service.common.errors import DeskStoreError

SECRET_FILE = "hs_ed25519_secret_key"  # noqa: S105 - a file name, not a secret
PUBLIC_FILE = "hs_ed25519_public_key"
HOSTNAME_FILE = "hostname"
SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
PUBLIC_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
ONION_VERSION = b"\x03"
ADDRESS_LEN = 56  # without ".onion"


@dataclass(frozen=True)
class OnionKey:
    """A v3 onion identity: the expanded secret key tor wants and the public key."""

    expanded: bytes
    public: bytes

    @property
    def address(self) -> str:
        """The 56-character service id, without ``.onion``."""
        return onion_address(self.public)

    @property
    def hostname(self) -> str:
        return self.address + ".onion"

    def tor_key_blob(self) -> str:
        """The key as ``ADD_ONION`` takes it: ``ED25519-V3:<base64 of the expanded key>``."""
        return "ED25519-V3:" + base64.b64encode(self.expanded).decode("ascii")

    def __repr__(self) -> str:
        # Never let the secret reach a traceback or a log line.
        return f"OnionKey({self.address})"


def onion_address(public_key: bytes) -> str:
    """The v3 address of a public key: base32(key || checksum || version), lowercase."""
    if len(public_key) != 32:
        raise OnionKeyError("An onion public key is 32 bytes.")
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + ONION_VERSION).digest()[:2]
    return base64.b32encode(public_key + checksum + ONION_VERSION).decode("ascii").lower()


def load_key(directory: Path) -> OnionKey:
    """Read a service's key directory; refuse anything malformed or readable by others."""
    secret_path = directory / SECRET_FILE
    try:
        info = secret_path.stat()
        raw = secret_path.read_bytes()
    except OSError:
        raise OnionKeyError(f"No readable onion key in {directory}.") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise OnionKeyError(f"The onion key in {directory} is readable by others (want 0600).")
    if len(raw) != len(SECRET_HEADER) + 64 or not raw.startswith(SECRET_HEADER):
        raise OnionKeyError(f"The onion key in {directory} is not a tor v3 secret key.")
    expanded = raw[len(SECRET_HEADER) :]
    try:
        public = onion_public_key(expanded)
    except OnionKeyMaterialError:
        raise OnionKeyError(f"The onion key in {directory} is not a valid key.") from None
    key = OnionKey(expanded, public)
    _check_companions(directory, key)
    return key


def _check_companions(directory: Path, key: OnionKey) -> None:
    # A public key or hostname that disagrees with the secret key means the directory was
    # assembled from two services: publishing it would show users the wrong address.
    public_path = directory / PUBLIC_FILE
    if public_path.exists() and public_path.read_bytes() != PUBLIC_HEADER + key.public:
        raise OnionKeyError(f"The public key in {directory} does not match its secret key.")
    hostname_path = directory / HOSTNAME_FILE
    if hostname_path.exists() and hostname_path.read_text("ascii").strip() != key.hostname:
        raise OnionKeyError(f"The hostname in {directory} does not match its key.")


def create_key(directory: Path) -> OnionKey:
    """Make a new identity in an empty or missing directory (never overwrites a key)."""
    ensure_private_dir(directory)
    if (directory / SECRET_FILE).exists():
        raise OnionKeyError(f"{directory} already holds an onion key.")
    expanded, public = new_onion_identity()
    key = OnionKey(expanded, public)
    # The secret goes last: a directory with a secret key is complete.
    write_private_file(directory / PUBLIC_FILE, PUBLIC_HEADER + public)
    write_private_file(directory / HOSTNAME_FILE, (key.hostname + "\n").encode("ascii"))
    write_private_file(directory / SECRET_FILE, SECRET_HEADER + expanded)
    return key


def load_or_create_key(directory: Path) -> tuple[OnionKey, bool]:
    """The service's key, created on first run. Returns (key, created)."""
    if (directory / SECRET_FILE).exists():
        return load_key(directory), False
    return create_key(directory), True


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) 0700, or refuse one that others can enter."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = directory.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # tor itself refuses a group- or world-accessible HiddenServiceDir, for this reason.
        raise OnionKeyError(f"{directory} is accessible by others (want 0700).")


def write_private_file(path: Path, data: bytes) -> None:
    """Write 0600 durably (service.common.files.replace: temp file, fsync, rename, fsync
    of the directory)."""
    try:
        files.replace(path, data)
    except DeskStoreError:
        raise OnionKeyError(f"{path} cannot be written.") from None


def fsync_dir(directory: Path) -> None:
    try:
        files.fsync_dir(directory)
    except DeskStoreError:
        raise OnionKeyError(f"{directory} cannot be made durable.") from None
