"""credentials generation: open connections close when a credential is withdrawn

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials_generation",
        sa.Column("centre", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("centre"),
    )


def downgrade() -> None:
    op.drop_table("credentials_generation")
