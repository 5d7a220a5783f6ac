"""a case passed to another coalition: cases.transfer_*, replies.coalition_id

When a desk passes a case to another coalition (outbox record ``transfer``), the case
moves to that coalition and keeps the source's signed transfer record — who passed it,
the record's sequence number, signature and content digest — so the status page can say
"passed to <name>" only when the source coalition signed it. Replies keep the coalition
that signed them (``replies.coalition_id``; NULL: the case's coalition), so the answers
given before the transfer still check against the source's key.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_from", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("transfer_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("transfer_signature", sa.LargeBinary(64), nullable=True))
        batch_op.add_column(sa.Column("transfer_content", sa.LargeBinary(32), nullable=True))
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coalition_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # A transferred case then reads as its new coalition's own: the "passed to" line and
    # the check of earlier replies against the source coalition's key are lost.
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_column("coalition_id")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("transfer_content")
        batch_op.drop_column("transfer_signature")
        batch_op.drop_column("transfer_seq")
        batch_op.drop_column("transfer_from")
