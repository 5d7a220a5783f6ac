"""Load, validate and query the coalition registry.

The registry is configuration, not code: organisations change, split and go into exile.
It may hold one coalition, several or all: a country no coalition names as its own goes to
a fallback. The server refuses to start if anything is off, because sealing a complaint to
the wrong key is worse than not taking it; it reads the registry again on SIGHUP and when
the file changes (``service.server.registry.reload``), keeping the last good one if the new
one is not valid.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from service.common.contract.statement import StatementError, parse_statement
from service.common.contract.vocabulary import COUNTRIES
from service.common.crypto.keys import fingerprint, key_id
from service.common.errors import RegistryError
from service.common.i18n import LANGUAGES
from service.server.registry.changes import ChangeFile, apply_changes
from service.server.registry.entries import CoalitionEntry as CoalitionEntry
from service.server.registry.entries import CourierCredential as CourierCredential
from service.server.registry.entries import DutyKeyEntry as DutyKeyEntry
from service.server.registry.entries import SealingKey as SealingKey
from service.server.registry.schemas import Coalition, RegistryFile

SUPPORTED_VERSION = 1


log = logging.getLogger("aryz")


@dataclass(frozen=True)
class Registry:
    coalitions: tuple[CoalitionEntry, ...]

    def get(self, coalition_id: str) -> CoalitionEntry | None:
        return next((c for c in self.coalitions if c.id == coalition_id), None)

    def signing_keys(self, coalition_id: str) -> Sequence[bytes]:
        """A coalition's signing keys, current first (none verifies for an unknown id)."""
        coalition = self.get(coalition_id)
        return coalition.signing_keys if coalition is not None else (bytes(32),)

    def courier(self, courier_key_id: bytes) -> tuple[CoalitionEntry, bytes] | None:
        """The coalition and verify key of a non-revoked courier credential, by key id."""
        for coalition in self.coalitions:
            verify_key = coalition.courier_keys.get(courier_key_id)
            if verify_key is not None:
                return coalition, verify_key
        return None

    def national(self, country: str) -> CoalitionEntry | None:
        """The coalition that names ``country`` as its own (a fallback may, too)."""
        return next((c for c in self.coalitions if country in c.countries), None)

    def receiver(self, country: str) -> CoalitionEntry | None:
        """Who gets a report "for the coalition of that country": the national body, or,
        for a country without one on this server, the first fallback."""
        return self.national(country) or next(iter(self.fallbacks), None)

    @property
    def uncovered(self) -> tuple[str, ...]:
        """Countries no coalition on this server names as its own (they go to a fallback)."""
        return tuple(code for code in COUNTRIES if self.national(code) is None)

    @property
    def fallbacks(self) -> tuple[CoalitionEntry, ...]:
        return tuple(c for c in self.coalitions if c.fallback)

    def missing_names(self) -> dict[str, list[str]]:
        """Coalition id → the site's languages its ``names`` lack (shown in a fallback)."""
        missing = {
            c.id: [lang for lang in LANGUAGES if lang not in c.names] for c in self.coalitions
        }
        return {cid: langs for cid, langs in missing.items() if langs}

    @property
    def international(self) -> tuple[CoalitionEntry, ...]:
        """Fallbacks that serve no country of their own: offered to everyone as the
        alternative to a national body."""
        return tuple(c for c in self.fallbacks if not c.countries)

    @property
    def has_demo_keys(self) -> bool:
        return any(c.demo for c in self.coalitions)

    def choices_for(self, country: str) -> list[CoalitionEntry]:
        """Who a submitter from ``country`` may send to: the national body, then fallbacks."""
        receiver = self.receiver(country)
        first = [receiver] if receiver else []
        return first + [c for c in self.fallbacks if c not in first]


