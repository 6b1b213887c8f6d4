"""A day's figures for a centre (or every centre in a database), as JSON or CSV.

::

    build_report(tickets, appointments, *, day, now, ...) -> DayReport   pure, no I/O
    load_and_build(store, day, centre=None, now=None, ...) -> DayReport  reads the store
                          (tickets, bookings, channel choices, wait estimates, feedback)
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
from functools import partial
from typing import Any, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from queue_server.core.feedback import SATISFIED_SCORES
from queue_server.core.model import CentreSetup, Policy
from queue_server.jsonable import plain
from queue_server.store import Store
from queue_server.store.convert import must_utc, utc
from queue_server.store.estimates import estimates_for_day
from queue_server.store.rollups import bookings_query
from queue_server.store.tables import PHONE_DEVICE, CentreRow

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
    @property
    def device(self) -> str: ...  # a kiosk's name, or "remote:<phone>" for a phone


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


class FeedbackLike(Protocol):
    """A visitor's answer after their visit (``FeedbackRow``): its ticket and score."""

    @property
    def ticket_id(self) -> str: ...
    @property
    def score(self) -> int: ...


#: what ``build_report`` takes as the visitors' answers: ``FeedbackLike`` objects, or
#: a mapping of ticket id to score (5 very satisfied ... 1 very dissatisfied)
Answers = Iterable[FeedbackLike] | Mapping[str, int]


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
    #: channel shift: visitors offered a service's web page before a ticket (at a kiosk
    #: or on the join page of a phone), how many of them chose to go online, and that
    #: share; then those offered on a phone and how many went online there (the rest
    #: were at a kiosk)
    channel_shift_offered: int
    channel_shift_online: int
    channel_shift_share: float | None
    channel_shift_phone_offered: int
    channel_shift_phone_online: int
    #: tickets joined from a phone (docs/joining.md), their share of all issued, and
    #: how many of them ended unseen because their visitor never said "I'm here"
    issued_remote: int
    remote_share: float | None
    remote_not_here: int
    #: tickets staff issued at the counter console for a visitor in front of them
    #: (docs/assistance.md, "Issued at the console")
    issued_reception: int
    #: tickets whose visitor asked for help (a wheelchair, an interpreter...: the
    #: centre's ``[[assistance]]``), and how many asked for each, by category code
    #: (not a CSV column: the CSV has ``issued_assisted``)
    issued_assisted: int
    assisted_by_category: Mapping[str, int]
    #: per category code: the mean wait to the first call of those called, in seconds
    #: (None: none called), and the share seen within their service's target (an
    #: appointment: within the standard) of those that can be judged. JSON only
    assisted_mean_wait_seconds_by_category: Mapping[str, float | None]
    assisted_within_target_share_by_category: Mapping[str, float | None]
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
    #: satisfaction (docs/reports.md, "Satisfaction"): completed visits whose visitor
    #: answered "How satisfied were you with the service today?", how many of them
    #: answered satisfied or very satisfied, that share, the mean score (5 very
    #: satisfied ... 1 very dissatisfied), and the answers per completed visit
    feedback_answers: int
    feedback_satisfied: int
    satisfaction_share: float | None
    satisfaction_mean_score: float | None
    feedback_response_rate: float | None
    #: the mean wait to the first call of the ``waits_counted`` tickets (the visitors
    #: the p50 and p90 are of), so those who asked for help can be set beside everyone
    wait_mean_seconds: float | None
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
    #: by the help asked for (docs/assistance.md), each category code's figures over
    #: the tickets that asked for it (a ticket that asked for two is in both)
    assistance: Mapping[str, Figures] = field(default_factory=dict)
    #: with ``centre`` None and rows of several centres, ``counters`` is keyed
    #: "centre/name" (the same name at two centres is two counters); this gives each
    #: such key's centre and name
    counter_centres: Mapping[str, tuple[str, str]] = field(default_factory=dict)


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


def _assistance_of(ticket: Any) -> tuple[str, ...]:
    """The assistance categories of a ticket as the core holds it (a tuple) or as a
    stored row holds it (comma-separated text, or None)."""
    value = getattr(ticket, "assistance", None)
    if not value:
        return ()
    return tuple(value.split(",")) if isinstance(value, str) else tuple(value)


