"""v3 client authorisation for the staff onion: one X25519 key per coalition courier.

The service side is tor's own format, so the same files work with ``HiddenServiceDir``:
``<staff dir>/authorized_clients/<name>.auth`` holding ``descriptor:x25519:<BASE32 KEY>``.
Without a listed key a client cannot even decrypt the staff onion's descriptor, so the
courier API is unreachable to everyone else — not merely refused.

The private half is written once, for the courier machine, in tor's ``ClientOnionAuthDir``
format (``<address>:descriptor:x25519:<BASE32 KEY>``) and never kept on the server.
Revoking deletes the public file; the service must then be re-published (``aryz serve``
does that on SIGHUP, or restart it) so the next descriptor leaves the client out.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

import service.common.files as files
from onion.errors import ClientAuthError
from onion.keys import ensure_private_dir, fsync_dir, write_private_file
from service.common.crypto.onion import new_client_auth_keypair

CLIENTS_DIR = "authorized_clients"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_B32_KEY = re.compile(r"^[A-Z2-7]{52}$")
_PREFIX = "descriptor:x25519:"


@dataclass(frozen=True)
class ClientKey:
    """One authorised client: its name and X25519 public key (base32, as tor writes it)."""

    name: str
    public_b32: str


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        # The name becomes a file name: no separators, dots or upper case.
        raise ClientAuthError(
            "A client name is 1-63 lowercase letters, digits, '-' or '_', starting with a "
            "letter or digit."
        )
    return name


def clients_dir(staff_dir: Path) -> Path:
    return staff_dir / CLIENTS_DIR


def list_clients(staff_dir: Path) -> list[ClientKey]:
    """Every authorised client, sorted by name; a malformed file is an error, not skipped."""
    directory = clients_dir(staff_dir)
    if not directory.is_dir():
        return []
    clients = []
    for path in sorted(directory.glob("*.auth")):
        name = path.name.removesuffix(".auth")
        line = path.read_text("ascii", errors="replace").strip()
        key = line.removeprefix(_PREFIX)
        if not _NAME.match(name) or not line.startswith(_PREFIX) or not _B32_KEY.match(key):
            # Silently skipping would publish a staff onion without a courier expecting it.
            raise ClientAuthError(f"{path} is not a valid client authorisation file.")
        clients.append(ClientKey(name, key))
    return clients


def add_client(staff_dir: Path, staff_address: str, name: str, out: Path) -> ClientKey:
    """Authorise a new client; write its private key file to ``out`` (0600, never kept)."""
    check_name(name)
    directory = clients_dir(staff_dir)
    ensure_private_dir(directory)
    public_path = directory / f"{name}.auth"
    if public_path.exists():
        raise ClientAuthError("A client of that name is already authorised; revoke it first.")
    if out.exists():
        raise ClientAuthError("The output file exists already; it is never overwritten.")
    secret, public = new_client_auth_keypair()
    # The courier's file first: if writing it fails, nobody is authorised without a key.
    line = f"{staff_address}:{_PREFIX}{_b32(secret)}\n"
    with files.open_private(out) as courier_file:
        courier_file.write(line.encode("ascii"))
        files.sync(courier_file)
    client = ClientKey(name, _b32(public))
    write_private_file(public_path, f"{_PREFIX}{client.public_b32}\n".encode("ascii"))
    return client


def revoke_client(staff_dir: Path, name: str) -> None:
    check_name(name)
    path = clients_dir(staff_dir) / f"{name}.auth"
    try:
        path.unlink()
    except FileNotFoundError:
        raise ClientAuthError("No client of that name is authorised.") from None
    fsync_dir(path.parent)
