"""Rows of the desk store, decrypted: cases, items, entries and outgoing records.

Every function here reads or writes through a :class:`~service.desk.store.Store`; writes
must run inside ``store.transaction()``, which the caller opens so that one user action
(an item imported, a status set) is one transaction.

A case is a :class:`CaseRecord` (stored as JSON, encrypted); an item's record stays a
plain mapping of what its sealed metadata said (``ref``, ``type``, ``meta``, ``size``,
``sha256``, ``chunks`` …).

**The transaction rule.** Functions here never open or commit a transaction; the code
that acts for one user action does (``Desk`` methods in ``desk.py``, one imported item in
``service.desk.inbox.importer``, one export, one resync), with ``store.transaction()``,
and everything that action changes (the case record, its entries, its outgoing records)
commits together or not at all. Reads may run outside a transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field, fields
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
    TransferredCaseError,
)
from service.desk.store.database import Store, context

MIN_PREFIX = 6

_PREFIX = re.compile(r"^[0-9a-f]+$")


@dataclass
class CaseRecord:
    """What the desk knows of one case (stored as JSON, encrypted)."""

    ref: str  # from the first bundle that listed the case; never replaced
    reply_public_key: str  # hex; likewise pinned by the first bundle
    key_confirmed: bool = False  # an item's sealed metadata named that key
    server_status: str = INITIAL_STATUS  # from the latest manifest
    server_seq: int = 0
    last_seq: int = 0  # the last sequence number used for this case, server's or ours
    status: str = INITIAL_STATUS  # the desk's own triage …
    priority: str = DEFAULT_PRIORITY
    assignee: str | None = None
    tags: list[str] = field(default_factory=list)
    # … what the first answers say, for filtering (service.desk.inbox.importer):
    country: str | None = None
    language: str | None = None
    detained: str | None = None
    received_week: str | None = None
    first_imported_week: str | None = None
    questionnaire: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ITEM_TYPES, 0))
    facts: dict[str, Any] | None = None  # the statistics' cache (service.desk.stats.casework)
    restored_seq: int | None = None  # after a restore, until a resync (casework/resync.py)
    # Passed to this coalition (casework/transfer.py): nothing more is queued for the
    # case, and the statistics count it there, not here.
    transferred_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> CaseRecord:
        """A stored record; a key this code does not know, or a missing ``ref``, means the
        record was not written by this desk's code (``DeskDamagedError``)."""
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not set(data) <= names or "ref" not in data:
            raise DeskDamagedError()
        try:
            return cls(**data)
        except TypeError:
            raise DeskDamagedError() from None


@dataclass
class CaseRow:
    id: int
    index: bytes
    record: CaseRecord

    @property
    def ref(self) -> str:
        return self.record.ref


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


def new_case_record(case: BundleCase, first_week: str) -> CaseRecord:
    return CaseRecord(
        ref=case.case,
        reply_public_key=case.reply_public_key,
        server_status=case.status,
        server_seq=case.status_seq,
        last_seq=case.status_seq,
        status=case.status if case.status in STATUSES else INITIAL_STATUS,
        first_imported_week=first_week,
    )


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


def insert_case(store: Store, record: CaseRecord) -> CaseRow:
    index = store.ref_index("case", record.ref)
    cursor = store.connection.execute(
        "INSERT INTO cases (ref_index, record) VALUES (?, ?)",
        (index, store.seal(record.to_json(), context("cases", index))),
    )
    return CaseRow(_rowid(cursor.lastrowid), index, record)


def save_case(store: Store, case: CaseRow) -> None:
    store.connection.execute(
        "UPDATE cases SET record = ? WHERE id = ?",
        (store.seal(case.record.to_json(), context("cases", case.index)), case.id),
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
    if case.record.transferred_to is not None:
        # The server now files the case under another coalition and would refuse the
        # whole outbox for a record of ours about it.
        raise TransferredCaseError()
    seq = case.record.last_seq + 1
    store.connection.execute(
        "INSERT INTO outgoing (case_id, seq, record) VALUES (?, ?, ?)",
        (case.id, seq, store.seal(body, context("outgoing", case.index, seq))),
    )
    case.record.last_seq = seq
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


def _open_case(store: Store, index: bytes, blob: bytes) -> CaseRecord:
    record = CaseRecord.from_json(store.unseal(blob, context("cases", index)))
    if store.ref_index("case", record.ref) != index:
        # The record decrypted under this row's context, so this would be our own bug.
        raise DeskDamagedError()
    return record


def _rowid(value: int | None) -> int:
    if value is None:
        raise DeskDamagedError()
    return value
