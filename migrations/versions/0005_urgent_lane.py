"""urgent lane: urgent records sealed to a duty key, the duty officer's acknowledgement

``cases.status_answer_by`` keeps the "answer expected by" ISO week a desk's signed status
record may name. ``urgent_records`` holds records sealed to a coalition's duty key until the duty officer's
signed acknowledgement deletes them; the case keeps the urgent ref and the latest
acknowledgement (status, ISO week seen, "answer expected by" week, epoch, signature).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "urgent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.LargeBinary(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("coalition_id", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    op.create_index("ix_urgent_records_case_id", "urgent_records", ["case_id"])
    op.create_index("ix_urgent_records_coalition_id", "urgent_records", ["coalition_id"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("urgent_ref", sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column("urgent_epoch", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("urgent_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("urgent_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("urgent_week", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("urgent_answer_by", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("urgent_signature", sa.LargeBinary(64), nullable=True))
        batch_op.add_column(sa.Column("status_answer_by", sa.String(length=8), nullable=True))
        batch_op.create_unique_constraint("uq_cases_urgent_ref", ["urgent_ref"])


def downgrade() -> None:
    # Urgent records waiting and the officers' acknowledgements are lost: the full cases
    # still reach their desks as before.
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("uq_cases_urgent_ref", type_="unique")
        batch_op.drop_column("status_answer_by")
        batch_op.drop_column("urgent_signature")
        batch_op.drop_column("urgent_answer_by")
        batch_op.drop_column("urgent_week")
        batch_op.drop_column("urgent_status")
        batch_op.drop_column("urgent_seq")
        batch_op.drop_column("urgent_epoch")
        batch_op.drop_column("urgent_ref")
    op.drop_index("ix_urgent_records_coalition_id", table_name="urgent_records")
    op.drop_index("ix_urgent_records_case_id", table_name="urgent_records")
    op.drop_table("urgent_records")
