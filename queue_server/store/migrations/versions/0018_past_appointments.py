"""a booking's row kept when a new booking takes its reference (a cancelled booking
booked again, an earlier day's reference used again), so its day still counts it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment_past",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointment_past") as batch:
        batch.create_index("ix_appointment_past_centre_at", ["centre", "at"], unique=False)
        batch.create_index("ix_appointment_past_at", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("appointment_past")
