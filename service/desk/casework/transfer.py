"""Pass a case to another coalition: re-sealed on this desk, sent in the outbox.

A report sent to the wrong country's coalition used to leave the air gap as plaintext
(copied off the desk and submitted again). Now the desk re-seals it:

1. ``queue`` (``aryz desk transfer CASE --to ID``) checks that the person agreed
   (``consent.transfer`` in the answers, or staff vouch that they agreed in a message),
   that the receiver is a coalition this desk holds checked keys of
   (``service.desk.store.coalitions``), and that the case's items fit in one outbox;
   it queues a ``transfer`` record with the case's next sequence number and marks the
   case passed on (``CaseRecord.transferred_to``): from then on the desk queues nothing
   else for it, and its statistics no longer count it.
2. ``envelopes`` (at export, ``service.desk.casework.export``) re-seals every item of
   the case held on this desk — answers, files, messages — in memory: the item's stored
   metadata and body become the same payload again, sealed (envelope v3, padded) to the
   receiver's keys. Its metadata gains ``transferred``: the source coalition and the
   digest of the original envelope header, which the person's item signature covers, so
   the receiving desk still checks each item's place in the case
   (``service.desk.casework.completeness``). Nothing is written outside the encrypted
   store but the outbox, which holds only the sealed envelopes.

``cancel`` (``aryz desk transfer CASE --cancel``) takes a queued transfer back until it is
exported, or after the server refused its outbox.

Re-sealing at export, not when queued, means an item imported in between goes with the
case; and if the server refuses the transfer because an item reached it after the last
import, pulling and importing again and exporting the refused record re-seals that item
too. What the receiving desk must trust: that this desk put the original bytes back in.
"""

from __future__ import annotations

import json
from typing import Any

import service.desk.casework.cases as cases
from service.common.contract.outbox import MAX_TRANSFER_BYTES
from service.common.crypto.envelope import seal, sealed_size
from service.common.crypto.payload import encode_payload_prefix
from service.desk.errors import (
    DeskDamagedError,
    TransferConsentError,
    TransferError,
    TransferredCaseError,
    TransferSentError,
    TransferTooLargeError,
)
from service.desk.store import coalitions
from service.desk.store.database import Store, context

# The answers key of the consent question (istanbul v2, section "consent").
CONSENT_KEY = "consent.transfer"


def consented(store: Store, case: cases.CaseRow) -> bool:
    """Whether the case's first answer set says yes to passing it on."""
    for item in cases.items_of(store, case):
        if item.record["type"] == "answers":
            body: Any = json.loads(read_body(store, item))
            answers = body.get("answers") if isinstance(body, dict) else None
            return isinstance(answers, dict) and answers.get(CONSENT_KEY) == "yes"
    return False


def read_body(store: Store, item: cases.ItemRow) -> bytes:
    record = item.record
    data = b"".join(store.read_chunks(item.id, item.index, int(record["chunks"])))
    if len(data) != record["size"]:
        raise DeskDamagedError()
    return data


def queue(store: Store, own: str, case: cases.CaseRow, to: str, *, consent_in_message: bool) -> int:
    """Queue the transfer of ``case`` to ``to`` (inside the caller's transaction)."""
    if case.record.transferred_to is not None:
        raise TransferredCaseError()
    if to == own:
        raise TransferError("That is this desk's own coalition: nothing to pass on.")
    target = coalitions.get(store, to)
    if target is None:
        raise TransferError(
            "This desk does not know that coalition's keys: add them first with "
            "'aryz desk coalition add'."
        )
    if not consent_in_message and not consented(store, case):
        raise TransferConsentError()
    items = cases.items_of(store, case)
    if not items:
        raise TransferError("This case holds no imported item to pass on.")
    size = sum(
        sealed_size(_payload_size(item), len(target.recipients), padded=True) for item in items
    )
    if size > MAX_TRANSFER_BYTES:
        raise TransferTooLargeError()
    seq = cases.add_outgoing(
        store, case, {"type": "transfer", "to": to, "consent_in_message": consent_in_message}
    )
    case.record.transferred_to = to
    cases.save_case(store, case)
    return seq


def cancel(store: Store, case: cases.CaseRow) -> str:
    """Take back the case's queued transfer (inside the caller's transaction); returns the
    coalition it was for.

    Only while no outbox that the server could still apply holds it: the record is waiting
    (never exported) or the server refused its outbox (a receipt said so; nothing of that
    outbox was applied). It is the case's last record — nothing is queued after a
    transfer — so removing it frees its number for the next record, as if never queued.
    """
    to = case.record.transferred_to
    if to is None:
        raise TransferError("This case is not being passed on: nothing to take back.")
    row = store.connection.execute(
        "SELECT seq, record, exported FROM outgoing WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
        (case.id,),
    ).fetchone()
    if row is None or row[0] != case.record.last_seq:
        # The numbers moved past it (a resynchronisation learned later ones): it is not
        # the case's last record any more, so it cannot simply be taken back.
        raise TransferSentError()
    seq, blob, exported = row
    body = store.unseal(blob, context("outgoing", case.index, seq))
    if body.get("type") != "transfer" or exported not in (0, 3):
        # 1: in an outbox not yet answered; 2: applied
        raise TransferSentError()
    store.connection.execute("DELETE FROM outgoing WHERE case_id = ? AND seq = ?", (case.id, seq))
    case.record.last_seq = seq - 1
    case.record.transferred_to = None
    cases.save_case(store, case)
    return str(to)


def _payload_size(item: cases.ItemRow) -> int:
    # The metadata as re-sealed, plus room for the "transferred" entry.
    return len(encode_payload_prefix(item.record["meta"])) + 256 + int(item.record["size"])


def envelopes(
    store: Store, own: str, case: cases.CaseRow, to: str
) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """The refs of the case's items and each re-sealed to ``to``'s keys (at export)."""
    target = coalitions.get(store, to)
    if target is None:  # queue() checked it; a restored desk could have lost it
        raise TransferError("This desk no longer knows the keys of the coalition to pass to.")
    refs, sealed = [], []
    for item in cases.items_of(store, case):
        meta = dict(item.record["meta"])
        seal_record = item.record.get("seal")
        meta["transferred"] = {
            "from": own,
            # The original envelope header's digest: what the person's item signature
            # covers, so the receiving desk can check it (None: the item had no seal).
            "header": seal_record["digest"] if isinstance(seal_record, dict) else None,
        }
        payload = encode_payload_prefix(meta) + read_body(store, item)
        sealed.append(seal(payload, target.recipients, padded=True))
        refs.append(item.ref)
    return tuple(refs), tuple(sealed)
