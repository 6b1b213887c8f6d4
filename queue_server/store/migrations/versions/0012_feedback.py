"""visitors' feedback after a visit, one answer per ticket (issue 14 item 3)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("centre", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("counter", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("visit_ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("redacted", sa.String(length=200), nullable=False),
        sa.Column("comment_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_feedback_centre_day", "feedback", ["centre", "day"])
    op.create_index("ix_feedback_answered_at", "feedback", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_answered_at", table_name="feedback")
    op.drop_index("ix_feedback_centre_day", table_name="feedback")
    op.drop_table("feedback")
