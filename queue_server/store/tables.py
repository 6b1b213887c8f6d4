"""The database tables (SQLModel). Every row carries its ``centre`` so a council's
several centres, one ``walkin serve`` each, can share one PostgreSQL database.

Schema changes go through Alembic (``migrations/``): change a table here, then add a
revision (``alembic -c queue_server/store/alembic.ini revision --autogenerate``).
Times are stored in UTC (``timestamptz`` on PostgreSQL; on SQLite, naive UTC) and
come back as aware UTC datetimes on both (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def as_utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if value is None:
        return None
    zone = value.tzinfo
    if zone is UTC:  # (most times are: reports convert every time of every ticket)
        return value
    if zone is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that writes UTC and reads aware UTC on every backend.

    SQLite has no time zone type: SQLAlchemy writes a datetime's wall-clock digits and
    drops the offset, so 10:00+01:00 would read back as 10:00 UTC, an hour out, where
    PostgreSQL would have stored the instant. Converting on the way in makes the two
    agree. A naive value is taken to be UTC, on the way in as on the way out (where
    PostgreSQL alone would read it in the session's time zone).
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)


def time_column(nullable: bool = True, index: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(UTCDateTime(timezone=True), nullable=nullable, index=index)


class TicketRow(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        sa.UniqueConstraint("centre", "day", "number", name="uq_ticket_number_per_day"),
        sa.UniqueConstraint("centre", "idempotency_key", name="uq_ticket_idempotency_key"),
        sa.Index("ix_ticket_centre_day", "centre", "day"),
        # "one day, every centre" (a regional report) reads by day alone
        sa.Index("ix_ticket_day", "day"),
        sa.Index("ix_ticket_centre_state", "centre", "state"),
    )

    id: str = Field(primary_key=True, max_length=64)
    centre: str = Field(max_length=64)
    number: str = Field(max_length=16)
    seq: int
    service: str = Field(max_length=32)
    day: date
    origin: str = Field(max_length=16)
    language: str = Field(max_length=16)
    issued_at: datetime = Field(sa_column=time_column(nullable=False))
    arrival_at: datetime = Field(sa_column=time_column(nullable=False))
    state: str = Field(max_length=16)
    state_since: datetime = Field(sa_column=time_column(nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=128)
    appointment_ref: str | None = Field(default=None, max_length=64)
    appointment_at: datetime | None = Field(default=None, sa_column=time_column())
    counter: str | None = Field(default=None, max_length=64)
    pinned_counter: str | None = Field(default=None, max_length=64)
    first_called_at: datetime | None = Field(default=None, sa_column=time_column())
    called_at: datetime | None = Field(default=None, sa_column=time_column())
    recalls: int = 0
    service_started_at: datetime | None = Field(default=None, sa_column=time_column())
    finished_at: datetime | None = Field(default=None, sa_column=time_column())
    outcome: str | None = Field(default=None, max_length=32)
    avoidable: bool | None = None
    transfers: int = 0
    #: the service's target wait when the ticket was issued or last transferred
    target_wait_seconds: int | None = None
    #: how the ticket was taken: "kiosk" (offline kiosks too), "remote" (joined from a
    #: phone; migration 0011) or "reception" (issued at the console; 0016)
    channel: str = Field(
        default="kiosk", max_length=16, sa_column_kwargs={"server_default": "kiosk"}
    )
    #: False while a ticket joined remotely waits for its visitor to say "I'm here"
    here: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    #: when the ticket was passed over because its visitor was not here yet
    skipped_at: datetime | None = Field(default=None, sa_column=time_column())
    #: assistance asked for (comma-separated category codes), the head start it gave
    #: in the queue, and what a counter must have (comma-separated); migration 0014
    assistance: str | None = Field(default=None, max_length=256)
    head_start_seconds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    needs: str | None = Field(default=None, max_length=256)
    #: issued at the console ("reception"): staff's note for the adviser (erased once
    #: the day is over: ``Store.erase_ticket_notes``) and the counter the visitor was
    #: sent straight to; migration 0016
    note: str | None = Field(default=None, max_length=1024)
    directed_to: str | None = Field(default=None, max_length=64)


class CounterRow(SQLModel, table=True):
    __tablename__ = "counter"

    centre: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    primary_skills: str = ""  # comma-separated service codes
    secondary_skills: str = ""
    state: str = Field(max_length=16)
    staff: str | None = Field(default=None, max_length=64)
    current_ticket: str | None = Field(default=None, max_length=64)
    state_since: datetime | None = Field(default=None, sa_column=time_column())


class ServiceRow(SQLModel, table=True):
    """What managers changed live about a service (its target wait)."""

    __tablename__ = "service_setting"

    centre: str = Field(primary_key=True, max_length=64)
    code: str = Field(primary_key=True, max_length=32)
    target_wait_seconds: int


class AppointmentRow(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (
        sa.Index("ix_appointment_centre_at", "centre", "at"),
        sa.Index("ix_appointment_at", "at"),
    )

    centre: str = Field(primary_key=True, max_length=64)
    ref: str = Field(primary_key=True, max_length=64)
    service: str = Field(max_length=32)
    at: datetime = Field(sa_column=time_column(nullable=False))
    status: str = Field(max_length=16)
    ticket_id: str | None = Field(default=None, max_length=64)
    #: the visitor's language, as the booking system gave it (None: not given)
    language: str | None = Field(default=None, max_length=16)


class PastAppointmentRow(SQLModel, table=True):
    """A booking's row as it was when a new booking took its reference: a cancelled
    booking booked again, or a reference of an earlier day used again by the booking
    system (``AppointmentRow`` has one row per reference, so the new booking is
    written over it). Kept so that the day of the old booking still counts it as it
    was, cancelled, checked in or missed (``Store.commit``; the reports read both
    tables: ``store.rollups.appointments_in``, ``reporting.reports.appointments_between``).
    A booking that is only moved (``AppointmentChanged``) leaves nothing here: it was
    never on its old day."""

    __tablename__ = "appointment_past"
    __table_args__ = (
        sa.Index("ix_appointment_past_centre_at", "centre", "at"),
        sa.Index("ix_appointment_past_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    ref: str = Field(max_length=64)
    service: str = Field(max_length=32)
    at: datetime = Field(sa_column=time_column(nullable=False))
    status: str = Field(max_length=16)
    ticket_id: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    #: when the new booking took the reference
    replaced_at: datetime = Field(sa_column=time_column(nullable=False))


class NumberSequenceRow(SQLModel, table=True):
    """The last number issued per prefix per local day: never runs backwards."""

    __tablename__ = "number_sequence"

    centre: str = Field(primary_key=True, max_length=64)
    prefix: str = Field(primary_key=True, max_length=8)
    day: date = Field(primary_key=True)
    last: int


class AuditRow(SQLModel, table=True):
    """Every state change: who, what, when, and the resulting state as JSON."""

    __tablename__ = "audit"
    __table_args__ = (sa.Index("ix_audit_centre_at", "centre", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    at: datetime = Field(sa_column=time_column(nullable=False))
    actor: str = Field(max_length=128)
    kind: str = Field(max_length=64)
    ticket_id: str | None = Field(default=None, max_length=64, index=True)
    ticket_number: str | None = Field(default=None, max_length=16)
    counter: str | None = Field(default=None, max_length=64)
    reason: str | None = None
    payload: str = "{}"


class DeviceRow(SQLModel, table=True):
    """A kiosk or board, known by a token shown once and stored only as a hash."""

    __tablename__ = "device"
    __table_args__ = (sa.UniqueConstraint("centre", "name", name="uq_device_name"),)

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    name: str = Field(max_length=128)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(sa_column=time_column(nullable=False))
    revoked: bool = False


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    __table_args__ = (sa.UniqueConstraint("centre", "username", name="uq_staff_username"),)

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    username: str = Field(max_length=64)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=256)
    created_at: datetime = Field(sa_column=time_column(nullable=False))
    active: bool = True


class DeviceStatusRow(SQLModel, table=True):
    """The last status a device reported (a kiosk's printer out of paper, ...)."""

    __tablename__ = "device_status"

    centre: str = Field(primary_key=True, max_length=64)
    device: str = Field(primary_key=True, max_length=128)
    component: str = Field(primary_key=True, max_length=32)
    status: str = Field(max_length=32)
    detail: str | None = None
    at: datetime = Field(sa_column=time_column(nullable=False))


class CentreRow(SQLModel, table=True):
    """The centres this database serves (written by ``walkin serve`` on start)."""

    __tablename__ = "centre"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    updated_at: datetime = Field(sa_column=time_column(nullable=False))


#: how a phone's channel choice names its device: this, then the phone (its cookie,
#: hashed); a kiosk's carries the kiosk's name (``Store.record_phone_channel_choice``)
PHONE_DEVICE = "remote:"


class ChannelChoiceRow(SQLModel, table=True):
    """At a kiosk, for a service that can be done online, what the visitor chose:
    "online" (the web page, as a QR code) or "ticket" (to be seen today)."""

    __tablename__ = "channel_choice"
    __table_args__ = (
        sa.Index("ix_channel_choice_centre_at", "centre", "at"),
        sa.Index("ix_channel_choice_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    at: datetime = Field(sa_column=time_column(nullable=False))
    device: str = Field(max_length=128)
    service: str = Field(max_length=32)
    choice: str = Field(max_length=16)
    language: str = Field(max_length=16)


class StaffSessionRow(SQLModel, table=True):
    """A staff member's signed-in session on a page (the counter console, the
    dashboard): known by a token shown once and stored only as a hash."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    username: str = Field(max_length=64)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(sa_column=time_column(nullable=False))
    #: the last message from the page (written at most once a minute)
    last_seen_at: datetime = Field(sa_column=time_column(nullable=False))
    #: the end of its fixed lifetime, whatever the activity
    expires_at: datetime = Field(sa_column=time_column(nullable=False))
    #: signed out or expired; kept for the audit trail
    ended_at: datetime | None = Field(default=None, sa_column=time_column())


class CredentialsGenerationRow(SQLModel, table=True):
    """A centre's credentials generation: one number, raised in the same transaction
    as every change that withdraws a credential (a device revoked or its token
    rotated, a staff account disabled or given another role, a session ended). Each
    running server reads it a few times a second (a primary-key lookup) and, when it
    has moved, checks its open connections' credentials again
    (``queue_server.net.credentials``)."""

    __tablename__ = "credentials_generation"

    centre: str = Field(primary_key=True, max_length=64)
    generation: int = 0
    changed_at: datetime = Field(sa_column=time_column(nullable=False))


class WaitEstimateRow(SQLModel, table=True):
    """A wait estimate given to a visitor: at issue (the kiosk's ticket, the check-in
    reply), and after that each time the minutes they are shown change (their status
    page, a kiosk's ``estimate``). Kept so the estimates can be measured against the
    waits that followed (docs/reports.md, "Wait estimates").

    ``day`` and ``service`` are the ticket's when the estimate was given (a report
    reads a day's estimates by ``day``, as it reads its tickets). ``minutes`` is None
    when no estimate could be given (no open counter, or past the horizon);
    ``low_minutes`` and ``high_minutes`` are the range shown, when one is."""

    __tablename__ = "wait_estimate"
    __table_args__ = (
        sa.Index("ix_wait_estimate_centre_day", "centre", "day"),
        sa.Index("ix_wait_estimate_day", "day"),
        sa.Index("ix_wait_estimate_ticket", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    ticket_id: str = Field(max_length=64)
    day: date
    service: str = Field(max_length=32)
    at: datetime = Field(sa_column=time_column(nullable=False))
    #: "issue" (the first, given with the ticket) or "update" (the minutes shown changed)
    why: str = Field(max_length=16)
    minutes: int | None = None
    people_ahead: int | None = None
    low_minutes: int | None = None
    high_minutes: int | None = None


class DayRollupRow(SQLModel, table=True):
    """A closed day's figures for one scope of one centre, rolled up so that reports
    over weeks, months and years read a few rows per day instead of every ticket
    (docs/reports.md, "Ranges"). ``scope`` is "centre" (``key`` empty: the centre's
    whole day), "service" (``key`` a service code), "counter" (``key`` the counter's
    name in this centre) or "help" (``key`` an assistance category code: the tickets
    that asked for that help). ``tally`` is the ``reports.Tally`` as JSON: counts, sums
    and a histogram of waits, all of which merge by adding. A day with no tickets has its
    "centre" row all the same (so it is known to be rolled up)."""

    __tablename__ = "day_rollup"
    __table_args__ = (sa.Index("ix_day_rollup_day", "day"),)

    centre: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    scope: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=64)
    tally: str
    #: when it was built, and the figures' version (a newer Walkin rebuilds older ones)
    built_at: datetime = Field(sa_column=time_column(nullable=False))
    version: int = 1
    #: the day's count of late writes (``DayChangeRow.changes``, 0 for none) when its
    #: rows were read: a roll-up counts only while the day's count is still this one
    changes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class DayChangeRow(SQLModel, table=True):
    """How many times a centre's day was written to after it was over: a ticket of the
    day ended or uploaded later, a booking of the day cancelled or moved, an answer
    given, an estimate or a choice recorded late (``store.rollups.mark_late_writes``, in
    the write's own transaction). A day's roll-up (``DayRollupRow``) keeps the count it
    was built from; once the count moves on, the roll-up no longer counts and the day
    is built again from its rows (docs/reports.md, "Roll-ups"). No row: never."""

    __tablename__ = "day_change"

    centre: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    changes: int


class CentreLeaseRow(SQLModel, table=True):
    """Which server is a centre's active one, by number: ``epoch`` goes up by one each
    time a server takes the centre (``Store.take_lease``, once it holds the centre's
    claim: ``writer_lock``), and every write transaction of that server first checks
    it is still its own (``Store.fence``), so a server that lost the centre while
    paused or cut off can never commit after another took over (issue 13)."""

    __tablename__ = "centre_lease"

    centre: str = Field(primary_key=True, max_length=64)
    epoch: int
    #: who took it (host, process) and when: for the operator
    holder: str = Field(max_length=200)
    since: datetime = Field(sa_column=time_column(nullable=False))
    #: the active server's heartbeat, one more every ``serving.LEASE_BEAT_SECONDS``: a
    #: standby that sees it stand still for ``LEASE_TIMEOUT_SECONDS`` takes over (a
    #: hung or cut-off active server keeps its claim; migration 0009)
    beat: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: when the last beat was written (the active server's clock): for the operator
    renewed: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    #: whether the holder holds the centre's claim too: False after a standby took
    #: over from a hung server that still holds it (until that server's process ends)
    claimed: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class NumberBlockRow(SQLModel, table=True):
    """A block of numbers leased to a kiosk, to issue from while no server answers
    (``core/offline.py``; migration 0010). Written in the transaction that moves the
    day's ``number_sequence`` past it, so no other ticket or block gets its numbers."""

    __tablename__ = "number_block"
    __table_args__ = (sa.Index("ix_number_block_centre_day", "centre", "day"),)

    centre: str = Field(primary_key=True, max_length=64)
    #: the lease request's idempotency key: asked again, the same block
    key: str = Field(primary_key=True, max_length=128)
    kiosk: str = Field(max_length=128)
    service: str = Field(max_length=32)
    prefix: str = Field(max_length=8)
    day: date
    first: int
    last: int
    granted_at: datetime = Field(sa_column=time_column(nullable=False))


class OfflineRunRow(SQLModel, table=True):
    """A kiosk ran offline from ``since`` to ``until`` and issued ``tickets`` from its
    blocks meanwhile (from its uploads; ``core/offline.py``; migration 0010). One row
    per run, keyed by when it began; a longer run replaces the ones it covers."""

    __tablename__ = "offline_run"
    __table_args__ = (sa.Index("ix_offline_run_centre_day", "centre", "day"),)

    centre: str = Field(primary_key=True, max_length=64)
    kiosk: str = Field(primary_key=True, max_length=128)
    since: datetime = Field(sa_column=sa.Column(UTCDateTime(timezone=True), primary_key=True))
    day: date
    until: datetime = Field(sa_column=time_column(nullable=False))
    tickets: int = 0


class FeedbackRow(SQLModel, table=True):
    """A visitor's answer to "How satisfied were you with the service today?" after
    their visit (issue 14 item 3; ``core/feedback.py``; migration 0012). One per ticket
    (its key), with what the reports group it by as the visit ended: the ticket's day,
    service, counter and outcome. ``score`` is 5 (very satisfied) to 1 (very
    dissatisfied). ``comment`` is what the visitor wrote with the personal data taken
    out (``net.redact.redact_personal_data``; ``redacted`` lists the kinds taken out):
    the text as typed is never stored. It is erased (None, ``comment_erased_at`` set)
    after the centre's ``[feedback] comment_retention_days``."""

    __tablename__ = "feedback"
    __table_args__ = (
        sa.Index("ix_feedback_centre_day", "centre", "day"),
        sa.Index("ix_feedback_answered_at", "answered_at"),
    )

    ticket_id: str = Field(primary_key=True, max_length=64)
    centre: str = Field(max_length=64)
    day: date
    service: str = Field(max_length=32)
    counter: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    language: str = Field(max_length=16)
    visit_ended_at: datetime = Field(sa_column=time_column(nullable=False))
    answered_at: datetime = Field(sa_column=time_column(nullable=False))
    score: int
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    #: the kinds of personal data taken out of the comment, comma-separated ("" if none)
    redacted: str = Field(default="", max_length=200)
    comment_erased_at: datetime | None = Field(default=None, sa_column=time_column())


class NotificationRequestRow(SQLModel, table=True):
    """A visitor's request to be told when it is nearly their turn (issue 14 item 2;
    ``queue_server/notify``; migration 0015): by SMS or e-mail through GOV.UK Notify to
    ``address``, or by Web Push to the subscription (JSON) in ``address``. The address
    is personal data: it is erased (None, ``erased_at`` set) once the ticket's day is
    over, and ``active`` is false once the visitor stops it or the ticket ends."""

    __tablename__ = "notification_request"
    __table_args__ = (
        sa.Index("ix_notification_request_centre_day", "centre", "day"),
        sa.Index("ix_notification_request_ticket", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    day: date
    ticket_id: str = Field(max_length=64)
    #: "sms", "email" or "push"
    channel: str = Field(max_length=16)
    address: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    language: str = Field(max_length=16)
    active: bool = True
    created_at: datetime = Field(sa_column=time_column(nullable=False))
    erased_at: datetime | None = Field(default=None, sa_column=time_column())


class NotificationMessageRow(SQLModel, table=True):
    """One message sent (or tried) for a ``NotificationRequestRow``: what it said
    (``kind``: "ahead", "soon", "called", "recalled"; never the address or the text),
    its ``status`` ("queued", "sent", "failed"), the tries it took and the last
    failure's reason, and the gateway's own id for it (``reference``)."""

    __tablename__ = "notification_message"
    __table_args__ = (sa.Index("ix_notification_message_centre_day", "centre", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=64)
    day: date
    request_id: int = Field(foreign_key="notification_request.id")
    ticket_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    attempts: int = 0
    reference: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=time_column(nullable=False))
    updated_at: datetime = Field(sa_column=time_column(nullable=False))
