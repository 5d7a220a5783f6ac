"""Receipts and resynchronisation: the desk learns what the server applied, per record.

Each outgoing record (``outgoing`` row) has a state in ``outgoing.exported``:

    0  PENDING   waiting for the next outbox
    1  SENT      written to the outbox ``outgoing.outbox`` (its SHA-256); no answer yet
    2  APPLIED   the server applied it (a receipt, or a later sequence number, says so)
    3  REFUSED   the outbox holding it was refused or lost: the next export sends it again

What the desk learns comes from **receipts** (``aryz courier push`` writes the server's
answer next to the outbox; ``aryz desk receipt`` imports it) and from each bundle's
manifest (every listed case's ``status_seq``). Both end in :func:`learn`: the server has
applied exactly the sequence numbers ``1..S`` of a case. Then

- every record of this desk numbered ``<= S`` is applied — the server only ever got this
  desk's records for these numbers (also when an export crashed after writing its file);
- after a refusal, every record above ``S`` that was sent is not applied: all of them go
  into the next export again, with the same numbers (so identical records, and the
  family sees each reply once);
- a desk **restored** from a backup knows its numbers only up to the backup
  (``restored_seq`` in the case record). The lost laptop may have used the numbers
  between that and ``S`` for other records, so this desk's records there are moved above
  ``S`` (renumbered, re-sealed, their reply history following) instead of being taken
  for applied. From then on the case continues from ``S``.

So an outbox pushed twice, out of order or never no longer wedges a case: a refused one
comes back in the next export; a lost one with ``aryz desk export --again``.

A receipt is not signed (the server holds no coalition key): a courier who forges one can
make the desk believe a record was applied, which is no more than what dropping the
outbox already does; the next bundle's manifest tells the truth for its cases.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import service.desk.casework.cases as cases
from service.common.contract.receipt import MAX_BYTES, ReceiptError, decode
from service.desk.store.database import Store, context

PENDING, SENT, APPLIED, REFUSED = 0, 1, 2, 3
STATE_NAMES = {
    PENDING: "waiting for export",
    SENT: "sent, no receipt yet",
    APPLIED: "applied on the server",
    REFUSED: "refused or lost: goes into the next export again",
}


@dataclass(frozen=True)
class ReceiptReport:
    applied: int  # records now known applied
    resend: int  # records that go into the next export again
    renumbered: int  # records of a restored desk moved above the server's numbers
    known: bool = True  # False: an outbox this desk did not write; only numbers were taken


def outbox_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def import_receipt(store: Store, coalition: str, path: Path) -> ReceiptReport:
    """Apply what a receipt says to this desk's records (one transaction)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError:
        raise ReceiptError() from None
    if len(data) > MAX_BYTES:
        raise ReceiptError()
    receipt = decode(data, coalition)
    digest = bytes.fromhex(receipt.outbox)
    totals = [0, 0, 0]
    with store.transaction() as db:
        found = db.execute("SELECT count(*) FROM outgoing WHERE outbox = ?", (digest,))
        known = bool(found.fetchone()[0])
        # An outbox this desk did not write (the lost laptop's, seen by a restored desk):
        # its refusal says nothing about our records, but the server's numbers still hold.
        refused = known and not receipt.applied
        if refused:
            db.execute(
                "UPDATE outgoing SET exported = ? WHERE outbox = ? AND exported = ?",
                (REFUSED, digest, SENT),
            )
        for ref, seq in receipt.cases.items():
            case = cases.case_by_ref(store, ref)
            if case is None:
                continue
            report = learn(store, case, seq, refused=refused)
            totals = [a + b for a, b in zip(totals, report, strict=True)]
            cases.save_case(store, case)
        if receipt.applied:
            db.execute("UPDATE outgoing SET exported = ? WHERE outbox = ?", (APPLIED, digest))
    applied, resend, renumbered = totals
    return ReceiptReport(applied, resend, renumbered, known)


