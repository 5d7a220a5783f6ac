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
    TransferTooLargeError,
)
from service.desk.store import coalitions
from service.desk.store.database import Store

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
