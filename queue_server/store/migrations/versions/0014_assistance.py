"""assistance a visitor asked for: its categories, the head start in the queue it gave,
and what a counter must have to take the ticket (issue 14 item 5)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("assistance", sa.String(length=256), nullable=True))
        batch.add_column(
            sa.Column("head_start_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("needs", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("needs")
        batch.drop_column("head_start_seconds")
        batch.drop_column("assistance")
