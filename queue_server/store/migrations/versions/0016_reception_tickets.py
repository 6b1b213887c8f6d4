"""tickets issued at the console for a visitor (issue 14 item 5): staff's note for the
adviser, and the counter the visitor was sent straight to ("walk direct")

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("note", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("directed_to", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("directed_to")
        batch.drop_column("note")