def learn(
    store: Store, case: cases.CaseRow, server_seq: int, *, refused: bool = False
) -> list[int]:
    """The server applied this case's records ``1..server_seq``; bring the desk in line.

    Call inside a transaction; the caller saves ``case``. Returns [applied, resend,
    renumbered] counts.
    """
    record = case.record
    restored = record.restored_seq
    rows = store.connection.execute(
        "SELECT id, seq, exported FROM outgoing WHERE case_id = ? ORDER BY seq", (case.id,)
    ).fetchall()
    applied, resend, move = [], [], []
    for row_id, seq, state in rows:
        ours = restored is None or seq <= int(restored)
        if seq <= server_seq:
            if ours:
                if state != APPLIED:
                    applied.append(row_id)
            elif state != APPLIED:
                move.append(row_id)
        elif refused and state in (SENT, REFUSED):
            resend.append(row_id)
    db = store.connection
    db.executemany("UPDATE outgoing SET exported = ? WHERE id = ?", [(APPLIED, i) for i in applied])
    db.executemany("UPDATE outgoing SET exported = ? WHERE id = ?", [(REFUSED, i) for i in resend])
    last = max(record.last_seq, server_seq)
    if move:
        last = _renumber(store, case, move, server_seq)
    record.last_seq = last
    record.server_seq = max(record.server_seq, server_seq)
    if restored is not None:
        # From now on every number this desk uses is beyond what the server has.
        record.restored_seq = None
    return [len(applied), len(resend), len(move)]


def _renumber(store: Store, case: cases.CaseRow, row_ids: list[int], server_seq: int) -> int:
    """Move these records (and every later unapplied one) above ``server_seq``, in order."""
    db = store.connection
    rows = db.execute(
        "SELECT id, seq, record FROM outgoing WHERE case_id = ? AND exported <> ? ORDER BY seq",
        (case.id, APPLIED),
    ).fetchall()
    first = min(seq for row_id, seq, _ in rows if row_id in set(row_ids))
    moving = [(row_id, seq, blob) for row_id, seq, blob in rows if seq >= first]
    bodies = [
        (seq, store.unseal(blob, context("outgoing", case.index, seq))) for _, seq, blob in moving
    ]
    db.executemany("DELETE FROM outgoing WHERE id = ?", [(row_id,) for row_id, _, _ in moving])
    mapping: dict[int, int] = {}
    next_seq = server_seq
    for old, body in bodies:
        next_seq += 1
        mapping[old] = next_seq
        db.execute(
            "INSERT INTO outgoing (case_id, seq, record, exported) VALUES (?, ?, ?, ?)",
            (
                case.id,
                next_seq,
                store.seal(body, context("outgoing", case.index, next_seq)),
                PENDING,
            ),
        )
    _follow_replies(store, case, mapping)
    return next_seq


def _follow_replies(store: Store, case: cases.CaseRow, mapping: dict[int, int]) -> None:
    """Reply history lines name their record's number: keep them pointing at it."""
    db = store.connection
    rows = db.execute("SELECT id, record FROM entries WHERE case_id = ?", (case.id,)).fetchall()
    for entry_id, blob in rows:
        entry: dict[str, Any] = store.unseal(blob, context("entries", case.index))
        seq = entry.get("seq")
        if entry.get("kind") in ("reply", "history") and isinstance(seq, int) and seq in mapping:
            if entry.get("kind") == "history" and entry.get("event") != "reply":
                continue
            entry["seq"] = mapping[seq]
            db.execute(
                "UPDATE entries SET record = ? WHERE id = ?",
                (store.seal(entry, context("entries", case.index)), entry_id),
            )


def send_again(store: Store) -> int:
    """``export --again``: every sent record without a receipt goes into the next export."""
    with store.transaction() as db:
        cursor = db.execute("UPDATE outgoing SET exported = ? WHERE exported = ?", (REFUSED, SENT))
        return cursor.rowcount


def mark_restored(store: Store) -> None:
    """After a restore: each case's numbers are known only up to the backup."""
    for case in cases.all_cases(store):
        case.record.restored_seq = case.record.last_seq
        cases.save_case(store, case)


@dataclass(frozen=True)
class RecordView:
    seq: int
    type: str
    state: str  # one of STATE_NAMES' values
    code: int = PENDING  # the state: PENDING, SENT, APPLIED or REFUSED


def records_of(store: Store, case: cases.CaseRow) -> list[RecordView]:
    rows = store.connection.execute(
        "SELECT seq, record, exported FROM outgoing WHERE case_id = ? ORDER BY seq", (case.id,)
    )
    return [
        RecordView(
            seq,
            str(store.unseal(blob, context("outgoing", case.index, seq)).get("type")),
            STATE_NAMES.get(state, "?"),
            state,
        )
        for seq, blob, state in rows
    ]
