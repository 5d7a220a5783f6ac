"""ORM tables. Import from here so Alembic sees every table.

Modules:

- ``base.py``     Declarative base with one naming convention, so migrations name constraints
                  stably
- ``case.py``     A case: what the server knows of one complaint
- ``courier.py``  What the courier round trip keeps: one-time challenges, prepared bundles,
                  applied outboxes
- ``item.py``     Sealed items and their ciphertext chunks
- ``reply.py``    Replies from the coalition's desk, sealed on the desk to the case's reply key
- ``urgent.py``   The urgent lane's one table: records sealed to a coalition's duty key, waiting
"""

from service.server.models.base import Base
from service.server.models.case import Case
from service.server.models.courier import AppliedOutbox, Bundle, BundleItem, CourierChallenge
from service.server.models.item import (
    ACKNOWLEDGED,
    COMPLETE,
    PENDING,
    RECEIVED_STATES,
    Item,
    ItemChunk,
)
from service.server.models.reply import Reply
from service.server.models.urgent import UrgentRecord

__all__ = [
    "ACKNOWLEDGED",
    "COMPLETE",
    "PENDING",
    "RECEIVED_STATES",
    "AppliedOutbox",
    "Base",
    "Bundle",
    "BundleItem",
    "Case",
    "CourierChallenge",
    "Item",
    "ItemChunk",
    "Reply",
    "UrgentRecord",
]
