"""visitors told when it is nearly their turn: requests and messages (issue 14 item 2)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_request_centre_day", "notification_request", ["centre", "day"])
    op.create_index("ix_notification_request_ticket", "notification_request", ["ticket_id"])
    op.create_table(
        "notification_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["notification_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_message_centre_day", "notification_message", ["centre", "day"])


def downgrade() -> None:
    op.drop_index("ix_notification_message_centre_day", table_name="notification_message")
    op.drop_table("notification_message")
    op.drop_index("ix_notification_request_ticket", table_name="notification_request")
    op.drop_index("ix_notification_request_centre_day", table_name="notification_request")
    op.drop_table("notification_request")
