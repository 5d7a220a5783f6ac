"""The courier API's failures, one small class each (they extend the tree in
``service.common.errors``; the outbox's own format errors are
``service.common.contract.outbox.OutboxError``).

Messages are fixed: they never carry a key, a case or item reference, or any input.
Every outbox error means the same thing for the courier: **nothing was applied**.

Tree::

    InputError (service.common.errors)
    ├── CourierAuthError          401: no valid courier signature over a fresh challenge
    ├── RangeError                416: a Range header other than one "bytes=N-" inside the bundle
    └── BundleTooSmallError       max_bytes cannot hold even the oldest waiting item
    AryzError
    └── BundleChangedError        409: items left the server while the bundle was read
    OutboxError (service.common.contract.outbox)
    ├── OutboxCoalitionError      the outbox is for another coalition than the courier's
    ├── OutboxCaseError           a record names a case this coalition does not have here
    ├── OutboxSequenceError       409: replay, gap or reordering of a case's records
    ├── OutboxReplyError          a reply is not sealed to its case's reply key
    ├── OutboxItemError           an acknowledged item is not a received item of its case
    ├── OutboxTransferTargetError a transfer to a coalition this server does not serve
    ├── OutboxTransferSealError   a transferred item not sealed to the receiver's current keys
    └── OutboxTransferItemsError  a transfer that does not replace exactly the case's items
"""

from __future__ import annotations

from service.common.contract.outbox import OutboxError
from service.common.errors import AryzError, InputError

NOTHING_APPLIED = " Nothing was applied."


class CourierAuthError(InputError):
    # One answer for an unknown or revoked key, a bad signature and a used or unknown
    # challenge: whoever probes the API learns nothing about which part was wrong.
    code = "courier_auth"
    message = "The request is not authorised."
    http_status = 401


class RangeError(InputError):
    code = "range"
    message = "The requested range cannot be served."
    http_status = 416


class BundleTooSmallError(InputError):
    code = "bundle_too_small"
    message = "The oldest waiting item does not fit in max_bytes; allow more bytes."


class BundleChangedError(AryzError):
    code = "bundle_changed"
    message = "The bundle's items changed on the server; prepare a new bundle."
    http_status = 409


class OutboxCoalitionError(OutboxError):
    code = "outbox_coalition"
    message = "The outbox is for another coalition than this courier's." + NOTHING_APPLIED
    http_status = 403


class OutboxCaseError(OutboxError):
    # The same answer whether the case does not exist or belongs to another coalition.
    code = "outbox_case"
    message = "The outbox names a case this server does not hold for the coalition." + (
        NOTHING_APPLIED
    )


class OutboxSequenceError(OutboxError):
    code = "outbox_sequence"
    message = (
        "The outbox does not continue from the last update this server applied for a case "
        "(a replay, a gap or a reordering)." + NOTHING_APPLIED
    )
    http_status = 409


class OutboxReplyError(OutboxError):
    code = "outbox_reply"
    message = "A reply in the outbox is not sealed to its case's reply key." + NOTHING_APPLIED


class OutboxItemError(OutboxError):
    code = "outbox_item"
    message = "The outbox acknowledges an item that is not a received item of its case." + (
        NOTHING_APPLIED
    )


class OutboxTransferTargetError(OutboxError):
    code = "outbox_transfer_target"
    message = (
        "The outbox passes a case to a coalition this server does not serve." + NOTHING_APPLIED
    )


class OutboxTransferSealError(OutboxError):
    code = "outbox_transfer_sealed"
    message = (
        "A transferred item is not sealed to the receiving coalition's current keys: the "
        "desk needs that coalition's newest key statement." + NOTHING_APPLIED
    )


class OutboxTransferItemsError(OutboxError):
    code = "outbox_transfer_items"
    message = (
        "A transfer does not name exactly the case's items on this server: pull and import "
        "a new bundle on the desk, then export again." + NOTHING_APPLIED
    )
