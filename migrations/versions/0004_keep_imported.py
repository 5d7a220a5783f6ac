"""keep imported items until a desk backup holds them: items.imported_week

An "imported" outbox record sets the ISO week; the item stays complete (sealed) until an
"ack" (a desk backup holds it) or until the operator's retention window after that week
ends (ARYZ_KEEP_IMPORTED_WEEKS).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_week", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # The weeks are lost: imported items then wait for their "ack", as before 0003.
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("imported_week")
