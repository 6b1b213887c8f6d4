"""a closed day's figures rolled up per centre, service and counter (issue 12)

Reports over weeks, months and years read these rows instead of every ticket.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_rollup",
        sa.Column("centre", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tally", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("centre", "day", "scope", "key"),
    )
    with op.batch_alter_table("day_rollup", schema=None) as batch_op:
        batch_op.create_index("ix_day_rollup_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("day_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_day_rollup_day")
    op.drop_table("day_rollup")
