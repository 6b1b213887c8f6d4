"""A day's figures for a centre (or every centre in a database), as JSON or CSV.

::

    build_report(tickets, appointments, *, day, now, ...) -> DayReport   pure, no I/O
    load_and_build(store, day, centre=None, now=None, ...) -> DayReport  reads the store
                                    (tickets, bookings, channel choices, wait estimates)
    to_dict(report) -> dict      JSON-ready, for the dashboard
    to_json(report) -> str
    to_csv(report) -> str        one row per scope: overall, each service, each centre
    report_main(argv) -> int     ``walkin report --db URL --date YYYY-MM-DD ...``

Every figure is defined in docs/reports.md; the code below follows it line for line.
``build_report`` is the one place figures are computed: the CLI and the manager
dashboard both call it, over stored rows (``TicketRow``, ``AppointmentRow``) or over the
live centre's values (``core.model.Ticket``, ``Appointment``), which have the same
attribute names. A share whose denominator is zero is ``None`` (null), never 0 or NaN.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from queue_server.core.model import CentreSetup, Policy
from queue_server.jsonable import plain
from queue_server.store import Store
from queue_server.store.convert import must_utc, utc
from queue_server.store.estimates import estimates_for_day
from queue_server.store.tables import AppointmentRow, CentreRow

LONDON = ZoneInfo("Europe/London")
#: the seeds' cost of one face-to-face contact (Cheshire East, 2010/11)
FACE_TO_FACE_COST_GBP = Decimal("7.23")
#: the seeds' standards: abandonment below 5%, first-contact resolution over 50%
ABANDONMENT_RATE_MAX = 0.05
FIRST_CONTACT_RESOLUTION_MIN = 0.5

_DEFAULT_POLICY = Policy()


# ------------------------------------------------------------------ inputs


class TicketLike(Protocol):
    """What a report reads of a ticket: a ``TicketRow`` or a core ``Ticket``.

    ``centre`` and ``target_wait_seconds`` are read with ``getattr`` and may be absent.
    """

    @property
    def service(self) -> str: ...
    @property
    def day(self) -> date: ...
    @property
    def origin(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def state_since(self) -> datetime: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def arrival_at(self) -> datetime: ...
    @property
    def appointment_at(self) -> datetime | None: ...
    @property
    def first_called_at(self) -> datetime | None: ...
    @property
    def service_started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def avoidable(self) -> bool | None: ...
    @property
    def transfers(self) -> int: ...


class ChoiceLike(Protocol):
    """A kiosk's channel-shift record (``ChannelChoiceRow``)."""

    @property
    def service(self) -> str: ...
    @property
    def choice(self) -> str: ...  # "online" or "ticket"
    @property
    def at(self) -> datetime: ...


