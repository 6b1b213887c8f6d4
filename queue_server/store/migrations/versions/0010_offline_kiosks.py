"""blocks of numbers leased to kiosks and their offline runs (issue 13 item 4)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_block",
        sa.Column("centre", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("kiosk", sa.String(length=128), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("centre", "key"),
    )
    op.create_index("ix_number_block_centre_day", "number_block", ["centre", "day"])
    op.create_table(
        "offline_run",
        sa.Column("centre", sa.String(length=64), nullable=False),
        sa.Column("kiosk", sa.String(length=128), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("centre", "kiosk", "since"),
    )
    op.create_index("ix_offline_run_centre_day", "offline_run", ["centre", "day"])


def downgrade() -> None:
    op.drop_index("ix_offline_run_centre_day", table_name="offline_run")
    op.drop_table("offline_run")
    op.drop_index("ix_number_block_centre_day", table_name="number_block")
    op.drop_table("number_block")
