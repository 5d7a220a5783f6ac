"""The server's last applied sequence number per case, for the courier's receipts.

``POST /courier/v1/cases`` answers, for the named cases *of the courier's coalition*, the
``status_seq`` the server holds; a case that is unknown or another coalition's is simply
left out, so the answer tells a courier nothing it could not learn from its own bundles.
``aryz courier push`` asks after a refused outbox and keeps the answer in the receipt, so
the desk can send the refused records again with the right numbers (desk: casework/resync.py).
"""

from __future__ import annotations

from sqlalchemy import select

from service.common.errors import FormError
from service.server.deps import Runtime
from service.server.models import Case

_BATCH = 500


def case_sequences(runtime: Runtime, coalition_id: str, refs: list[str]) -> dict[str, int]:
    try:
        wanted = sorted({bytes.fromhex(r) for r in refs})
    except ValueError:
        raise FormError() from None
    if any(len(r) != 16 for r in wanted):
        raise FormError()
    found: dict[str, int] = {}
    with runtime.sessions() as session:
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            rows = session.execute(
                select(Case.ref, Case.status_seq).where(
                    Case.ref.in_(batch), Case.coalition_id == coalition_id
                )
            )
            found.update({ref.hex(): seq for ref, seq in rows})
    return found