class EstimateLike(Protocol):
    """A wait estimate given to a visitor (``WaitEstimateRow``, or any object with
    these attributes). ``why`` ("issue" or "update") may be absent: the earliest of a
    ticket's estimates is then the one given at issue."""

    @property
    def ticket_id(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def minutes(self) -> int | None: ...


@dataclass(frozen=True)
class Estimate:
    """An estimate as ``build_report`` reads it (plain data passed in are made into
    these)."""

    ticket_id: str
    at: datetime
    minutes: int | None
    why: str | None = None


#: what ``build_report`` takes as the estimates given: objects like ``EstimateLike``,
#: ``(ticket_id, at, minutes)`` tuples, or a mapping of ticket id to the minutes given
#: at issue (given at the ticket's ``issued_at``, as the simulator's visits keep them)
Estimates = (
    Iterable[EstimateLike] | Iterable[tuple[str, datetime, int | None]] | Mapping[str, int | None]
)


class AppointmentLike(Protocol):
    """What a report reads of a booking: an ``AppointmentRow`` or a core ``Appointment``."""

    @property
    def service(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def status(self) -> str: ...


# ------------------------------------------------------------------ outputs


@dataclass(frozen=True)
class Figures:
    """Every figure for one scope (the day overall, one service, one centre).

    Field order is the CSV column order. Times are seconds; shares are fractions 0-1,
    rounded to 4 places; ``None`` where the denominator is zero (docs/reports.md).
    """

    issued: int
    issued_walk_in: int
    issued_appointment: int
    served: int
    completed: int
    no_shows: int
    cancelled: int
    still_open: int
    transferred: int
    abandoned: int
    abandonment_rate: float | None
    waits_counted: int
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    wait_max_seconds: float | None
    appointments_standard_counted: int
    appointments_standard_met: int
    appointments_within_standard_share: float | None
    walk_ins_target_counted: int
    walk_ins_target_met: int
    walk_ins_target_unknown: int
    walk_ins_within_target_share: float | None
    service_times_counted: int
    mean_service_seconds: float | None
    resolved: int
    first_contact_resolution_share: float | None
    avoidable: int
    avoidable_contact_share: float | None
    face_to_face_cost_gbp: float
    appointments_booked: int
    appointments_checked_in: int
    appointments_late: int
    appointments_missed: int
    appointments_awaited: int
    appointments_cancelled: int
    #: channel shift at the kiosk: visitors offered a service's web page before a ticket,
    #: how many of them chose to go online, and that share
    channel_shift_offered: int
    channel_shift_online: int
    channel_shift_share: float | None
    #: wait estimates (docs/reports.md, "Wait estimates"): tickets given an estimate in
    #: minutes at issue, how many of them were then called (measured) and how many not
    #: (left out: no-shows before a call, cancelled, walked out, still waiting), and
    #: those given no minutes at issue (no open counter could take them)
    estimates_given: int
    estimates_measured: int
    estimates_not_called: int
    estimates_without_minutes: int
    #: over the measured tickets, error = minutes given at issue - actual wait (from
    #: the estimate to the first call): its mean absolute value and its mean (the
    #: bias; negative = too optimistic), in seconds
    estimate_mae_seconds: float | None
    estimate_bias_seconds: float | None
    #: the same over every later estimate given in minutes up to the ticket's first
    #: call (the status pages' updates), against the wait left at that moment
    estimate_updates_measured: int
    estimate_updates_mae_seconds: float | None
    estimate_updates_bias_seconds: float | None
    #: tickets issued per hour of the centre's local clock (0-23); hours with none left out
    by_hour: Mapping[int, int]


@dataclass(frozen=True)
class DayReport:
    """The figures for ``day``: overall, per service, and per centre when ``centre``
    is None (every centre in the data). ``now`` is when the report was made: it
    decides which deadlines have passed."""

    day: date
    centre: str | None
    now: datetime
    appointment_standard: timedelta
    overall: Figures
    services: Mapping[str, Figures]
    centres: Mapping[str, Figures]
    #: by the counter that last had each ticket (service times by counter); tickets
    #: never called have no counter and are left out
    counters: Mapping[str, Figures] = field(default_factory=dict)


# ------------------------------------------------------------------ the computation


def nearest_rank(sorted_values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile: the value at rank ceil(percent/100 * n), 1-based.

    Always one of the values, so "90% waited no longer than this" is literally true.
    """
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, -(-percent * n // 100))
    return sorted_values[rank - 1]


def _share(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def _seconds(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    return round(seconds, 1)


def _ended_waiting_at(ticket: TicketLike, now: datetime) -> datetime:
    """When a never-called ticket stopped waiting: its cancellation, or still now."""
    if ticket.state == "cancelled":
        return utc(ticket.finished_at) or must_utc(ticket.state_since)
    return now


def _standard_met(
    start: datetime,
    allowed: timedelta,
    ticket: TicketLike,
    now: datetime,
) -> bool | None:
    """Whether the ticket was first called within ``allowed`` of ``start``.

    None (left out of the share) for a ticket never called that stopped waiting, or
    is still waiting, inside its window: it has not (yet) been failed.
    """
    called = utc(ticket.first_called_at)
    deadline = start + allowed
    if called is not None:
        return called <= deadline
    if _ended_waiting_at(ticket, now) > deadline:
        return False
    return None


def _target_for(ticket: TicketLike, targets: Mapping[str, timedelta] | None) -> timedelta | None:
    seconds = getattr(ticket, "target_wait_seconds", None)
    if seconds is not None:
        return timedelta(seconds=seconds)
    if targets is not None:
        return targets.get(ticket.service)
    return None


def _due(ticket: TicketLike) -> datetime:
    """An appointment's clock starts at the later of its booked time and check-in."""
    arrival = must_utc(ticket.arrival_at)
    booked = utc(ticket.appointment_at)
    return arrival if booked is None else max(booked, arrival)


def _mean_errors(errors: Sequence[float]) -> tuple[float | None, float | None]:
    """The mean absolute error and the mean error (bias) of ``errors``, in seconds."""
    if not errors:
        return None, None
    return (
        _seconds(sum(abs(e) for e in errors) / len(errors)),
        _seconds(sum(errors) / len(errors)),
    )


def _estimate_figures(
    tickets: Sequence[TicketLike], estimates: Mapping[str, Sequence[Estimate]]
) -> dict[str, Any]:
    """The wait-estimate figures of ``tickets`` (docs/reports.md, "Wait estimates").
    ``estimates``: by ticket id, each ticket's in the order given, its first the one
    given at issue."""
    given = measured = not_called = without_minutes = 0
    at_issue: list[float] = []
    updates: list[float] = []
    for t in tickets:
        given_here = estimates.get(getattr(t, "id", None) or "", ())
        if not given_here:
            continue
        # the first is the one given at issue, unless the records say otherwise (an
        # issue row lost: the ticket's updates still count)
        if given_here[0].why in (None, "issue"):
            first, later = given_here[0], given_here[1:]
        else:
            first, later = None, given_here
        called = utc(t.first_called_at)
        if first is None:
            pass
        elif first.minutes is None:
            without_minutes += 1
        else:
            given += 1
            if called is None:
                not_called += 1
            else:
                measured += 1
                at_issue.append(first.minutes * 60 - (called - must_utc(first.at)).total_seconds())
        if called is None:
            continue
        for e in later:
            at = must_utc(e.at)
            if e.minutes is not None and at <= called:
                updates.append(e.minutes * 60 - (called - at).total_seconds())
    mae, bias = _mean_errors(at_issue)
    updates_mae, updates_bias = _mean_errors(updates)
    return {
        "estimates_given": given,
        "estimates_measured": measured,
        "estimates_not_called": not_called,
        "estimates_without_minutes": without_minutes,
        "estimate_mae_seconds": mae,
        "estimate_bias_seconds": bias,
        "estimate_updates_measured": len(updates),
        "estimate_updates_mae_seconds": updates_mae,
        "estimate_updates_bias_seconds": updates_bias,
    }


def _figures(
    tickets: Sequence[TicketLike],
    appointments: Sequence[AppointmentLike],
    *,
    now: datetime,
    standard: timedelta,
    checkin_late: timedelta,
    targets: Mapping[str, timedelta] | None,
    tz_of: Callable[[object], tzinfo],
    choices: Sequence[ChoiceLike] = (),
    estimates: Mapping[str, Sequence[Estimate]] | None = None,
) -> Figures:
    waits: list[float] = []
    appointments_met: list[bool] = []
    walk_ins_met: list[bool] = []
    unknown_target = 0
    service_times: list[float] = []
    by_hour: dict[int, int] = {}
    for t in tickets:
        hour = must_utc(t.issued_at).astimezone(tz_of(t)).hour
        by_hour[hour] = by_hour.get(hour, 0) + 1
        called = utc(t.first_called_at)
        if t.origin == "appointment":
            due = _due(t)
            if called is not None:
                # Called before it was due counts as no wait, not a negative one.
                waits.append(max(called - due, timedelta()).total_seconds())
            met = _standard_met(due, standard, t, now)
            if met is not None:
                appointments_met.append(met)
        else:
            if called is not None:
                waits.append((called - must_utc(t.arrival_at)).total_seconds())
            target = _target_for(t, targets)
            if target is None:
                unknown_target += 1
            else:
                met = _standard_met(must_utc(t.arrival_at), target, t, now)
                if met is not None:
                    walk_ins_met.append(met)
        started, finished = utc(t.service_started_at), utc(t.finished_at)
        if t.state == "done" and started is not None and finished is not None:
            service_times.append((finished - started).total_seconds())
    waits.sort()

    done = [t for t in tickets if t.state == "done"]
    served = sum(1 for t in tickets if t.service_started_at is not None)
    no_shows = sum(1 for t in tickets if t.state == "no_show")
    cancelled = sum(1 for t in tickets if t.state == "cancelled")
    resolved = sum(1 for t in done if t.outcome == "resolved")
    avoidable = sum(1 for t in done if t.avoidable)

    status = [a.status for a in appointments]
    missed = sum(
        1 for a in appointments if a.status == "booked" and must_utc(a.at) + checkin_late < now
    )
    booked_now = sum(1 for s in status if s == "booked")

    return Figures(
        issued=len(tickets),
        issued_walk_in=sum(1 for t in tickets if t.origin != "appointment"),
        issued_appointment=sum(1 for t in tickets if t.origin == "appointment"),
        served=served,
        completed=len(done),
        no_shows=no_shows,
        cancelled=cancelled,
        still_open=sum(1 for t in tickets if t.state not in ("done", "no_show", "cancelled")),
        transferred=sum(1 for t in tickets if t.transfers > 0),
        abandoned=no_shows + cancelled,
        abandonment_rate=_share(no_shows + cancelled, len(tickets)),
        waits_counted=len(waits),
        wait_p50_seconds=_seconds(nearest_rank(waits, 50)),
        wait_p90_seconds=_seconds(nearest_rank(waits, 90)),
        wait_max_seconds=_seconds(waits[-1] if waits else None),
        appointments_standard_counted=len(appointments_met),
        appointments_standard_met=sum(appointments_met),
        appointments_within_standard_share=_share(sum(appointments_met), len(appointments_met)),
        walk_ins_target_counted=len(walk_ins_met),
        walk_ins_target_met=sum(walk_ins_met),
        walk_ins_target_unknown=unknown_target,
        walk_ins_within_target_share=_share(sum(walk_ins_met), len(walk_ins_met)),
        service_times_counted=len(service_times),
        mean_service_seconds=_seconds(
            sum(service_times) / len(service_times) if service_times else None
        ),
        resolved=resolved,
        first_contact_resolution_share=_share(resolved, len(done)),
        avoidable=avoidable,
        avoidable_contact_share=_share(avoidable, len(done)),
        face_to_face_cost_gbp=float(served * FACE_TO_FACE_COST_GBP),
        appointments_booked=sum(1 for s in status if s != "cancelled"),
        appointments_checked_in=sum(1 for s in status if s == "checked_in"),
        appointments_late=sum(1 for s in status if s == "late"),
        appointments_missed=missed,
        appointments_awaited=booked_now - missed,
        appointments_cancelled=sum(1 for s in status if s == "cancelled"),
        channel_shift_offered=len(choices),
        channel_shift_online=sum(1 for c in choices if c.choice == "online"),
        channel_shift_share=_share(sum(1 for c in choices if c.choice == "online"), len(choices)),
        **_estimate_figures(tickets, estimates or {}),
        by_hour=dict(sorted(by_hour.items())),
    )


def _estimates_by_ticket(
    estimates: Estimates | None, tickets: Sequence[TicketLike]
) -> dict[str, list[Estimate]]:
    """The estimates given for ``tickets``, by ticket id, each ticket's in the order
    given with the one given at issue first. ``TypeError`` for an estimate that is
    neither an object with ``ticket_id``, ``at`` and ``minutes`` nor such a tuple."""
    if not estimates:
        return {}
    by_id = {getattr(t, "id", None): t for t in tickets}
    found: dict[str, list[Estimate]] = {}
    if isinstance(estimates, Mapping):
        for ticket_id, minutes in estimates.items():
            ticket = by_id.get(ticket_id)
            if ticket is not None:
                at = must_utc(ticket.issued_at)
                found[ticket_id] = [Estimate(ticket_id, at, minutes, "issue")]
        return found
    for n, item in enumerate(estimates):
        if isinstance(item, tuple):
            if len(item) != 3:
                raise TypeError(
                    f"estimate {n}: a tuple is (ticket_id, at, minutes), not {len(item)} values"
                )
            estimate = Estimate(*item)
        elif all(hasattr(item, a) for a in ("ticket_id", "at", "minutes")):
            ticket_id, given_at, minutes = (
                getattr(item, a) for a in ("ticket_id", "at", "minutes")
            )
            estimate = Estimate(ticket_id, given_at, minutes, getattr(item, "why", None))
        else:
            raise TypeError(
                f"estimate {n}: {type(item).__name__} has no ticket_id, at and minutes; "
                "give WaitEstimateRow-like objects or (ticket_id, at, minutes) tuples"
            )
        if estimate.ticket_id in by_id:
            found.setdefault(estimate.ticket_id, []).append(estimate)
    for given in found.values():
        # the one given at issue first (its ``why``, else the earliest), then by time
        given.sort(key=lambda e: (e.why != "issue" if e.why else False, must_utc(e.at)))
    return found


_Row = TypeVar("_Row")


def _group(rows: Iterable[_Row], attribute: str) -> dict[str, list[_Row]]:
    """Rows by the value of ``attribute``; rows without one (None or absent) left out."""
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        key = getattr(row, attribute, None)
        if key is not None:
            groups.setdefault(key, []).append(row)
    return groups


def build_report(
    tickets: Iterable[TicketLike],
    appointments: Iterable[AppointmentLike],
    *,
    day: date,
    now: datetime,
    standard: timedelta = _DEFAULT_POLICY.appointment_standard,
    targets: Mapping[str, timedelta] | None = None,
    centre: str | None = None,
    tz: tzinfo = LONDON,
    centre_tz: Mapping[str, tzinfo] | None = None,
    checkin_late: timedelta = _DEFAULT_POLICY.checkin_late,
    choices: Iterable[ChoiceLike] = (),
    estimates: Estimates | None = None,
) -> DayReport:
    """The figures for ``day`` from ticket and appointment rows. Pure: no I/O, no clock.

    ``choices`` are the kiosks' channel-shift records (``ChannelChoiceRow``); those
    made on ``day`` locally count.

    ``estimates`` are the wait estimates given to visitors (``Estimates``: stored
    ``WaitEstimateRow``s, ``(ticket_id, at, minutes)`` tuples, or ticket id -> the
    minutes given at issue); those of the day's tickets are measured against their
    first calls. Left out, the estimate figures are zeros and nulls.

    ``tickets`` may hold other days' tickets: only those numbered on ``day`` count.
    ``appointments`` may too: only bookings whose ``at`` falls on ``day`` in the
    centre's local time count. With ``centre`` set, rows of other centres are left out
    (rows with no ``centre`` attribute, such as core values, are kept); with it None,
    the report also breaks the figures down by centre.

    ``now`` (aware) says which deadlines have passed. ``standard`` is the appointment
    standard (``Policy.appointment_standard``); ``checkin_late`` how long after its time
    a booking can still check in (``Policy.checkin_closes``: ``checkin_late``, or the
    late check-in limit when late visitors keep their appointment), after which an
    unused one is missed. ``targets`` gives each service's target wait for walk-in
    tickets that carry no ``target_wait_seconds`` of their own. ``tz`` is the centres' time zone,
    ``centre_tz`` overrides it per centre id. Raises ``ValueError`` for a naive ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    zones = dict(centre_tz or {})

    def tz_of(row: object) -> tzinfo:
        centre_id = getattr(row, "centre", None)
        return zones.get(centre_id, tz) if centre_id is not None else tz

    def wanted(row: object) -> bool:
        return centre is None or getattr(row, "centre", centre) == centre

    day_tickets = [t for t in tickets if t.day == day and wanted(t)]
    given = _estimates_by_ticket(estimates, day_tickets)
    day_appointments = [
        a for a in appointments if wanted(a) and must_utc(a.at).astimezone(tz_of(a)).date() == day
    ]

    day_choices = [
        c for c in choices if wanted(c) and must_utc(c.at).astimezone(tz_of(c)).date() == day
    ]

    def figures(
        some_tickets: Sequence[TicketLike],
        some_appointments: Sequence[AppointmentLike],
        some_choices: Sequence[ChoiceLike],
    ) -> Figures:
        return _figures(
            some_tickets,
            some_appointments,
            now=now,
            standard=standard,
            checkin_late=checkin_late,
            targets=targets,
            tz_of=tz_of,
            choices=some_choices,
            estimates=given,
        )

    def breakdown(attribute: str) -> dict[str, Figures]:
        tickets_by = _group(day_tickets, attribute)
        appointments_by = _group(day_appointments, attribute)
        choices_by = _group(day_choices, attribute)
        return {
            key: figures(
                tickets_by.get(key, []), appointments_by.get(key, []), choices_by.get(key, [])
            )
            for key in sorted(tickets_by.keys() | appointments_by.keys() | choices_by.keys())
        }

    return DayReport(
        day=day,
        centre=centre,
        now=now,
        appointment_standard=standard,
        overall=figures(day_tickets, day_appointments, day_choices),
        services=breakdown("service"),
        centres=breakdown("centre") if centre is None else {},
        counters=breakdown("counter"),
    )


# ------------------------------------------------------------------ reading the store


def appointments_between(
    store: Store, start: datetime, end: datetime, centre: str | None = None
) -> list[AppointmentRow]:
    """Bookings with ``start <= at < end`` (aware datetimes), any centre if None.

    Lives here rather than on ``Store`` until the repository grows a reads-for-reports
    method for bookings; it uses the store's engine and tables only.
    """
    table: sa.Table = AppointmentRow.__table__  # type: ignore[attr-defined]
    a = table.c
    query = sa.select(table).where(a.at >= start.astimezone(UTC), a.at < end.astimezone(UTC))
    if centre is not None:
        query = query.where(a.centre == centre)
    with store.engine.connect() as conn:
        return [AppointmentRow(**r._mapping) for r in conn.execute(query.order_by(a.at))]


def centre_time_zones(store: Store) -> dict[str, tzinfo]:
    """Each registered centre's time zone (the ``centre`` table), skipping unknown names."""
    table: sa.Table = CentreRow.__table__  # type: ignore[attr-defined]
    c = table.c
    zones: dict[str, tzinfo] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(c.id, c.timezone)):
            try:
                zones[row.id] = ZoneInfo(row.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return zones


def load_and_build(
    store: Store,
    day: date,
    centre: str | None = None,
    now: datetime | None = None,
    *,
    tz: tzinfo | None = None,
    standard: timedelta = _DEFAULT_POLICY.appointment_standard,
    targets: Mapping[str, timedelta] | None = None,
    checkin_late: timedelta = _DEFAULT_POLICY.checkin_late,
) -> DayReport:
    """Read ``day``'s tickets and bookings from ``store`` and build the report.

    ``now`` defaults to the wall clock. Time zones come from the store's centre
    registry; ``tz`` (default Europe/London) is for centres it does not list.
    Database errors (``sqlalchemy.exc.SQLAlchemyError``) are not caught here.
    """
    now = now or datetime.now(UTC)
    zones = centre_time_zones(store)
    # Bookings are stored by UTC instant; a day either side covers any centre's zone,
    # and build_report keeps only those on ``day`` locally.
    start = datetime.combine(day - timedelta(days=1), time(), tzinfo=UTC)
    end = datetime.combine(day + timedelta(days=2), time(), tzinfo=UTC)
    return build_report(
        store.tickets_for_day(centre, day),
        appointments_between(store, start, end, centre),
        day=day,
        now=now,
        standard=standard,
        targets=targets,
        centre=centre,
        tz=tz or LONDON,
        centre_tz=zones,
        checkin_late=checkin_late,
        choices=store.channel_choices(centre, start, end),
        estimates=estimates_for_day(store, centre, day),
    )


def options_for(setup: CentreSetup) -> dict[str, Any]:
    """``load_and_build``'s options from a centre's configuration: its time zone,
    service targets and policy. ``walkin report --config`` and the manager dashboard
    both use this, so they give the same figures for the same day."""
    return {
        "tz": setup.tz,
        "targets": {s.code: s.target_wait for s in setup.services},
        "standard": setup.policy.appointment_standard,
        "checkin_late": setup.policy.checkin_closes,
    }


# ------------------------------------------------------------------ output

#: CSV columns: the day and scope, then every figure but ``by_hour``, then issued per hour
FIGURE_COLUMNS = tuple(f.name for f in fields(Figures) if f.name != "by_hour")
HOUR_COLUMNS = tuple(f"issued_h{hour:02d}" for hour in range(24))
CSV_COLUMNS = ("day", "scope", "centre", "service", "counter", *FIGURE_COLUMNS, *HOUR_COLUMNS)


def _figures_dict(figures: Figures) -> dict[str, Any]:
    values: dict[str, Any] = plain(figures)
    values["by_hour"] = {f"{hour:02d}": n for hour, n in figures.by_hour.items()}
    return values


def to_dict(report: DayReport) -> dict[str, Any]:
    """The report as JSON-ready data (the shape ``to_json`` writes)."""
    return {
        "day": report.day.isoformat(),
        "centre": report.centre,
        "generated_at": report.now.isoformat(),
        "standards": {
            "appointment_standard_seconds": report.appointment_standard.total_seconds(),
            "abandonment_rate_max": ABANDONMENT_RATE_MAX,
            "first_contact_resolution_min": FIRST_CONTACT_RESOLUTION_MIN,
            "face_to_face_cost_gbp": float(FACE_TO_FACE_COST_GBP),
        },
        "overall": _figures_dict(report.overall),
        "services": {code: _figures_dict(f) for code, f in report.services.items()},
        "centres": {cid: _figures_dict(f) for cid, f in report.centres.items()},
        "counters": {name: _figures_dict(f) for name, f in report.counters.items()},
    }


def to_json(report: DayReport) -> str:
    # allow_nan=False: a NaN would be a bug in a figure, not a value to publish
    return json.dumps(to_dict(report), indent=2, allow_nan=False) + "\n"


def _csv_row(
    day: date,
    scope: str,
    centre: str | None,
    service: str | None,
    counter: str | None,
    f: Figures,
) -> list[Any]:
    values = [getattr(f, name) for name in FIGURE_COLUMNS]
    hours = [f.by_hour.get(hour, 0) for hour in range(24)]
    return [day.isoformat(), scope, centre or "", service or "", counter or "", *values, *hours]


def to_csv(reports: DayReport | Sequence[DayReport]) -> str:
    """One row per day and scope (overall, each service, each counter, each centre)
    under one header row.

    Empty cells are nulls. The column order is ``CSV_COLUMNS``: new figures are only
    ever added before the hour columns.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report in [reports] if isinstance(reports, DayReport) else reports:
        day, centre = report.day, report.centre
        writer.writerow(_csv_row(day, "overall", centre, None, None, report.overall))
        for code, f in report.services.items():
            writer.writerow(_csv_row(day, "service", centre, code, None, f))
        for name, f in report.counters.items():
            writer.writerow(_csv_row(day, "counter", centre, None, name, f))
        for cid, f in report.centres.items():
            writer.writerow(_csv_row(day, "centre", cid, None, None, f))
    return out.getvalue()
