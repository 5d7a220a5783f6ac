"""ORM tables. Import from here so Alembic sees every table."""

from service.models.base import Base
from service.models.case import Case
from service.models.item import COMPLETE, PENDING, Item, ItemChunk

__all__ = ["COMPLETE", "PENDING", "Base", "Case", "Item", "ItemChunk"]
