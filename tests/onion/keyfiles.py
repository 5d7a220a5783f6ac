"""Reading onion addresses and client key files back, for the tests: the server and the
courier never need to (tor reads the client file itself), so this is not product code."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from onion.clients import _B32_KEY, _PREFIX
from onion.errors import ClientAuthError, OnionKeyError
from onion.keys import ADDRESS_LEN, ONION_VERSION, onion_address


def public_key_of_address(address: str) -> bytes:
    """Parse ``<56 chars>[.onion]``, checking its checksum and version."""
    service_id = address.strip().lower().removesuffix(".onion")
    if len(service_id) != ADDRESS_LEN:
        raise OnionKeyError("That is not a v3 onion address.")
    try:
        raw = base64.b32decode(service_id.upper())
    except ValueError:
        raise OnionKeyError("That is not a v3 onion address.") from None
    public = raw[:32]
    if raw[34:] != ONION_VERSION or onion_address(public) != service_id:
        raise OnionKeyError("That onion address has a wrong checksum or version.")
    return public


def read_client_private_file(path: Path) -> tuple[str, str]:
    """Parse a courier's ``.auth_private`` file: (service id, base32 X25519 secret)."""
    try:
        line = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise ClientAuthError("The client key file cannot be read.") from None
    address, sep, rest = line.partition(":")
    key = rest.removeprefix(_PREFIX)
    if not sep or not rest.startswith(_PREFIX) or not _B32_KEY.match(key):
        raise ClientAuthError("The client key file is not in tor's .auth_private format.")
    if not re.fullmatch(r"[a-z2-7]{56}", address):
        raise ClientAuthError("The client key file does not name a v3 onion address.")
    return address, key
