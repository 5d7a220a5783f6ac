"""record which token-KDF parameters made each case's lookup key: cases.kdf

A lookup re-derives the token with every recorded parameter set, so the KDF's parameters
(or, with a new name, its algorithm) can change without orphaning the cases made before.
Cases that exist at upgrade were made with the server's configured parameters: the
runner passes them (``aryz db upgrade`` reads ARYZ_KDF_OPSLIMIT / ARYZ_KDF_MEMLIMIT, as
the server does); without them the production defaults are recorded.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.common.contract.vocabulary import (
    TOKEN_KDF_MEMLIMIT_FLOOR,
    TOKEN_KDF_OPSLIMIT_FLOOR,
    kdf_id,
)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    config = op.get_context().config
    existing = config.attributes.get("existing_kdf") if config is not None else None
    recorded = existing or kdf_id(TOKEN_KDF_OPSLIMIT_FLOOR, TOKEN_KDF_MEMLIMIT_FLOOR)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kdf", sa.String(length=64), nullable=True))
    op.execute(sa.text("UPDATE cases SET kdf = :kdf WHERE kdf IS NULL").bindparams(kdf=recorded))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("kdf", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    # Every case then reads as made with the configured parameters again: a downgrade
    # after the parameters changed orphans the cases made before the change.
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("kdf")
