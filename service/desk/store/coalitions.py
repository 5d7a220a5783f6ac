"""Other coalitions this desk may pass cases to, and the keys it seals them to.

The desk is air-gapped: it learns another coalition's keys from a file carried on the USB
stick — the server's ``registry.toml`` (public keys only) or that coalition's own entry —
and from that coalition's **signing fingerprint, read aloud** by phone or in person
(``aryz desk fingerprints`` on their desk, the line "signing"). The file alone is never
trusted: a seized server or a swapped stick could name its own keys. So the entry whose
signing key has the typed fingerprint is taken, its ``key_statement`` (signed by that key
on the other coalition's desk, ``service.common.contract.statement``) is checked, and
only the encryption keys the statement names are kept. A newer statement (after their
rotation) replaces an older one; an older one is refused.

Stored in the desk's encrypted store (``meta`` ``coalitions``): the id, the signing key,
the statement's serial, countries and keys, and the names the file gave (for messages
only; the family's page names the coalition from the server's registry).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.common.contract.statement import StatementError, parse_statement
from service.common.crypto.keys import fingerprint
from service.desk.errors import CoalitionError
from service.desk.store.database import Store

META = "coalitions"
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class KnownCoalition:
    id: str
    signing_key: bytes
    serial: int
    countries: tuple[str, ...]
    keys: tuple[tuple[int, bytes], ...]  # (epoch, X25519 public key) to seal to
    name: str | None  # English (or first) name from the file, for the desk's messages

    @property
    def recipients(self) -> list[bytes]:
        return [public for _epoch, public in self.keys]

    @property
    def signing_fingerprint(self) -> str:
        return fingerprint(self.signing_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "signing_key": self.signing_key.hex(),
            "serial": self.serial,
            "countries": list(self.countries),
            "keys": [[e, k.hex()] for e, k in self.keys],
            "name": self.name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KnownCoalition:
        return cls(
            id=str(data["id"]),
            signing_key=bytes.fromhex(data["signing_key"]),
            serial=int(data["serial"]),
            countries=tuple(data["countries"]),
            keys=tuple((int(e), bytes.fromhex(k)) for e, k in data["keys"]),
            name=data.get("name"),
        )


def known(store: Store) -> dict[str, KnownCoalition]:
    stored = store.get_meta(META) or {}
    return {cid: KnownCoalition.from_json(value) for cid, value in stored.items()}


def get(store: Store, coalition_id: str) -> KnownCoalition | None:
    return known(store).get(coalition_id)


def _squash(text: str) -> str:
    return "".join(text.split()).upper()


def read_entry(path: Path, typed_fingerprint: str, own: str) -> KnownCoalition:
    """The coalition in ``path`` whose signing key has ``typed_fingerprint``, checked."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_FILE_BYTES:
            raise CoalitionError("That file is too large to be a registry.")
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise CoalitionError("That file cannot be read as a registry (TOML).") from None
    wanted = _squash(typed_fingerprint)
    if len(wanted) != 64:
        raise CoalitionError("A signing fingerprint is 64 hex digits (16 groups of 4).")
    entries = data.get("coalition", [])
    if not isinstance(entries, list):
        raise CoalitionError("That file holds no [[coalition]] entry.")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        try:
            signing_key = bytes.fromhex(str(entry.get("signing_key", "")))
            if len(signing_key) != 32 or _squash(fingerprint(signing_key)) != wanted:
                continue
        except ValueError:
            continue
        statement_text = entry.get("key_statement")
        if not isinstance(statement_text, str):
            raise CoalitionError(
                "That coalition's entry has no key statement: ask for its key-statement.toml."
            )
        try:
            statement = parse_statement(statement_text, signing_key)
        except StatementError:
            raise CoalitionError(
                "That coalition's key statement is not signed by the key you confirmed."
            ) from None
        if statement.coalition != entry.get("id"):
            raise CoalitionError("The key statement names another coalition than its entry.")
        if statement.coalition == own:
            raise CoalitionError("That is this desk's own coalition.")
        names = entry.get("names")
        name = None
        if isinstance(names, dict):
            chosen = names.get("en") or next(iter(names.values()), None)
            name = str(chosen) if chosen else None
        return KnownCoalition(
            id=statement.coalition,
            signing_key=signing_key,
            serial=statement.serial,
            countries=statement.countries,
            keys=statement.keys,
            name=name,
        )
    raise CoalitionError(
        "No coalition in that file has the signing fingerprint you typed. Nothing was added."
    )


def add(store: Store, coalition: KnownCoalition) -> bool:
    """Remember ``coalition`` (inside the caller's transaction); False when the same or a
    newer statement of it is already known."""
    stored = dict(store.get_meta(META) or {})
    before = stored.get(coalition.id)
    if before is not None:
        old = KnownCoalition.from_json(before)
        # A changed signing key (their rotation after a theft) was just confirmed by its
        # new fingerprint; under the same key, serials only grow.
        if old.signing_key == coalition.signing_key:
            if old.serial > coalition.serial:
                raise CoalitionError(
                    "This desk already holds a newer key statement of that coalition."
                )
            if old.serial == coalition.serial:
                return False
    stored[coalition.id] = coalition.to_json()
    store.set_meta(META, stored)
    return True
