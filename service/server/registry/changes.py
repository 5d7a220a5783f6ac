"""Apply the coalitions' signed registry changes on top of ``registry.toml``.

The changes live as files in ``registry-changes/`` next to the registry (one per change,
any name ending in ``.json``; ``service.common.contract.registry_change`` has the format).
They are read with the registry at start, on SIGHUP and whenever the folder or the file
changes (``service.server.registry.reload``), and applied coalition by coalition:

1. the changes its signing key signed, in serial order, each serial once;
2. a change that names a new signing key ends the old key's run: from then on only the
   new key's changes count (numbered from 1), and the old key is kept in the coalition's
   signing history, so answers it signed before stay verifiable;
3. an operator's acceptance of a new key (the old one was lost with the desk) does the
   same after the old key's change ``after_serial``.

Anything that does not fit — a change no key in the chain signed, a serial seen twice, a
courier added twice or revoked without being there, a change that would leave the
coalition without any courier — refuses the whole registry with a message naming the
file and the coalition (never a key): at start the server does not start, on a reload
it keeps the registry it has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from service.common.contract.registry_change import (
    MAX_BYTES,
    Acceptance,
    RegistryChangeError,
    SignedChange,
    parse,
)
from service.common.crypto.keys import key_id
from service.common.errors import RegistryError
from service.server.registry.entries import CoalitionEntry, CourierCredential

CHANGES_DIR = "registry-changes"


@dataclass(frozen=True)
class ChangeFile:
    name: str
    item: SignedChange | Acceptance
    text: str


def changes_dir(registry_path: Path) -> Path:
    return registry_path.parent / CHANGES_DIR


def read_changes(folder: Path) -> list[ChangeFile]:
    """Every ``*.json`` change in ``folder`` (none if it does not exist), parsed."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_BYTES + 1)
            item = parse(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError, RegistryChangeError):
            raise RegistryError(
                f"{CHANGES_DIR}/{path.name} cannot be read or is not a registry change."
            ) from None
        found.append(ChangeFile(path.name, item, raw.decode("utf-8")))
    return found


def apply_changes(
    entries: Sequence[CoalitionEntry], files: Iterable[ChangeFile]
) -> tuple[CoalitionEntry, ...]:
    """``entries`` with every change applied, or :class:`RegistryError`."""
    by_coalition: dict[str, list[ChangeFile]] = {e.id: [] for e in entries}
    for f in files:
        if f.item.coalition not in by_coalition:
            raise RegistryError(f"{f.name}: names a coalition the registry does not have.")
        by_coalition[f.item.coalition].append(f)
    return tuple(_apply(e, by_coalition[e.id]) if by_coalition[e.id] else e for e in entries)


def _apply(entry: CoalitionEntry, files: list[ChangeFile]) -> CoalitionEntry:
    key, history, last = entry.signing_key, list(entry.signing_history), 0
    couriers = list(entry.couriers)
    rotations = list(entry.rotations)
    signed = [f for f in files if isinstance(f.item, SignedChange)]
    acceptances = [f for f in files if isinstance(f.item, Acceptance)]
    used: set[str] = set()
    while True:
        accepted = [a for a in acceptances if _replaces(a) == key]
        if len(accepted) > 1:
            raise RegistryError(
                f"{accepted[1].name}: a second acceptance replacing the same signing key of "
                f"coalition '{entry.id}'."
            )
        limit = _after(accepted[0]) if accepted else None
        mine = sorted(
            (f for f in signed if f.name not in used and _change(f).signed_by(key)),
            key=lambda f: _change(f).change.serial,
        )
        new_key: bytes | None = None
        for f in mine:
            change = _change(f).change
            if limit is not None and change.serial > limit:
                raise RegistryError(
                    f"{f.name}: signed by a signing key of coalition '{entry.id}' that the "
                    "operator has replaced; not applied."
                )
            if change.serial <= last:
                raise RegistryError(
                    f"{f.name}: change {change.serial} of coalition '{entry.id}' is already "
                    "applied (a copy or a replay; a desk restored from a backup makes it "
                    "again with --serial, one more than aryz registry check shows)."
                )
            couriers = _couriers(entry.id, f.name, couriers, change.couriers_added,
                                 change.couriers_revoked)  # fmt: skip
            used.add(f.name)
            last = change.serial
            if change.signing_key is not None:
                new_key = change.signing_key
                rotations.append(f.text)
                break
        if new_key is None and accepted:
            new_key = _accepted(accepted[0])
            acceptances.remove(accepted[0])
        if new_key is None:
            break
        if new_key == key or new_key in history:
            raise RegistryError(
                f"Coalition '{entry.id}': a change goes back to a signing key it had before."
            )
        history.append(key)
        key, last = new_key, 0
    leftover = [f.name for f in signed if f.name not in used] + [a.name for a in acceptances]
    if leftover:
        raise RegistryError(
            f"{leftover[0]}: not signed by the signing key coalition '{entry.id}' has at that "
            "point (a key it has since replaced, another coalition's, or a missing earlier "
            "change); nothing was applied."
        )
    return replace(
        entry,
        signing_key=key,
        signing_history=tuple(history),
        couriers=tuple(couriers),
        rotations=tuple(rotations),
        change_serial=last,
    )


def _couriers(
    coalition: str,
    name: str,
    couriers: list[CourierCredential],
    added: Sequence[bytes],
    revoked: Sequence[bytes],
) -> list[CourierCredential]:
    known = {c.verify_key: c for c in couriers}
    for verify_key in added:
        if verify_key in known:
            raise RegistryError(
                f"{name}: adds a courier key coalition '{coalition}' already has or had."
            )
    for verify_key in revoked:
        if verify_key not in known or known[verify_key].revoked:
            raise RegistryError(
                f"{name}: revokes a courier key coalition '{coalition}' does not have."
            )
    result = [replace(c, revoked=True) if c.verify_key in revoked else c for c in couriers]
    result += [CourierCredential(key_id(k), k, revoked=False) for k in added]
    # The coalition is never locked out by its own hand: a change that revokes its last
    # courier must issue the next one (the desk refuses before it signs, too).
    if not any(not c.revoked for c in result):
        raise RegistryError(
            f"{name}: would leave coalition '{coalition}' without any courier credential; "
            "not applied (issue a new one in the same change)."
        )
    return result


def _change(f: ChangeFile) -> SignedChange:
    assert isinstance(f.item, SignedChange)  # noqa: S101 - filtered by the caller
    return f.item


def _replaces(f: ChangeFile) -> bytes:
    assert isinstance(f.item, Acceptance)  # noqa: S101 - filtered by the caller
    return f.item.replaces


def _after(f: ChangeFile) -> int:
    assert isinstance(f.item, Acceptance)  # noqa: S101 - filtered by the caller
    return f.item.after_serial


def _accepted(f: ChangeFile) -> bytes:
    assert isinstance(f.item, Acceptance)  # noqa: S101 - filtered by the caller
    return f.item.signing_key
