"""What the server keeps after the desk imported an item, and for how long.

The desk reports two things about items, each in a signed outbox record:

- ``imported``: the desk holds the item. The server notes the ISO week and keeps the item
  **complete and sealed**: it is still served in every bundle, so a desk restored from a
  backup made before the import gets it again with the next pull.
- ``ack``: a desk backup holds the item. The server deletes its ciphertext at once
  (``service.server.courier.outboxes``), as before backups existed.

An imported item that no ``ack`` names is deleted all the same once the operator's
retention window has passed (``ARYZ_KEEP_IMPORTED_WEEKS``, default 8 weeks, reason in
SECURITY.md): a desk that never makes backups must not make the server a permanent archive.
The sweep runs at start and at every courier pull and push; the week is all the server
stores (SECURITY.md guarantee 7: no precise time at rest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.common.clock import current_week
from service.server.courier.errors import OutboxItemError
from service.server.models import ACKNOWLEDGED, COMPLETE, Bundle, BundleItem, Case, Item
from service.server.storage.items import delete_pieces

_BATCH = 500
_T = TypeVar("_T")


def mark_imported(session: Session, case: Case, item_refs: tuple[str, ...]) -> None:
    """Note the week the desk imported these items of ``case``; keep them."""
    refs = sorted({bytes.fromhex(r) for r in item_refs})
    rows: list[tuple[int, int, str, str | None]] = []
    for ref_batch in _batches(refs):
        rows += [
            (item_id, case_id, state, week)
            for item_id, case_id, state, week in session.execute(
                select(Item.id, Item.case_id, Item.state, Item.imported_week).where(
                    Item.ref.in_(ref_batch)
                )
            )
        ]
    # The same rules as an acknowledgement: every item exists, in this very case, and was
    # complete (it was in a bundle). Reporting an import twice changes nothing.
    if len(rows) != len(refs) or any(
        case_id != case.id or state not in (COMPLETE, ACKNOWLEDGED) for _, case_id, state, _ in rows
    ):
        raise OutboxItemError()
    ids = [item_id for item_id, _, state, week in rows if state == COMPLETE and week is None]
    for batch in _batches(ids):
        session.execute(update(Item).where(Item.id.in_(batch)).values(imported_week=current_week()))


def cutoff_week(keep_weeks: int, today: dt.date | None = None) -> str:
    """Items imported in a week before this one have outlived the window."""
    day = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(weeks=keep_weeks)
    return current_week(day)


def expire_imported(session: Session, keep_weeks: int, today: dt.date | None = None) -> int:
    """Delete the ciphertext of imported items older than the window; returns how many."""
    condition = (Item.state == COMPLETE) & Item.imported_week.is_not(None)
    if keep_weeks > 0:
        condition = condition & (Item.imported_week < cutoff_week(keep_weeks, today))
    ids = list(session.scalars(select(Item.id).where(condition)))
    for batch in _batches(ids):
        session.execute(update(Item).where(Item.id.in_(batch)).values(state=ACKNOWLEDGED))
        delete_pieces(session, batch)
        holding = select(BundleItem.bundle_id).where(BundleItem.item_id.in_(batch))
        session.execute(delete(Bundle).where(Bundle.id.in_(holding)))
    return len(ids)


def _batches(values: list[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]
