"""Rows of the desk store, decrypted: cases, items, entries and outgoing records.

Every function here reads or writes through a :class:`~service.desk.store.Store`; writes
must run inside ``store.transaction()``, which the caller opens so that one user action
(an item imported, a status set) is one transaction.

A case record (JSON, encrypted) holds: ``ref`` and ``reply_public_key`` (from the first
bundle that listed the case; never replaced), ``key_confirmed`` (an item's sealed metadata
named that key), ``server_status``/``server_seq`` (from the latest manifest), ``last_seq``
(the last sequence number used for this case, server's or ours), the desk's ``status``,
``priority``, ``assignee`` and ``tags``, what the answers say for filtering (``country``,
``language``, ``detained``, ``received_week``, ``questionnaire``) and item ``counts``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from service.common.clock import current_week
from service.common.contract.bundle import BundleCase
from service.common.contract.sealed_item import ITEM_TYPES as ITEM_TYPES
from service.common.contract.vocabulary import (
    DEFAULT_PRIORITY,
    INITIAL_STATUS,
    STATUSES,
)
from service.desk.errors import (
    CaseNotFoundError,
    CaseRefAmbiguousError,
    CaseRefTooShortError,
    DeskDamagedError,
)
from service.desk.store.database import Store, context

MIN_PREFIX = 6

_PREFIX = re.compile(r"^[0-9a-f]+$")


@dataclass
class CaseRow:
    id: int
    index: bytes
    record: dict[str, Any]

    @property
    def ref(self) -> str:
        return str(self.record["ref"])


@dataclass
class ItemRow:
    id: int
    index: bytes
    record: dict[str, Any]
    acked: bool

    @property
    def ref(self) -> str:
        return str(self.record["ref"])


def today() -> str:
    """The local date, for entries on the desk (encrypted; never sent anywhere)."""
    return dt.date.today().isoformat()


def new_case_record(case: BundleCase, first_week: str) -> dict[str, Any]:
    status = case.status if case.status in STATUSES else INITIAL_STATUS
    return {
        "ref": case.case,
        "reply_public_key": case.reply_public_key,
        "key_confirmed": False,
        "server_status": case.status,
        "server_seq": case.status_seq,
        "last_seq": case.status_seq,
        "status": status,
        "priority": DEFAULT_PRIORITY,
        "assignee": None,
        "tags": [],
        "country": None,
        "language": None,
        "detained": None,
        "received_week": None,
        "first_imported_week": first_week,
        "questionnaire": None,
        "counts": dict.fromkeys(ITEM_TYPES, 0),
    }


def case_by_ref(store: Store, ref: str) -> CaseRow | None:
    index = store.ref_index("case", ref)
    row = store.connection.execute(
        "SELECT id, record FROM cases WHERE ref_index = ?", (index,)
    ).fetchone()
    if row is None:
        return None
    return CaseRow(row[0], index, _open_case(store, index, row[1]))


def all_cases(store: Store) -> list[CaseRow]:
    rows = store.connection.execute("SELECT id, ref_index, record FROM cases ORDER BY id")
    return [CaseRow(i, index, _open_case(store, index, blob)) for i, index, blob in rows]


def check_prefix(prefix: str) -> str:
    """A CASE argument in canonical form: at least 6 hex digits, lowercase."""
    wanted = prefix.strip().lower()
    if len(wanted) < MIN_PREFIX or not _PREFIX.fullmatch(wanted):
        raise CaseRefTooShortError()
    return wanted


def resolve(store: Store, prefix: str) -> CaseRow:
    """The one case whose hex reference starts with ``prefix`` (at least 6 characters)."""
    wanted = check_prefix(prefix)
    # References are stored encrypted (see store.py), so a prefix means a scan.
    matches = [row for row in all_cases(store) if row.ref.startswith(wanted)]
    if not matches:
        raise CaseNotFoundError()
    if len(matches) > 1:
        raise CaseRefAmbiguousError()
    return matches[0]


def insert_case(store: Store, record: dict[str, Any]) -> CaseRow:
    index = store.ref_index("case", record["ref"])
    cursor = store.connection.execute(
        "INSERT INTO cases (ref_index, record) VALUES (?, ?)",
        (index, store.seal(record, context("cases", index))),
    )
    return CaseRow(_rowid(cursor.lastrowid), index, record)


def save_case(store: Store, case: CaseRow) -> None:
    store.connection.execute(
        "UPDATE cases SET record = ? WHERE id = ?",
        (store.seal(case.record, context("cases", case.index)), case.id),
    )


def items_of(store: Store, case: CaseRow) -> list[ItemRow]:
    rows = store.connection.execute(
        "SELECT id, ref_index, record, acked FROM items WHERE case_id = ? ORDER BY id",
        (case.id,),
    )
    return [
        ItemRow(i, index, store.unseal(blob, context("items", index)), bool(acked))
        for i, index, blob, acked in rows
    ]


def item_by_ref(store: Store, ref: str) -> ItemRow | None:
    index = store.ref_index("item", ref.strip().lower())
    row = store.connection.execute(
        "SELECT id, record, acked FROM items WHERE ref_index = ?", (index,)
    ).fetchone()
    if row is None:
        return None
    return ItemRow(row[0], index, store.unseal(row[1], context("items", index)), bool(row[2]))


def item_known(store: Store, ref: str) -> bool:
    index = store.ref_index("item", ref)
    found = store.connection.execute("SELECT 1 FROM items WHERE ref_index = ?", (index,))
    return found.fetchone() is not None


def add_entry(store: Store, case: CaseRow, kind: str, **fields: Any) -> None:
    """Append a note, history line or reply text to a case.

    Every entry says who wrote it (``by``: the staff member who unlocked the desk, by
    their entry id; None on a desk without named staff) and in which ISO week.
    """
    entry = {"kind": kind, "date": today(), "by": store.actor, "week": current_week(), **fields}
    store.connection.execute(
        "INSERT INTO entries (case_id, record) VALUES (?, ?)",
        (case.id, store.seal(entry, context("entries", case.index))),
    )


def entries_of(store: Store, case: CaseRow) -> list[dict[str, Any]]:
    rows = store.connection.execute(
        "SELECT record FROM entries WHERE case_id = ? ORDER BY id", (case.id,)
    )
    return [store.unseal(blob, context("entries", case.index)) for (blob,) in rows]


def add_outgoing(store: Store, case: CaseRow, body: dict[str, Any]) -> int:
    """Queue a record for the next outbox with the case's next sequence number.

    The number is fixed now, not at export: the order staff made changes in is the
    order the server applies them, and a failed export re-sends the same numbers.
    """
    seq = int(case.record["last_seq"]) + 1
    store.connection.execute(
        "INSERT INTO outgoing (case_id, seq, record) VALUES (?, ?, ?)",
        (case.id, seq, store.seal(body, context("outgoing", case.index, seq))),
    )
    case.record["last_seq"] = seq
    save_case(store, case)
    return seq


def outgoing_of(store: Store, case: CaseRow) -> list[tuple[int, dict[str, Any], bool]]:
    rows = store.connection.execute(
        "SELECT seq, record, exported FROM outgoing WHERE case_id = ? ORDER BY seq", (case.id,)
    )
    return [
        # exported: 1 sent, 2 applied; 0 waiting, 3 refused (service/desk/casework/resync.py)
        (seq, store.unseal(blob, context("outgoing", case.index, seq)), exported in (1, 2))
        for seq, blob, exported in rows
    ]


def _open_case(store: Store, index: bytes, blob: bytes) -> dict[str, Any]:
    record = store.unseal(blob, context("cases", index))
    if not isinstance(record, dict) or store.ref_index("case", str(record.get("ref"))) != index:
        # The record decrypted under this row's context, so this would be our own bug.
        raise DeskDamagedError()
    return record


def _rowid(value: int | None) -> int:
    if value is None:
        raise DeskDamagedError()
    return value
