"""courier round trip: challenges, bundles, replies, applied outboxes

Items gain the state ``acknowledged`` (a value of the existing ``items.state`` column, no
schema change): the desk holds them and their pieces are deleted.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "courier_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courier_challenges")),
        sa.UniqueConstraint("digest", name=op.f("uq_courier_challenges_digest")),
    )
    op.create_table(
        "bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.LargeBinary(length=16), nullable=False),
        sa.Column("coalition_id", sa.String(length=64), nullable=False),
        sa.Column("head", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundles")),
        sa.UniqueConstraint("ref", name=op.f("uq_bundles_ref")),
    )
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bundles_coalition_id"), ["coalition_id"], unique=False)

    op.create_table(
        "bundle_items",
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["bundles.id"],
            name=op.f("fk_bundle_items_bundle_id_bundles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_bundle_items_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bundle_id", "position", name=op.f("pk_bundle_items")),
    )
    with op.batch_alter_table("bundle_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bundle_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_week", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_replies_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        sa.UniqueConstraint("case_id", "seq", name="uq_replies_case_id_seq"),
    )
    op.create_table(
        "applied_outboxes",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("coalition_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_applied_outboxes")),
    )


def downgrade() -> None:
    # Replies, bundles and outbox digests are lost. Acknowledged items keep their state:
    # their ciphertext is gone, so calling them complete again would be untrue.
    op.drop_table("applied_outboxes")
    op.drop_table("replies")
    with op.batch_alter_table("bundle_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bundle_items_item_id"))
    op.drop_table("bundle_items")
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bundles_coalition_id"))
    op.drop_table("bundles")
    op.drop_table("courier_challenges")
