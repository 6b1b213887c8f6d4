"""wait estimates given to visitors, so they can be measured (issue 11)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wait_estimate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("why", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("people_ahead", sa.Integer(), nullable=True),
        sa.Column("low_minutes", sa.Integer(), nullable=True),
        sa.Column("high_minutes", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("wait_estimate", schema=None) as batch_op:
        batch_op.create_index("ix_wait_estimate_centre_day", ["centre", "day"], unique=False)
        batch_op.create_index("ix_wait_estimate_ticket", ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wait_estimate", schema=None) as batch_op:
        batch_op.drop_index("ix_wait_estimate_ticket")
        batch_op.drop_index("ix_wait_estimate_centre_day")
    op.drop_table("wait_estimate")
