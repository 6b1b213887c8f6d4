"""late writes to a closed day (issue 12 item 3): each day's count of them, and the
count each roll-up was built from

A roll-up made before this revision may have missed a late write (only an answer
given after the roll-up used to clear it): they are all cleared here, and each day is
built again from its rows on demand (docs/reports.md, "Roll-ups").

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 20:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_change",
        sa.Column("centre", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("centre", "day"),
    )
    op.execute(sa.text("DELETE FROM day_rollup"))
    with op.batch_alter_table("day_rollup") as batch:
        batch.add_column(sa.Column("changes", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("day_rollup") as batch:
        batch.drop_column("changes")
    op.drop_table("day_change")
