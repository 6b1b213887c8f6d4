"""tickets joined from a phone: the channel a ticket came by, whether its visitor has
said "I'm here", and when it was passed over while they had not (issue 14)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="kiosk")
        )
        batch.add_column(sa.Column("here", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("skipped_at")
        batch.drop_column("here")
        batch.drop_column("channel")
