"""the active server's heartbeat on its lease: a standby can tell a hung active (issue 13)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("centre_lease") as batch:
        batch.add_column(sa.Column("beat", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("renewed", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("claimed", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("centre_lease") as batch:
        batch.drop_column("claimed")
        batch.drop_column("renewed")
        batch.drop_column("beat")