def _tally_estimates(
    tally: Tally, tickets: Sequence[TicketLike], estimates: Mapping[str, Sequence[Estimate]]
) -> None:
    """Add the wait-estimate counts and errors of ``tickets`` to ``tally``
    (docs/reports.md, "Wait estimates"). ``estimates``: by ticket id, each ticket's in
    the order given, its first the one given at issue."""
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
            tally.estimates_without_minutes += 1
        else:
            tally.estimates_given += 1
            if called is None:
                tally.estimates_not_called += 1
            else:
                tally.estimates_measured += 1
                error = first.minutes * 60 - (called - must_utc(first.at)).total_seconds()
                tally.estimate_abs_error_total += abs(error)
                tally.estimate_error_total += error
        if called is None:
            continue
        for e in later:
            at = must_utc(e.at)
            if e.minutes is not None and at <= called:
                error = e.minutes * 60 - (called - at).total_seconds()
                tally.estimate_updates_measured += 1
                tally.estimate_updates_abs_error_total += abs(error)
                tally.estimate_updates_error_total += error


# ------------------------------------------------------------------ tallies (roll-ups)

#: Wait histogram buckets, in seconds: 10 s wide below 10 minutes, 30 s below an
#: hour, a minute below four hours, five minutes above (docs/reports.md, "Ranges").
#: A percentile read from the histogram is exact to its bucket.
_BUCKET_BANDS = ((600, 10), (3600, 30), (14400, 60))
_WIDE_BUCKET = 300


