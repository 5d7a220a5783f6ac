"""Named staff: who may open the desk, and the names written on its notes and history.

Each member has their own passphrase. ``keys.json`` (service/desk/store/keys.py, version 2)
holds one entry per member — a random id, an X25519 public key derived from the
member's passphrase, and the desk key sealed to it — and no name. Names live here, in
the encrypted store (``staff`` table, schema 3), so a seized laptop does not say who
works on the desk. The store keeps removed members too: their names stay on the
entries they wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.common.clock import current_week
from service.common.text import single_line
from service.desk.errors import StaffError
from service.desk.store.database import Store, context

MAX_NAME_CHARS = 60


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    added_by: str | None  # the name of whoever added them (None: the ceremony)
    added_week: str
    removed_week: str | None

    @property
    def active(self) -> bool:
        return self.removed_week is None


def check_name(name: str) -> str:
    """A staff name as typed: 1 to 60 characters, no control characters."""
    text = single_line(name)  # the untrusted-text policy: service/common/text.py
    if text is None or not 1 <= len(text) <= MAX_NAME_CHARS:
        raise StaffError()
    return text


def record_member(store: Store, member: str, name: str, added_by: str | None) -> None:
    """Write a new member's row; call inside :meth:`Store.transaction`."""
    if any(m.name.casefold() == name.casefold() and m.active for m in members(store)):
        raise StaffError()
    value = {"name": name, "added_by": added_by, "added_week": current_week(), "removed": None}
    store.connection.execute(
        "INSERT INTO staff (id, record) VALUES (?, ?)",
        (member, store.seal(value, _context(member))),
    )


def mark_removed(store: Store, member: str) -> None:
    row = store.connection.execute("SELECT record FROM staff WHERE id = ?", (member,)).fetchone()
    if row is None:
        raise StaffError()
    value = store.unseal(row[0], _context(member))
    value["removed"] = current_week()
    store.connection.execute(
        "UPDATE staff SET record = ? WHERE id = ?", (store.seal(value, _context(member)), member)
    )


def members(store: Store) -> list[StaffMember]:
    """Every member the desk ever had, in the order they were added."""
    rows = store.connection.execute("SELECT id, record FROM staff ORDER BY rowid").fetchall()
    out = []
    for member, blob in rows:
        value = store.unseal(blob, _context(member))
        out.append(
            StaffMember(
                member,
                str(value["name"]),
                value.get("added_by"),
                str(value["added_week"]),
                value.get("removed"),
            )
        )
    return out


def find(store: Store, name: str) -> StaffMember:
    """The active member called ``name`` (case does not matter)."""
    wanted = " ".join(name.split()).casefold()
    for member in members(store):
        if member.active and member.name.casefold() == wanted:
            return member
    raise StaffError()


def names(store: Store) -> dict[str, str]:
    """Member id -> name, for showing who wrote an entry."""
    return {m.id: m.name for m in members(store)}


def _context(member: str) -> bytes:
    return context("staff", member.encode("ascii"))
