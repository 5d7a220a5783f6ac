"""Which coalition keys this client seals to: only ones the coalition itself signed.

The server's ``/api/v1/info`` names each coalition's encryption keys, but a seized or
adversary-run server could name its own (audit F-02). So the client seals only to the keys
of a desk-signed key statement (``service.common.contract.statement``), and accepts the statement's
signing key only when its fingerprint is one the person already holds, in this order:

1. ``--trust FINGERPRINT`` given on the command line (out of band, from the coalition);
2. the fingerprints shipped with this client (``pinned.toml`` in this package);
3. a fingerprint trusted on first use: shown, confirmed by the person, and remembered in
   their local trust file with the highest statement serial seen.

Anything else is refused before a byte is sealed, and the refusal names the fingerprint
that was expected. The same pinned key checks the desk's signatures on statuses and
replies (``aryz status``, ``service.common.contract.signed``).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.common.contract.registry_change import RegistryChangeError, SignedChange, follow, parse
from service.common.contract.statement import KeyStatement, StatementError, parse_statement
from service.common.crypto.keys import fingerprint
from service.common.errors import AryzError

PINNED_FILE = Path(__file__).with_name("pinned.toml")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
TRUST_FILE_ENV = "ARYZ_TRUST_FILE"


class TrustError(AryzError):
    code = "trust"
    message = "The server's keys for this coalition are not ones this client trusts."


class NotPinnedError(TrustError):
    """No fingerprint is held for the coalition and the person did not trust this one."""


def safe_id(value: object) -> str:
    """A coalition id from the server, fit to print (it may hold terminal escapes)."""
    text = str(value)
    return text if _ID.fullmatch(text) else "(an invalid coalition id)"


def squash(text: str) -> str:
    """A fingerprint as 64 uppercase hex digits, whatever spacing it was given with."""
    return "".join(text.split()).upper()


def spaced(squashed: str) -> str:
    return " ".join(squashed[i : i + 4] for i in range(0, len(squashed), 4))


def default_trust_file() -> Path:
    configured = os.environ.get(TRUST_FILE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aryz" / "trusted-coalitions.json"


def load_pins(path: Path = PINNED_FILE) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        raise TrustError("The client's pinned-fingerprints file cannot be read.") from None
    return {str(k): squash(str(v)) for k, v in dict(data.get("pins", {})).items()}


# Asked when a coalition is not pinned yet: (coalition id, spaced fingerprint) -> trust it?
Confirm = Callable[[str, str], bool]


def never(_coalition: str, _fingerprint: str) -> bool:
    return False


@dataclass
class Trust:
    """The fingerprints this person trusts, and where first-use trust is remembered."""

    given: tuple[str, ...] = ()
    pinned: dict[str, str] = field(default_factory=load_pins)
    store: Path | None = None
    confirm: Confirm = never

    def _remembered(self) -> dict[str, Any]:
        if self.store is None or not self.store.exists():
            return {}
        try:
            data = json.loads(self.store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise TrustError("The trust file cannot be read; fix or remove it.") from None
        return dict(data) if isinstance(data, dict) else {}

    def _remember(self, coalition: str, squashed: str, serial: int) -> None:
        if self.store is None:
            return
        data = self._remembered()
        data[coalition] = {"fingerprint": squashed, "serial": serial}
        self.store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.store.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        temporary.chmod(0o600)
        temporary.replace(self.store)

    def signing_key(self, coalition: dict[str, Any]) -> bytes:
        """The coalition's signing key from the server, once its fingerprint is trusted."""
        cid = safe_id(coalition.get("id", ""))
        try:
            key = bytes.fromhex(str(coalition.get("signing_key") or ""))
            actual = squash(fingerprint(key))
        except (ValueError, TypeError):
            raise TrustError(
                f"The server gives no signing key for coalition {cid}; nothing was sealed."
            ) from None
        given = [squash(g) for g in self.given]
        remembered = self._remembered().get(cid, {})
        expected = (
            given
            or ([self.pinned[cid]] if cid in self.pinned else [])
            or ([str(remembered["fingerprint"])] if "fingerprint" in remembered else [])
        )
        if expected and actual not in expected and not self._rotated_to(coalition, key, expected):
            raise TrustError(
                f"REFUSED: the server's keys for coalition {cid} are signed by a key this "
                f"client does not trust. Expected fingerprint: {spaced(expected[0])}. "
                f"The server offered: {spaced(actual)}. Nothing was sealed or sent; the "
                "server may be under someone else's control."
            )
        if not expected and not self.confirm(cid, spaced(actual)):
            raise NotPinnedError(
                f"Coalition {cid} is not pinned on this computer. Its signing-key fingerprint, "
                f"as this server gives it, is: {spaced(actual)}. Check it with the coalition "
                "by another channel, then run again with --trust followed by that fingerprint."
            )
        return key

    def _rotated_to(self, coalition: dict[str, Any], key: bytes, expected: list[str]) -> bool:
        """True when the coalition's signed rotations lead from a trusted key to ``key``
        (a desk rotated its signing key after a theft: ``aryz desk rotate --signing``)."""
        return key in self.signing_keys_from(coalition, expected)

    def signing_keys_from(self, coalition: dict[str, Any], expected: list[str]) -> list[bytes]:
        rotations = [r for r in coalition.get("signing_rotations") or [] if isinstance(r, str)]
        candidates = {k for text in rotations for k in _keys_named(text)}
        start = [k for k in candidates if squash(fingerprint(k)) in expected]
        return follow(rotations, start) if start else []

    def signing_keys(self, coalition: dict[str, Any]) -> list[bytes]:
        """The coalition's current signing key (trusted as :meth:`signing_key` says), then
        the older ones its rotations vouch for: what they signed before stays verified."""
        key = self.signing_key(coalition)
        chain = self.signing_keys_from(coalition, [squash(fingerprint(key))])
        return [key, *(k for k in reversed(chain) if k != key)]

    def statement(self, coalition: dict[str, Any]) -> KeyStatement:
        """The coalition's keys and countries as its desk signed them, or a refusal."""
        cid = safe_id(coalition.get("id", ""))
        key = self.signing_key(coalition)
        text = coalition.get("key_statement")
        if not isinstance(text, str):
            raise TrustError(
                f"The server gives no signed key statement for coalition {cid}; "
                "refusing to seal to keys only the server vouches for."
            )
        try:
            statement = parse_statement(text, key)
        except StatementError:
            raise TrustError(
                f"The key statement for coalition {cid} is not signed by its trusted key; "
                "nothing was sealed."
            ) from None
        if statement.coalition != cid:
            raise TrustError(f"The key statement the server gives for {cid} is another's.")
        seen = int(self._remembered().get(cid, {}).get("serial", 0))
        if statement.serial < seen:
            raise TrustError(
                f"The server gives an older key statement for coalition {cid} than this "
                "computer has seen (keys from before a rotation); nothing was sealed."
            )
        self._remember(cid, squash(fingerprint(key)), max(seen, statement.serial))
        return statement


def _keys_named(text: str) -> list[bytes]:
    try:
        item = parse(text)
    except RegistryChangeError:
        return []
    if not isinstance(item, SignedChange) or item.change.signing_key is None:
        return []
    return [item.change.signer, item.change.signing_key]