def wait_bucket(seconds: float) -> int:
    """The histogram bucket of a wait of ``seconds`` (negative counts as 0)."""
    seconds = max(0.0, seconds)
    first = 0
    low = 0
    for high, width in _BUCKET_BANDS:
        if seconds < high:
            return first + int((seconds - low) // width)
        first += (high - low) // width
        low = high
    return first + int((seconds - low) // _WIDE_BUCKET)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The waits ``[low, high)`` seconds that fall in ``bucket``."""
    first = 0
    low = 0
    for high, width in _BUCKET_BANDS:
        count = (high - low) // width
        if bucket < first + count:
            start = low + (bucket - first) * width
            return float(start), float(start + width)
        first += count
        low = high
    start = low + (bucket - first) * _WIDE_BUCKET
    return float(start), float(start + _WIDE_BUCKET)


def bucketed_rank(buckets: Mapping[int, int], maximum: float | None, percent: int) -> float | None:
    """The nearest-rank percentile read from a wait histogram: the top of the bucket
    that holds it, never above the largest wait seen (so the 100th is exact)."""
    n = sum(buckets.values())
    if n == 0:
        return None
    rank = max(1, -(-percent * n // 100))
    seen = 0
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        if seen >= rank:
            top = bucket_bounds(bucket)[1]
            return top if maximum is None else min(top, maximum)
    return maximum  # not reached: the counts add up to n


@dataclass
class Tally:
    """Every count and sum the figures are made of, for one scope of one or more days.
    Two tallies of disjoint tickets merge by adding (``merge``), so a range's figures
    are its days' roll-ups merged; ``figures_of`` turns a tally into ``Figures``.
    Waits are kept as a histogram (``wait_bucket``), their largest exactly."""

    issued: int = 0
    issued_walk_in: int = 0
    issued_appointment: int = 0
    served: int = 0
    completed: int = 0
    no_shows: int = 0
    cancelled: int = 0
    still_open: int = 0
    transferred: int = 0
    waits_counted: int = 0
    #: the waits added up, for their mean
    wait_seconds_total: float = 0.0
    wait_buckets: dict[int, int] = field(default_factory=dict)
    wait_max_seconds: float | None = None
    appointments_standard_counted: int = 0
    appointments_standard_met: int = 0
    walk_ins_target_counted: int = 0
    walk_ins_target_met: int = 0
    walk_ins_target_unknown: int = 0
    service_times_counted: int = 0
    service_seconds_total: float = 0.0
    resolved: int = 0
    avoidable: int = 0
    appointments_booked: int = 0
    appointments_checked_in: int = 0
    appointments_late: int = 0
    appointments_missed: int = 0
    appointments_awaited: int = 0
    appointments_cancelled: int = 0
    channel_shift_offered: int = 0
    channel_shift_online: int = 0
    channel_shift_phone_offered: int = 0
    channel_shift_phone_online: int = 0
    issued_remote: int = 0
    remote_not_here: int = 0
    issued_reception: int = 0
    issued_assisted: int = 0
    #: tickets that asked for each kind of help (docs/assistance.md), by category code
    assisted_by_category: dict[str, int] = field(default_factory=dict)
    #: per category: waits to the first call (how many, and their seconds in all),
    #: and visits judged against their target or standard (how many, how many met)
    assisted_waits_by_category: dict[str, int] = field(default_factory=dict)
    assisted_wait_seconds_by_category: dict[str, float] = field(default_factory=dict)
    assisted_judged_by_category: dict[str, int] = field(default_factory=dict)
    assisted_met_by_category: dict[str, int] = field(default_factory=dict)
    estimates_given: int = 0
    estimates_measured: int = 0
    estimates_not_called: int = 0
    estimates_without_minutes: int = 0
    estimate_abs_error_total: float = 0.0
    estimate_error_total: float = 0.0
    estimate_updates_measured: int = 0
    estimate_updates_abs_error_total: float = 0.0
    estimate_updates_error_total: float = 0.0
    feedback_answers: int = 0
    feedback_satisfied: int = 0
    feedback_score_total: int = 0
    by_hour: dict[int, int] = field(default_factory=dict)

    def merge(self, other: Tally) -> Tally:
        """A new tally of both (neither is changed)."""
        values: dict[str, Any] = {}
        for f in fields(Tally):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, dict):
                merged = dict(mine)
                for key, n in theirs.items():
                    merged[key] = merged.get(key, 0) + n
                values[f.name] = merged
            elif f.name == "wait_max_seconds":
                values[f.name] = max((v for v in (mine, theirs) if v is not None), default=None)
            else:
                values[f.name] = mine + theirs
        return Tally(**values)

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: zero counts and empty histograms left out (``from_data`` reads
        them back as zero and empty)."""
        data: dict[str, Any] = {}
        for f in fields(Tally):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                if value:
                    data[f.name] = {str(k): n for k, n in sorted(value.items())}
            elif value or (f.name == "wait_max_seconds" and value is not None):
                data[f.name] = value  # a longest wait of 0 s is not "no waits"
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Tally:
        """The tally ``to_data`` wrote; ``ValueError`` for anything else."""
        names = {f.name for f in fields(Tally)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"not a tally: unknown figures {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("wait_buckets", "by_hour"):
                values[name] = {int(k): int(n) for k, n in value.items()}
            elif name == "assisted_wait_seconds_by_category":
                values[name] = {str(k): float(n) for k, n in value.items()}
            elif name in _BY_CATEGORY:
                values[name] = {str(k): int(n) for k, n in value.items()}
            else:
                values[name] = value
        return cls(**values)


def merge_tallies(tallies: Iterable[Tally]) -> Tally:
    """One tally of them all (``Tally.merge`` of each in turn, done in one pass)."""
    return sum_tally_data(t.to_data() for t in tallies)


#: the tally's counts per assistance category, keyed by its code
_BY_CATEGORY = frozenset(
    {
        "assisted_by_category",
        "assisted_waits_by_category",
        "assisted_wait_seconds_by_category",
        "assisted_judged_by_category",
        "assisted_met_by_category",
    }
)
_HISTOGRAMS = frozenset({"wait_buckets", "by_hour"}) | _BY_CATEGORY


def sum_tally_data(datas: Iterable[Mapping[str, Any]]) -> Tally:
    """The tally of many ``Tally.to_data()`` dicts added up, without building a tally
    for each: a stored roll-up holds only its non-zero figures, so adding it costs its
    handful of keys, not every field (a council's year is 84,000 of them: 4.2 s merging
    tallies one by one, issue 12)."""
    total: dict[str, Any] = {}
    for data in datas:
        for name, value in data.items():
            if name in _HISTOGRAMS:
                into = total.get(name)
                if into is None:
                    into = total[name] = {}
                for key, n in value.items():
                    into[key] = into.get(key, 0) + n
            elif name == "wait_max_seconds":
                if value is not None:
                    known = total.get(name)
                    total[name] = value if known is None or value > known else known
            else:
                total[name] = total.get(name, 0) + value
    return Tally.from_data(total)


def figures_of(tally: Tally, waits: Sequence[float] | None = None) -> Figures:
    """The figures of ``tally``. ``waits``, every wait sorted, gives exact percentiles
    (a day read from its tickets); without them they are read from the histogram,
    exact to the bucket (a range read from roll-ups)."""
    t = tally
    if waits is not None:
        p50, p90 = nearest_rank(waits, 50), nearest_rank(waits, 90)
    else:
        p50 = bucketed_rank(t.wait_buckets, t.wait_max_seconds, 50)
        p90 = bucketed_rank(t.wait_buckets, t.wait_max_seconds, 90)
    abandoned = t.no_shows + t.cancelled
    return Figures(
        issued=t.issued,
        issued_walk_in=t.issued_walk_in,
        issued_appointment=t.issued_appointment,
        served=t.served,
        completed=t.completed,
        no_shows=t.no_shows,
        cancelled=t.cancelled,
        still_open=t.still_open,
        transferred=t.transferred,
        abandoned=abandoned,
        abandonment_rate=_share(abandoned, t.issued),
        waits_counted=t.waits_counted,
        wait_p50_seconds=_seconds(p50),
        wait_p90_seconds=_seconds(p90),
        wait_max_seconds=_seconds(t.wait_max_seconds),
        appointments_standard_counted=t.appointments_standard_counted,
        appointments_standard_met=t.appointments_standard_met,
        appointments_within_standard_share=_share(
            t.appointments_standard_met, t.appointments_standard_counted
        ),
        walk_ins_target_counted=t.walk_ins_target_counted,
        walk_ins_target_met=t.walk_ins_target_met,
        walk_ins_target_unknown=t.walk_ins_target_unknown,
        walk_ins_within_target_share=_share(t.walk_ins_target_met, t.walk_ins_target_counted),
        service_times_counted=t.service_times_counted,
        mean_service_seconds=_seconds(
            t.service_seconds_total / t.service_times_counted if t.service_times_counted else None
        ),
        resolved=t.resolved,
        first_contact_resolution_share=_share(t.resolved, t.completed),
        avoidable=t.avoidable,
        avoidable_contact_share=_share(t.avoidable, t.completed),
        face_to_face_cost_gbp=float(t.served * FACE_TO_FACE_COST_GBP),
        appointments_booked=t.appointments_booked,
        appointments_checked_in=t.appointments_checked_in,
        appointments_late=t.appointments_late,
        appointments_missed=t.appointments_missed,
        appointments_awaited=t.appointments_awaited,
        appointments_cancelled=t.appointments_cancelled,
        channel_shift_offered=t.channel_shift_offered,
        channel_shift_online=t.channel_shift_online,
        channel_shift_share=_share(t.channel_shift_online, t.channel_shift_offered),
        channel_shift_phone_offered=t.channel_shift_phone_offered,
        channel_shift_phone_online=t.channel_shift_phone_online,
        issued_remote=t.issued_remote,
        remote_share=_share(t.issued_remote, t.issued),
        remote_not_here=t.remote_not_here,
        issued_reception=t.issued_reception,
        issued_assisted=t.issued_assisted,
        assisted_by_category=dict(sorted(t.assisted_by_category.items())),
        assisted_mean_wait_seconds_by_category={
            code: _mean(
                t.assisted_wait_seconds_by_category.get(code, 0),
                t.assisted_waits_by_category.get(code, 0),
            )
            for code in sorted(t.assisted_by_category)
        },
        assisted_within_target_share_by_category={
            code: _share(
                t.assisted_met_by_category.get(code, 0),
                t.assisted_judged_by_category.get(code, 0),
            )
            for code in sorted(t.assisted_by_category)
        },
        estimates_given=t.estimates_given,
        estimates_measured=t.estimates_measured,
        estimates_not_called=t.estimates_not_called,
        estimates_without_minutes=t.estimates_without_minutes,
        estimate_mae_seconds=_mean(t.estimate_abs_error_total, t.estimates_measured),
        estimate_bias_seconds=_mean(t.estimate_error_total, t.estimates_measured),
        estimate_updates_measured=t.estimate_updates_measured,
        estimate_updates_mae_seconds=_mean(
            t.estimate_updates_abs_error_total, t.estimate_updates_measured
        ),
        estimate_updates_bias_seconds=_mean(
            t.estimate_updates_error_total, t.estimate_updates_measured
        ),
        feedback_answers=t.feedback_answers,
        feedback_satisfied=t.feedback_satisfied,
        satisfaction_share=_share(t.feedback_satisfied, t.feedback_answers),
        satisfaction_mean_score=(
            round(t.feedback_score_total / t.feedback_answers, 2) if t.feedback_answers else None
        ),
        feedback_response_rate=_share(t.feedback_answers, t.completed),
        wait_mean_seconds=_mean(t.wait_seconds_total, t.waits_counted),
        by_hour=dict(sorted(t.by_hour.items())),
    )


def _add(counts: dict[str, Any], key: str, n: float) -> None:
    counts[key] = counts.get(key, 0) + n


def _mean(total: float, count: int) -> float | None:
    return _seconds(total / count) if count else None


class _Facts(NamedTuple):
    """What one ticket adds to any tally it is in (``_facts_of``), worked out once
    for a day's report however many tallies (the day, its service, its counter, its
    centre) it is counted in."""

    hour: int
    #: seconds from arrival (an appointment: from when it was due) to the first call
    wait: float | None
    #: within the standard or target (None: not judged yet, or no target known)
    met: bool | None
    appointment: bool
    target_unknown: bool
    service_seconds: float | None
    channel: str
    remote_not_here: bool
    asked: tuple[str, ...]
    served: bool
    transferred: bool
    state: str
    resolved: bool
    avoidable: bool
    score: int | None


def _facts_of(
    ticket: TicketLike,
    *,
    now: datetime,
    standard: timedelta,
    targets: Mapping[str, timedelta] | None,
    tz_of: Callable[[object], tzinfo],
    answers: Mapping[str, int] | None,
) -> _Facts:
    hour = must_utc(ticket.issued_at).astimezone(tz_of(ticket)).hour
    called = utc(ticket.first_called_at)
    met: bool | None = None
    wait: float | None = None
    appointment = ticket.origin == "appointment"
    target_unknown = False
    if appointment:
        due = _due(ticket)
        if called is not None:
            # Called before it was due counts as no wait, not a negative one.
            wait = max(called - due, timedelta()).total_seconds()
        met = _standard_met(due, standard, ticket, now)
    else:
        if called is not None:
            wait = (called - must_utc(ticket.arrival_at)).total_seconds()
        target = _target_for(ticket, targets)
        if target is None:
            target_unknown = True
        else:
            met = _standard_met(must_utc(ticket.arrival_at), target, ticket, now)
    started, finished = utc(ticket.service_started_at), utc(ticket.finished_at)
    # a visit the close of day ended (done with no outcome: an adviser's Complete
    # always has one) lasted until midnight only on paper: not a visit's length
    ended_by_adviser = ticket.outcome is not None
    service_seconds = (
        (finished - started).total_seconds()
        if ticket.state == "done" and ended_by_adviser and started and finished
        else None
    )
    channel = getattr(ticket, "channel", "kiosk")
    done = ticket.state == "done"
    return _Facts(
        hour=hour,
        wait=wait,
        met=met,
        appointment=appointment,
        target_unknown=target_unknown,
        service_seconds=service_seconds,
        channel=channel,
        # ended by the grace period: a no-show never called (docs/joining.md)
        remote_not_here=channel == "remote"
        and ticket.state == "no_show"
        and ticket.first_called_at is None,
        asked=tuple(_assistance_of(ticket)),
        served=ticket.service_started_at is not None,
        transferred=ticket.transfers > 0,
        state=ticket.state,
        resolved=done and ticket.outcome == "resolved",
        avoidable=done and bool(ticket.avoidable),
        score=answers.get(getattr(ticket, "id", None), None) if answers and done else None,
    )


def _tally(
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
    answers: Mapping[str, int] | None = None,
    known: dict[int, _Facts],
) -> tuple[Tally, list[float]]:
    """The tally of these rows (docs/reports.md defines each figure) and every wait,
    sorted. ``known``: each ticket's ``_Facts`` by ``id(ticket)``, kept between the
    tallies of one day's rows (the same ``now``, options and answers each time)."""
    waits: list[float] = []
    t = Tally()
    facts_for = partial(
        _facts_of, now=now, standard=standard, targets=targets, tz_of=tz_of, answers=answers
    )
    for ticket in tickets:
        f = known.get(id(ticket))
        if f is None:
            f = known[id(ticket)] = facts_for(ticket)
        t.by_hour[f.hour] = t.by_hour.get(f.hour, 0) + 1
        met = f.met
        if f.wait is not None:
            waits.append(f.wait)
        if f.appointment:
            if met is not None:
                t.appointments_standard_counted += 1
                t.appointments_standard_met += met
        elif f.target_unknown:
            t.walk_ins_target_unknown += 1
        elif met is not None:
            t.walk_ins_target_counted += 1
            t.walk_ins_target_met += met
        if f.service_seconds is not None:
            t.service_times_counted += 1
            t.service_seconds_total += f.service_seconds
        t.issued += 1
        if f.appointment:
            t.issued_appointment += 1
        else:
            t.issued_walk_in += 1
        if f.channel == "reception":
            t.issued_reception += 1
        if f.channel == "remote":
            t.issued_remote += 1
            t.remote_not_here += f.remote_not_here
        if f.asked:
            t.issued_assisted += 1
            for code in f.asked:
                _add(t.assisted_by_category, code, 1)
                if f.wait is not None:
                    _add(t.assisted_waits_by_category, code, 1)
                    _add(t.assisted_wait_seconds_by_category, code, f.wait)
                if met is not None:
                    _add(t.assisted_judged_by_category, code, 1)
                    _add(t.assisted_met_by_category, code, int(met))
        t.served += f.served
        t.transferred += f.transferred
        if f.state == "done":
            t.completed += 1
            t.resolved += f.resolved
            t.avoidable += f.avoidable
            if f.score is not None:
                t.feedback_answers += 1
                t.feedback_satisfied += f.score in SATISFIED_SCORES
                t.feedback_score_total += f.score
        elif f.state == "no_show":
            t.no_shows += 1
        elif f.state == "cancelled":
            t.cancelled += 1
        else:
            t.still_open += 1
    waits.sort()
    t.waits_counted = len(waits)
    t.wait_seconds_total = sum(waits)
    for wait in waits:
        bucket = wait_bucket(wait)
        t.wait_buckets[bucket] = t.wait_buckets.get(bucket, 0) + 1
    t.wait_max_seconds = waits[-1] if waits else None

    for a in appointments:
        status = a.status
        if status != "cancelled":
            t.appointments_booked += 1
        if status == "checked_in":
            t.appointments_checked_in += 1
        elif status == "late":
            t.appointments_late += 1
        elif status == "cancelled":
            t.appointments_cancelled += 1
        elif status == "booked":
            if must_utc(a.at) + checkin_late < now:
                t.appointments_missed += 1
            else:
                t.appointments_awaited += 1
    t.channel_shift_offered = len(choices)
    t.channel_shift_online = sum(1 for c in choices if c.choice == "online")
    phones = [c for c in choices if c.device.startswith(PHONE_DEVICE)]
    t.channel_shift_phone_offered = len(phones)
    t.channel_shift_phone_online = sum(1 for c in phones if c.choice == "online")
    _tally_estimates(t, tickets, estimates or {})
    return t, waits


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


def _scores_by_ticket(answers: Answers | None) -> dict[str, int]:
    """Each answering ticket's score (``TypeError`` for an answer with no ticket_id
    and score)."""
    if not answers:
        return {}
    if isinstance(answers, Mapping):
        return {str(k): int(v) for k, v in answers.items()}
    scores: dict[str, int] = {}
    for n, answer in enumerate(answers):
        if not (hasattr(answer, "ticket_id") and hasattr(answer, "score")):
            raise TypeError(f"answer {n}: {type(answer).__name__} has no ticket_id and score")
        scores[answer.ticket_id] = int(answer.score)
    return scores


_Row = TypeVar("_Row")


def _group(
    rows: Iterable[_Row], attribute: str, with_centre: bool = False
) -> dict[str, list[_Row]]:
    """Rows by the value of ``attribute``; rows without one (None or absent) left out.
    ``with_centre``: keyed "centre/value" where a row names its centre (the same
    counter name at two centres is two counters)."""
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        key = getattr(row, attribute, None)
        if key is not None:
            centre = getattr(row, "centre", None) if with_centre else None
            groups.setdefault(key if centre is None else f"{centre}/{key}", []).append(row)
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
    answers: Answers | None = None,
) -> DayReport:
    """The figures for ``day`` from ticket and appointment rows. Pure: no I/O, no clock.

    ``choices`` are the kiosks' channel-shift records (``ChannelChoiceRow``); those
    made on ``day`` locally count.

    ``estimates`` are the wait estimates given to visitors (``Estimates``: stored
    ``WaitEstimateRow``s, ``(ticket_id, at, minutes)`` tuples, or ticket id -> the
    minutes given at issue); those of the day's tickets are measured against their
    first calls. Left out, the estimate figures are zeros and nulls.

    ``answers`` are the visitors' feedback after their visits (``FeedbackRow``s, or
    ticket id -> score): each counts with its ticket, so by the ticket's day, service
    and counter. Left out, the satisfaction figures are zeros and nulls.

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
    options = {"standard": standard, "checkin_late": checkin_late, "targets": targets}
    where = {"day": day, "now": now, "centre": centre, "tz": tz, "centre_tz": centre_tz}
    day_rows = _DayRows.select(
        tickets, appointments, choices, estimates, answers, options=options, **where
    )

    def breakdown(attribute: str, with_centre: bool = False) -> dict[str, Figures]:
        tallies = day_rows.tallies_by(attribute, with_centre)
        return {key: figures_of(*tw) for key, tw in tallies.items()}

    # counters of the same name at different centres are different counters: keyed
    # "centre/name" when the day's rows are of more than one centre, as a range
    # report over several centres keys them (``ranges``)
    several = centre is None and len(day_rows.centres()) > 1
    counters = breakdown("counter", with_centre=several)
    counter_centres = day_rows.counter_centres() if several else {}

    return DayReport(
        day=day,
        centre=centre,
        now=day_rows.now,
        appointment_standard=standard,
        overall=figures_of(
            *day_rows.tally(day_rows.tickets, day_rows.appointments, day_rows.choices)
        ),
        services=breakdown("service"),
        centres=breakdown("centre") if centre is None else {},
        counters=counters,
        counter_centres=counter_centres,
        assistance={code: figures_of(*tw) for code, tw in day_rows.tallies_by_help().items()},
    )


#: the scopes of a day's roll-up (``DayRollupRow.scope``); "help": the tickets that
#: asked for one kind of help (``key`` its category code)
CENTRE_SCOPE, SERVICE_SCOPE, COUNTER_SCOPE = "centre", "service", "counter"
HELP_SCOPE = "help"


def day_tallies(
    tickets: Iterable[TicketLike],
    appointments: Iterable[AppointmentLike],
    *,
    day: date,
    now: datetime,
    centre: str,
    tz: tzinfo = LONDON,
    centre_tz: Mapping[str, tzinfo] | None = None,
    standard: timedelta = _DEFAULT_POLICY.appointment_standard,
    targets: Mapping[str, timedelta] | None = None,
    checkin_late: timedelta = _DEFAULT_POLICY.checkin_late,
    choices: Iterable[ChoiceLike] = (),
    estimates: Estimates | None = None,
    answers: Answers | None = None,
) -> dict[tuple[str, str], Tally]:
    """One centre's day as roll-up tallies, by (scope, key): ("centre", "") for the
    whole day (always there, if empty), ("service", code), ("counter", name) and
    ("help", category code: the tickets that asked for that help). The
    same rows and options as ``build_report`` give the same figures: ``figures_of`` of
    each tally is ``build_report``'s but for the wait percentiles, which are exact to
    the histogram's bucket (``bucketed_rank``)."""
    options = {"standard": standard, "checkin_late": checkin_late, "targets": targets}
    where = {"day": day, "now": now, "centre": centre, "tz": tz, "centre_tz": centre_tz}
    day_rows = _DayRows.select(
        tickets, appointments, choices, estimates, answers, options=options, **where
    )
    found = {
        (CENTRE_SCOPE, ""): day_rows.tally(
            day_rows.tickets, day_rows.appointments, day_rows.choices
        )[0]
    }
    for scope, attribute in ((SERVICE_SCOPE, "service"), (COUNTER_SCOPE, "counter")):
        for key, (tally, _waits) in day_rows.tallies_by(attribute).items():
            found[(scope, key)] = tally
    for code, (tally, _waits) in day_rows.tallies_by_help().items():
        found[(HELP_SCOPE, code)] = tally
    return found


@dataclass
class _DayRows:
    """The rows of one day (and centre, if one), and how to tally any part of them."""

    tickets: list[TicketLike]
    appointments: list[AppointmentLike]
    choices: list[ChoiceLike]
    given: dict[str, list[Estimate]]
    scores: dict[str, int]
    now: datetime
    tz_of: Callable[[object], tzinfo]
    options: dict[str, Any]
    #: each ticket's ``_Facts`` (by ``id``), worked out by the first tally it is in
    facts: dict[int, _Facts] = field(default_factory=dict)

    @classmethod
    def select(
        cls,
        tickets: Iterable[TicketLike],
        appointments: Iterable[AppointmentLike],
        choices: Iterable[ChoiceLike],
        estimates: Estimates | None,
        answers: Answers | None,
        *,
        day: date,
        now: datetime,
        centre: str | None,
        tz: tzinfo,
        centre_tz: Mapping[str, tzinfo] | None,
        options: dict[str, Any],
    ) -> _DayRows:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        zones = dict(centre_tz or {})

        def tz_of(row: object) -> tzinfo:
            centre_id = getattr(row, "centre", None)
            return zones.get(centre_id, tz) if centre_id is not None else tz

        def wanted(row: object) -> bool:
            return centre is None or getattr(row, "centre", centre) == centre

        def local_day(at: datetime, row: object) -> date:
            return must_utc(at).astimezone(tz_of(row)).date()

        day_tickets = [t for t in tickets if t.day == day and wanted(t)]
        return cls(
            tickets=day_tickets,
            appointments=[a for a in appointments if wanted(a) and local_day(a.at, a) == day],
            choices=[c for c in choices if wanted(c) and local_day(c.at, c) == day],
            given=_estimates_by_ticket(estimates, day_tickets),
            scores=_scores_by_ticket(answers),
            now=now.astimezone(UTC),
            tz_of=tz_of,
            options=options,
        )

    def tally(
        self,
        tickets: Sequence[TicketLike],
        appointments: Sequence[AppointmentLike],
        choices: Sequence[ChoiceLike],
    ) -> tuple[Tally, list[float]]:
        return _tally(
            tickets,
            appointments,
            now=self.now,
            tz_of=self.tz_of,
            choices=choices,
            estimates=self.given,
            answers=self.scores,
            known=self.facts,
            **self.options,
        )

    def tallies_by(
        self, attribute: str, with_centre: bool = False
    ) -> dict[str, tuple[Tally, list[float]]]:
        """The tally (and sorted waits) of each value of ``attribute`` (with
        ``with_centre``, of each centre's value: ``_group``)."""
        tickets_by = _group(self.tickets, attribute, with_centre)
        appointments_by = _group(self.appointments, attribute, with_centre)
        choices_by = _group(self.choices, attribute, with_centre)
        return {
            key: self.tally(
                tickets_by.get(key, []), appointments_by.get(key, []), choices_by.get(key, [])
            )
            for key in sorted(tickets_by.keys() | appointments_by.keys() | choices_by.keys())
        }

    def counter_centres(self) -> dict[str, tuple[str, str]]:
        """ "centre/name" -> (centre, name) for each counter the rows name with their
        centre (``_group`` with ``with_centre``)."""
        return {
            f"{centre}/{name}": (centre, name)
            for rows in (self.tickets, self.appointments, self.choices)
            for row in rows
            if (name := getattr(row, "counter", None)) is not None
            and (centre := getattr(row, "centre", None)) is not None
        }

    def centres(self) -> set[str]:
        """The centres the day's rows name (rows that name none are left out)."""
        return {
            centre
            for rows in (self.tickets, self.appointments, self.choices)
            for row in rows
            if (centre := getattr(row, "centre", None)) is not None
        }

    def tallies_by_help(self) -> dict[str, tuple[Tally, list[float]]]:
        """The tally (and sorted waits) of the tickets that asked for each kind of help,
        by category code. Bookings and kiosk choices say nothing of help: none count."""
        asked: dict[str, list[TicketLike]] = {}
        for ticket in self.tickets:
            for code in _assistance_of(ticket):
                asked.setdefault(code, []).append(ticket)
        return {code: self.tally(asked[code], [], []) for code in sorted(asked)}


# ------------------------------------------------------------------ reading the store


def appointments_between(
    store: Store, start: datetime, end: datetime, centre: str | None = None
) -> list[sa.Row[Any]]:
    """Bookings with ``start <= at < end`` (aware datetimes), any centre if None,
    those kept when another booking took their reference included
    (``store.rollups.bookings_query``).

    Lives here rather than on ``Store`` until the repository grows a reads-for-reports
    method for bookings; it uses the store's engine and tables only.
    """
    query = bookings_query(start.astimezone(UTC), end.astimezone(UTC), centre)
    with store.engine.connect() as conn:
        return list(conn.execute(query))  # plain rows, read by column name


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
        answers=store.feedback_between(centre, day, day),
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
FIGURE_COLUMNS = tuple(
    f.name
    for f in fields(Figures)
    if f.name
    not in (
        "by_hour",
        "assisted_by_category",
        "assisted_mean_wait_seconds_by_category",
        "assisted_within_target_share_by_category",
    )
)
HOUR_COLUMNS = tuple(f"issued_h{hour:02d}" for hour in range(24))
#: ``help``, after the figures, is the category code of the rows of scope "help" (the
#: tickets that asked for that help); the hour columns stay last
CSV_COLUMNS = (
    "day", "scope", "centre", "service", "counter", *FIGURE_COLUMNS, "help", *HOUR_COLUMNS,
)  # fmt: skip


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
        "assistance": {code: _figures_dict(f) for code, f in report.assistance.items()},
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
    help_code: str = "",
) -> list[Any]:
    values = [getattr(f, name) for name in FIGURE_COLUMNS]
    hours = [f.by_hour.get(hour, 0) for hour in range(24)]
    keys = [day.isoformat(), scope, centre or "", service or "", counter or ""]
    return [*keys, *values, help_code, *hours]


def to_csv(reports: DayReport | Sequence[DayReport]) -> str:
    """One row per day and scope (overall, each service, each counter, each centre,
    each kind of help asked for: scope "help", its code in the column ``help``) under
    one header row.

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
            where, counter = report.counter_centres.get(name, (centre, name))
            writer.writerow(_csv_row(day, "counter", where, None, counter, f))
        for cid, f in report.centres.items():
            writer.writerow(_csv_row(day, "centre", cid, None, None, f))
        for code, f in report.assistance.items():
            writer.writerow(_csv_row(day, HELP_SCOPE, centre, None, None, f, code))
    return out.getvalue()
