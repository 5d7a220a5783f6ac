"""ORM tables. Import from here so Alembic sees every table."""

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
