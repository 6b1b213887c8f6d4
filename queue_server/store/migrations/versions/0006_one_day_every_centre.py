"""indexes led by the day, for one day at every centre (issue 12)

A regional report reads one day's tickets, bookings, kiosk choices and wait estimates
at every centre; the indexes so far lead with the centre, so that read scanned whole
tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:30:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (
    ("ticket", "ix_ticket_day", ["day"]),
    ("appointment", "ix_appointment_at", ["at"]),
    ("channel_choice", "ix_channel_choice_at", ["at"]),
    ("wait_estimate", "ix_wait_estimate_day", ["day"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
