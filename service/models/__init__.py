"""ORM tables. Import from here so Alembic sees every table."""

from service.models.base import Base
from service.models.case import Case
from service.models.courier import AppliedOutbox, Bundle, BundleItem, CourierChallenge
from service.models.item import (
    ACKNOWLEDGED,
    COMPLETE,
    PENDING,
    RECEIVED_STATES,
    Item,
    ItemChunk,
)
from service.models.reply import Reply

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
]