def _entry(coalition: Coalition) -> CoalitionEntry:
    keys = []
    for k in coalition.keys:
        public = bytes.fromhex(k.public_key)
        fp = fingerprint(public)
        if k.fingerprint is not None and _squash(k.fingerprint) != _squash(fp):
            raise RegistryError(
                f"Coalition '{coalition.id}': a key's fingerprint does not match its key."
            )
        keys.append(SealingKey(k.epoch, public, key_id(public), fp))
    current = tuple(k for k, raw in zip(keys, coalition.keys, strict=True) if not raw.retired)
    if not current:
        raise RegistryError(f"Coalition '{coalition.id}' has no current key.")
    if len(current) > 8:
        raise RegistryError(f"Coalition '{coalition.id}' has more than 8 current keys.")
    if len({k.key_id for k in keys}) != len(keys):
        raise RegistryError(f"Coalition '{coalition.id}' lists the same key twice.")
    unknown = [c for c in coalition.countries if c not in COUNTRIES]
    if unknown:
        raise RegistryError(f"Coalition '{coalition.id}' names a country Aryz does not route.")
    couriers = tuple(
        CourierCredential(key_id(verify_key), verify_key, c.revoked)
        for c in coalition.couriers
        for verify_key in [bytes.fromhex(c.verify_key)]
    )
    if len({c.key_id for c in couriers}) != len(couriers):
        raise RegistryError(f"Coalition '{coalition.id}' lists the same courier key twice.")
    duty = tuple(
        DutyKeyEntry(d.epoch, bytes.fromhex(d.public_key), bytes.fromhex(d.ack_key), d.revoked)
        for d in coalition.duty
    )
    if len({d.epoch for d in duty}) != len(duty):
        raise RegistryError(f"Coalition '{coalition.id}' lists one duty epoch twice.")
    for d, raw in zip(duty, coalition.duty, strict=True):
        if raw.fingerprint is not None and _squash(raw.fingerprint) != _squash(d.fingerprint):
            raise RegistryError(
                f"Coalition '{coalition.id}': a duty key's fingerprint does not match its key."
            )
    # The duty key is online: it must be none of the keys that guard full cases or sign
    # for the desk, or losing the duty machine would lose more than urgent records.
    guarded = {bytes.fromhex(coalition.signing_key), *(k.public_key for k in keys)}
    guarded |= {c.verify_key for c in couriers}
    if any(d.public_key in guarded or d.verify_key in guarded for d in duty):
        raise RegistryError(
            f"Coalition '{coalition.id}': a duty key must be its own, not a desk or courier key."
        )
    return CoalitionEntry(
        id=coalition.id,
        names=dict(coalition.names),
        countries=tuple(coalition.countries),
        fallback=coalition.fallback,
        demo=coalition.demo,
        signing_key=bytes.fromhex(coalition.signing_key),
        current_keys=current,
        all_keys=tuple(keys),
        couriers=couriers,
        key_statement=coalition.key_statement,
        duty_keys=duty,
    )


def _check_statement(coalition: Coalition, entry: CoalitionEntry) -> None:
    """The statement must be the coalition's and say exactly what this entry says: a
    client seals only to the statement's keys, the server accepts only the entry's. It
    must be signed by the signing key in effect (after any rotation)."""
    assert coalition.key_statement is not None  # noqa: S101 - checked by the caller
    current, duty = entry.current_keys, entry.duty_keys
    try:
        statement = parse_statement(coalition.key_statement, entry.signing_key)
    except StatementError:
        raise RegistryError(
            f"Coalition '{coalition.id}': the key statement is not signed by its signing key "
            "(after a rotation: paste the statement the desk signed with the new key)."
        ) from None
    if (
        statement.coalition != coalition.id
        or sorted(statement.countries) != sorted(coalition.countries)
        or statement.fallback != coalition.fallback
        or sorted(statement.keys) != sorted((k.epoch, k.public_key) for k in current)
        # Every duty key in use must be one the desk named; the desk may still name one
        # the operator has since revoked, so a lost duty machine is cut off at once,
        # without waiting for the desk's next statement.
        or not {(d.epoch, d.public_key, d.verify_key) for d in duty if not d.revoked}
        <= set(statement.duty)
        or not set(statement.duty) <= {(d.epoch, d.public_key, d.verify_key) for d in duty}
    ):
        raise RegistryError(
            f"Coalition '{coalition.id}': the key statement does not match its current keys "
            "and countries (ask the desk for a new one: aryz desk statement)."
        )


