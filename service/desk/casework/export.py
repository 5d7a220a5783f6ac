"""Write an outbox: every pending status change and reply, and acknowledgements.

Order of work, so that nothing is lost or sent twice:

1. One transaction queues, per case, an ``imported`` record for the items imported
   since the last export (the server keeps them, sealed, for its retention window) and
   an ``ack`` record for the items a desk backup now holds (service/desk/store/backup.py: the
   server may delete them), each with the case's next sequence number.
2. Every record not yet exported is signed into one outbox (``service.common.contract.outbox``)
   and written durably: temporary file, fsync, rename, fsync of the folder.
3. Only then one transaction marks those records exported.

If step 2 fails (full USB stick, stick pulled), nothing is marked and the next export
sends the same records with the same sequence numbers. The window between 2 and 3 is a
crash right after the rename: the next export would repeat records the server may have
applied from the first file, and the server refuses the repeat as a replay; deliver the
first file. Sequence numbers per case are consecutive from the server's ``status_seq``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import service.common.files as files
import service.desk.casework.cases as cases
import service.desk.casework.transfer as transfer
from service.common.contract.outbox import Record, encode, transfer_record
from service.desk.casework.resync import PENDING, REFUSED, SENT, outbox_digest
from service.desk.errors import OutboxPathError
from service.desk.store.database import Store, context
from service.desk.store.keys import Keyring


@dataclass(frozen=True)
class ExportReport:
    """``path`` is None when there was nothing to send (no file is written then)."""

    path: Path | None
    records: int
    cases: int


def export_outbox(store: Store, keyring: Keyring, path: Path) -> ExportReport:
    """Write every pending record to a new outbox file at ``path``."""
    if path.exists() or path.is_symlink() or not path.parent.is_dir():
        # Never overwrite: an earlier outbox at that path may not be delivered yet.
        raise OutboxPathError()
    _queue_acks(store)
    pending = _pending(store, keyring.coalition)
    if not pending:
        return ExportReport(None, 0, 0)
    records = [record for _id, _case, record in pending]
    data = encode(keyring.coalition, records, keyring.signing_seed)
    files.replace(path, data)
    digest = outbox_digest(data)
    touched: dict[int, list[str]] = {}
    with store.transaction() as db:
        db.executemany(
            "UPDATE outgoing SET exported = ?, outbox = ? WHERE id = ?",
            [(SENT, digest, i) for i, _c, _r in pending],
        )
        for _id, case_id, record in pending:
            touched.setdefault(case_id, []).append(record.type)
        for case in cases.all_cases(store):
            if case.id in touched:
                cases.add_entry(store, case, "history", event="exported", types=touched[case.id])
    return ExportReport(path, len(records), len(touched))


def _queue_acks(store: Store) -> None:
    with store.transaction() as db:
        new_rows = db.execute("SELECT case_id, id FROM items WHERE acked = 0")
        imported = {case_id: set(ids) for case_id, ids in _by_case(new_rows)}
        # An item is released to deletion only once a backup holds it.
        held = {
            case_id: set(ids)
            for case_id, ids in _by_case(
                db.execute("SELECT case_id, id FROM items WHERE held = 1 AND released = 0")
            )
        }
        for case in cases.all_cases(store):
            if case.id not in imported and case.id not in held:
                continue
            if case.record.transferred_to is not None:
                # Passed on: the transfer replaces its items on the server.
                continue
            rows = cases.items_of(store, case)
            new = sorted(i.ref for i in rows if i.id in imported.get(case.id, ()))
            kept = sorted(i.ref for i in rows if i.id in held.get(case.id, ()))
            if new:
                cases.add_outgoing(store, case, {"type": "imported", "items": new})
                db.execute("UPDATE items SET acked = 1 WHERE case_id = ?", (case.id,))
            if kept:
                cases.add_outgoing(store, case, {"type": "ack", "items": kept})
                cases.add_entry(store, case, "history", event="acknowledged", count=len(kept))
                db.execute(
                    "UPDATE items SET released = 1 WHERE case_id = ? AND held = 1", (case.id,)
                )


def _by_case(rows: Iterable[tuple[int, int]]) -> Iterator[tuple[int, list[int]]]:
    grouped: dict[int, list[int]] = {}
    for case_id, item_id in rows:
        grouped.setdefault(case_id, []).append(item_id)
    yield from grouped.items()


def _pending(store: Store, coalition: str) -> list[tuple[int, int, Record]]:
    """Every unexported record, in the order it was made (per case: by sequence)."""
    every = {case.id: case for case in cases.all_cases(store)}
    refs = {case.id: (case.ref, case.index) for case in every.values()}
    # The case's reply key goes into its signed status and reply records, so the family's
    # own client can check them end to end (service/common/contract/signed.py).
    reply_keys = {case.id: case.record.reply_public_key for case in cases.all_cases(store)}
    rows = store.connection.execute(
        "SELECT id, case_id, seq, record FROM outgoing WHERE exported IN (?, ?) ORDER BY id",
        (PENDING, REFUSED),
    )
    pending = []
    for row_id, case_id, seq, blob in rows:
        ref, index = refs[case_id]
        body = store.unseal(blob, context("outgoing", index, seq))
        if body["type"] == "transfer":
            # Re-sealed now, from what the desk holds now (casework/transfer.py).
            replaces, envelopes = transfer.envelopes(store, coalition, every[case_id], body["to"])
            record = transfer_record(
                coalition, ref, seq, body["to"], reply_keys[case_id], replaces, envelopes
            )
            pending.append((row_id, case_id, record))
            continue
        record = Record(
            type=body["type"],
            coalition=coalition,
            case=ref,
            seq=seq,
            status=body.get("status"),
            reply=base64.b64decode(body["reply"]) if body["type"] == "reply" else None,
            items=tuple(body.get("items", ())),
            key=reply_keys[case_id] if body["type"] in ("status", "reply") else None,
            answer_by=body.get("answer_by") if body["type"] == "status" else None,
        )
        pending.append((row_id, case_id, record))
    return pending
