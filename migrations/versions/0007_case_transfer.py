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


# Plain ADD/DROP COLUMN, not a batch table copy: on SQLite a batch copy drops and
# re-creates ``cases``, and with foreign keys on, dropping it would cascade to every item
# and reply. The columns are nullable and carry no constraint, so SQLite (3.35 or later)
# adds and drops them in place.
_CASES = (
    sa.Column("transfer_from", sa.String(length=64), nullable=True),
    sa.Column("transfer_seq", sa.BigInteger(), nullable=True),
    sa.Column("transfer_signature", sa.LargeBinary(64), nullable=True),
    sa.Column("transfer_content", sa.LargeBinary(32), nullable=True),
)


def upgrade() -> None:
    for column in _CASES:
        op.add_column("cases", column)
    op.add_column("replies", sa.Column("coalition_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # A transferred case then reads as its new coalition's own: the "passed to" line and
    # the check of earlier replies against the source coalition's key are lost.
    _drop("replies", "coalition_id")
    for column in reversed(_CASES):
        _drop("cases", column.name)


def _drop(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    else:
        op.drop_column(table, column)