def _squash(fp: str) -> str:
    return "".join(fp.split()).upper()


def parse_registry(text: str, changes: Sequence[ChangeFile] = ()) -> Registry:
    """Validate registry TOML text with the coalitions' signed ``changes`` applied
    (``service.server.registry.changes``). Error messages name coalition ids and change
    files (public), never keys."""

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"The registry is not valid TOML: {exc}") from None
    try:
        parsed = RegistryFile.model_validate(raw)
    except ValidationError as exc:
        where = "; ".join(
            ".".join(str(p) for p in err["loc"]) + ": " + err["msg"] for err in exc.errors()
        )
        raise RegistryError(f"The registry is not valid: {where}") from None
    if parsed.version != SUPPORTED_VERSION:
        raise RegistryError("The registry's version is not supported by this Aryz.")
    entries = tuple(_entry(c) for c in parsed.coalition)
    ids = [c.id for c in entries]
    if len(set(ids)) != len(ids):
        raise RegistryError("Two coalitions share one id.")
    entries = apply_changes(entries, changes)
    for entry in entries:
        # The courier credential lives on an online machine; if it were the signing key,
        # a seized courier laptop could forge status changes and replies.
        if any(c.verify_key in (entry.signing_key, *entry.signing_history) for c in entry.couriers):
            raise RegistryError(f"Coalition '{entry.id}' uses its signing key as a courier key.")
    # A courier key must name exactly one coalition, or its requests would be ambiguous.
    courier_ids = [c.key_id for entry in entries for c in entry.couriers]
    if len(set(courier_ids)) != len(courier_ids):
        raise RegistryError("Two coalitions share one courier key.")
    if not entries:
        raise RegistryError("The registry names no coalition.")
    registry = Registry(entries)
    # Any set of coalitions: one, several or all. A country is the own country of at most
    # one of them; a country with none goes to a fallback, so one must exist then (a
    # coalition may be both: its own countries, and the fallback for the rest).
    for country in COUNTRIES:
        if sum(1 for c in entries if country in c.countries) > 1:
            raise RegistryError(f"Country {country} is named by more than one coalition.")
    if registry.uncovered and not registry.fallbacks:
        raise RegistryError(
            "No coalition names "
            + ", ".join(registry.uncovered)
            + " and the registry has no fallback for them: set fallback = true on the "
            "coalition that should receive their reports (it may also keep its own countries)."
        )
    for coalition, entry in zip(parsed.coalition, entries, strict=True):
        if coalition.key_statement is not None:
            _check_statement(coalition, entry)
        elif entry.duty_keys:
            # A client checks the duty key's acknowledgements against the desk's word.
            raise RegistryError(
                f"Coalition '{coalition.id}': a duty key needs a key statement naming it."
            )
    return registry


def load_registry(path: Path, *, allow_demo: bool) -> Registry:
    """The registry at ``path`` with the changes in ``registry-changes/`` beside it."""
    from service.server.registry.changes import changes_dir, read_changes

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise RegistryError("The registry file cannot be read.") from None
    registry = parse_registry(text, read_changes(changes_dir(path)))
    for coalition_id, languages in registry.missing_names().items():
        # Public facts only (an id and language codes): the operator should ask the
        # coalition how it names itself in each (deploy/registry.example.toml).
        log.warning(
            "registry: coalition %s has no name in %s; pages show it in Russian or English",
            coalition_id,
            ", ".join(languages),
        )
    if registry.has_demo_keys and not allow_demo:
        raise RegistryError(
            "The registry holds demo keys, whose private halves are not on an air-gapped "
            "desk. Replace them with the coalitions' real keys before running in production."
        )
    return registry
