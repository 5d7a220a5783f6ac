"""signed answers: the desk's signature kept with each status and reply

The server keeps the Ed25519 signature of the outbox record that set a case's status or
carried a reply, so the family's own client (``aryz status``) and the status page can
check it end to end instead of trusting the server's rows (audit F-08).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_signed_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("status_signature", sa.LargeBinary(64), nullable=True))
        batch_op.add_column(sa.Column("status_keyed", sa.Boolean(), nullable=True))
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(64), nullable=True))
        batch_op.add_column(sa.Column("keyed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_column("keyed")
        batch_op.drop_column("signature")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("status_keyed")
        batch_op.drop_column("status_signature")
        batch_op.drop_column("status_signed_seq")
