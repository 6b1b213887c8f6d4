"""A closed day's roll-up stays right when the day's rows change after it was made
(a *late write*: docs/reports.md, "Roll-ups"), on a SQLite file and on PostgreSQL.

Through the server's own paths: a booking system cancelling and moving yesterday's
bookings after the day was rolled up (the bookings API), and a server that was down
ending a day's open tickets after a manager's report rolled that day up. Each time the
range report must give the figures of the day's rows as they are now.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from queue_server.client import QueueClient, new_idempotency_key
from queue_server.core import events as ev
from queue_server.core.model import (
    FINAL_STATES,
    Appointment,
    AppointmentStatus,
    CentreSetup,
    Origin,
    Outcome,
    Ticket,
    TicketState,
)
from queue_server.reporting import ranges
from queue_server.reporting.reports import (
    CENTRE_SCOPE,
    COUNTER_SCOPE,
    SERVICE_SCOPE,
    Figures,
    Tally,
    figures_of,
    load_and_build,
    options_for,
    sum_tally_data,
)
from queue_server.simulation.day import simulate_day
from queue_server.simulation.profiles import DEMO_STAFFING, ONE_STOP_SHOP
from queue_server.store import Store
from queue_server.store.estimates import GivenEstimate, record_estimates
from queue_server.store.migrate import alembic_config, upgrade
from queue_server.store.rollups import (
    RollupRow,
    count_late_writes,
    day_changes,
    rolled_up_days,
    write_rollups,
)
from queue_server.store.tables import AppointmentRow, FeedbackRow, PastAppointmentRow
from tests.conftest import Clock, LiveServer, start_live_server
from tests.queue_server.net.test_bookings_api import call

#: a Tuesday (Greenwich time: the centre's day is the UTC day)
DAY = date(2027, 3, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@contextlib.asynccontextmanager
async def clocked_centre(
    empty_url: str, setup: CentreSetup, now: datetime
) -> AsyncIterator[LiveServer]:
    """A live server of a centre of its own on a database of its own (SQLite file or
    PostgreSQL), its clock at ``now``."""
    setup = dataclasses.replace(setup, centre_id=f"late-{secrets.token_hex(3)}")
    store = Store(empty_url)
    store.migrate()
    running = await start_live_server(store, setup, Clock(now))
    try:
        yield running
    finally:
        await running.server.close()
        store.close()


@pytest.fixture
async def clocked(empty_url: str, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    """``clocked_centre`` at ``DAY`` 10:00."""
    async with clocked_centre(empty_url, setup, at(DAY, 10)) as running:
        yield running


def centres(live: LiveServer) -> dict[str, Any]:
    return {live.setup.centre_id: (live.setup.tz, options_for(live.setup))}


def range_report(live: LiveServer, now: datetime, **kw: Any) -> ranges.RangeReport:
    """``walkin report --from DAY --to DAY`` (the day rolled up and stored if it is not)."""
    return ranges.range_report(
        live.store, DAY, DAY, live.setup.centre_id, "day", now, centres=centres(live), **kw
    )


def from_rows(live: LiveServer, now: datetime) -> Figures:
    """The day's figures from its rows as they are now (``walkin report --date``)."""
    options = options_for(live.setup)
    return load_and_build(live.store, DAY, live.setup.centre_id, now, **options).overall


def differences(ranged: Figures, exact: Figures) -> dict[str, tuple[Any, Any]]:
    """The figures that differ, but for the wait percentiles (a range's are to the
    histogram's bucket): {name: (range's, exact)}."""
    loose = {"wait_p50_seconds", "wait_p90_seconds"}
    return {
        f.name: (getattr(ranged, f.name), getattr(exact, f.name))
        for f in dataclasses.fields(Figures)
        if f.name not in loose and getattr(ranged, f.name) != getattr(exact, f.name)
    }


async def bookings_api(live: LiveServer, method: str, path: str, body: Any, token: str) -> Any:
    answer = await asyncio.to_thread(partial(call, live.port, method, path, body, token=token))
    assert answer.status in (200, 201), answer.body
    return answer.body


async def test_yesterdays_bookings_cancelled_and_moved_after_the_roll_up(
    clocked: LiveServer,
) -> None:
    live, clock = clocked, clocked.clock
    assert clock is not None
    token = live.store.enroll_device(live.setup.centre_id, "integration", "Booking system")
    for ref, hour in (("BK-1", 14), ("BK-2", 15), ("BK-3", 16)):
        body = {"ref": ref, "service": "housing", "time": at(DAY, hour).isoformat()}
        await bookings_api(live, "POST", "/api/bookings", body, token)
    # nobody came; the next morning the server closes the day and rolls it up, and a
    # manager reads the week
    clock.now = at(DAY + timedelta(days=1), 8)
    await live.server.roll_up_closed_days()
    first = range_report(live, clock.now)
    assert first.days_rolled_up == 1
    assert first.overall.appointments_missed == 3

    # then the booking system catches up: one of yesterday's bookings cancelled, one
    # moved to tomorrow (both allowed: each was still only booked)
    clock.now = at(DAY + timedelta(days=1), 9)
    await bookings_api(live, "DELETE", "/api/bookings/BK-1", None, token)
    moved = {
        "ref": "BK-2",
        "service": "housing",
        "time": at(DAY + timedelta(days=2), 9).isoformat(),
    }
    await bookings_api(live, "POST", "/api/bookings", moved, token)

    exact = from_rows(live, clock.now)
    assert (exact.appointments_booked, exact.appointments_cancelled) == (1, 1)
    again = range_report(live, clock.now)
    assert differences(again.overall, exact) == {}
    assert again.groups[DAY.isoformat()] == again.overall
    # and read again (from what is stored now) it is still so
    assert differences(range_report(live, clock.now).overall, exact) == {}


async def test_a_reference_booked_again_leaves_its_old_day_as_it_was(
    clocked: LiveServer,
) -> None:
    """A cancelled booking booked again for another day, and an earlier day's
    reference used again by the booking system: each old booking still counts on its
    own day (cancelled, missed), rolled up or read from rows, and the new one on its."""
    live, clock = clocked, clocked.clock
    assert clock is not None
    token = live.store.enroll_device(live.setup.centre_id, "integration", "Booking system")
    for ref, hour in (("BK-1", 14), ("BK-2", 15)):
        body = {"ref": ref, "service": "housing", "time": at(DAY, hour).isoformat()}
        await bookings_api(live, "POST", "/api/bookings", body, token)
    await bookings_api(live, "DELETE", "/api/bookings/BK-1", None, token)
    clock.now = at(DAY + timedelta(days=1), 8)
    await live.server.roll_up_closed_days()
    before = range_report(live, clock.now).overall
    assert (before.appointments_booked, before.appointments_cancelled) == (1, 1)
    assert before.appointments_missed == 1

    # the visitor who cancelled books again, for the day after tomorrow (the same
    # reference: a cancelled booking's may be booked again)
    later = DAY + timedelta(days=2)
    again = {"ref": "BK-1", "service": "council_tax", "time": at(later, 11).isoformat()}
    clock.now = at(DAY + timedelta(days=1), 9)
    await bookings_api(live, "POST", "/api/bookings", again, token)
    # and, days on, when the server has long forgotten the day, the booking system
    # gives BK-2 (missed) to someone else
    reused = {"ref": "BK-2", "service": "general", "time": at(later + timedelta(days=3), 10)}
    clock.now = at(later + timedelta(days=1), 9)
    await live.server.roll_up_closed_days()
    live.store.commit(
        live.setup.centre_id,
        [
            ev.AppointmentBooked(
                at=clock.now,
                actor="integration:booking-system",
                appointment=Appointment(ref="BK-2", service="general", at=reused["time"]),
            )
        ],
    )

    for report in (range_report(live, clock.now).overall, from_rows(live, clock.now)):
        assert differences(report, before) == {}
    day_after = ranges.range_report(
        live.store, later, later, live.setup.centre_id, "day", clock.now, centres=centres(live)
    ).overall
    assert (day_after.appointments_booked, day_after.appointments_cancelled) == (1, 0)
    week = ranges.range_report(
        live.store,
        DAY,
        DAY + timedelta(days=6),
        live.setup.centre_id,
        "day",
        clock.now,
        centres=centres(live),
    ).overall
    assert (week.appointments_booked, week.appointments_cancelled) == (3, 1)
    # the booking table holds each reference once, as it is now; the old rows are kept
    with live.store.engine.connect() as conn:
        now_booked = {
            r.ref: (r.status, r.at.replace(tzinfo=UTC))
            for r in conn.execute(sa.select(AppointmentRow.__table__))
        }
        kept = sorted(
            (r.ref, r.status, r.at.replace(tzinfo=UTC))
            for r in conn.execute(sa.select(PastAppointmentRow.__table__))
        )
    assert now_booked == {
        "BK-1": ("booked", at(later, 11)),
        "BK-2": ("booked", reused["time"]),
    }
    assert kept == [("BK-1", "cancelled", at(DAY, 14)), ("BK-2", "booked", at(DAY, 15))]


async def test_open_tickets_ended_by_a_restarted_server_after_the_roll_up(
    clocked: LiveServer,
) -> None:
    live, clock = clocked, clocked.clock
    assert clock is not None
    kiosk = await QueueClient(live.url, token=live.kiosk_token, min_backoff=0.05).connect()
    try:
        for service in ("housing", "housing", "council_tax"):
            await kiosk.request(
                "issue_ticket", service=service, idempotency_key=new_idempotency_key()
            )
    finally:
        await kiosk.close()
    # the server stops with three visitors waiting, and is down for two days; a
    # manager's report meanwhile reads the day
    await live.server.close()
    clock.now = at(DAY + timedelta(days=2), 9)
    first = range_report(live, clock.now)
    assert (first.overall.issued, first.overall.still_open) == (3, 3)

    # the server comes back, and its close of day ends what the day left open
    restarted = await start_live_server(live.store, live.setup, clock)
    try:
        await restarted.server.roll_up_closed_days()
        clock.now += timedelta(minutes=5)
        exact = from_rows(live, clock.now)
        assert (exact.cancelled, exact.still_open) == (3, 0)
        again = range_report(live, clock.now)
        assert differences(again.overall, exact) == {}
    finally:
        await restarted.server.close()


# ------------------------------------------------------------------ any writes, any days

#: five days across the clocks going forward (Sunday 31 March 2030), far enough ahead
#: that the machine's clock never makes a write late on its own
FIRST = date(2030, 3, 29)
LAST = FIRST + timedelta(days=4)
START = datetime(2030, 3, 29, 8, 0, tzinfo=UTC)
SERVICES = ("housing", "council_tax")
COUNTERS = ("Counter 1", "Counter 2")
#: tickets' target waits, in minutes: one passed long before a day is rolled up, one
#: that may still be running then (a ticket still waiting is judged against it by the
#: report's clock)
TARGETS = (20, 8 * 60)

#: what a write does: move the clock on a little; issue a ticket for a day (today's,
#: or an earlier one: an offline upload, a late correction); end one (any day's); end
#: every open ticket of earlier days (the close of day); book, move, cancel or book
#: again over a reference (any day); answer a visit; record an estimate or a kiosk
#: choice; write tickets in bulk (history)
_end = st.tuples(
    st.just("end"),
    st.integers(0, 50),
    st.sampled_from(["done", "no_show", "cancelled", "serving"]),
    st.sampled_from(COUNTERS),
)
#: the writes of a step: to today's rows or to an earlier day's
writes = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 6 * 60)),
    st.tuples(
        st.just("issue"), st.integers(0, 4), st.sampled_from(SERVICES), st.sampled_from(TARGETS)
    ),
    _end,
    _end,
    st.tuples(st.just("close")),
    st.tuples(st.just("book"), st.integers(0, 4), st.integers(8, 23)),
    st.tuples(st.just("move"), st.integers(0, 20), st.integers(0, 4), st.integers(8, 17)),
    st.tuples(st.just("cancel_booking"), st.integers(0, 20)),
    st.tuples(st.just("rebook"), st.integers(0, 20), st.integers(0, 4), st.integers(8, 17)),
    st.tuples(st.just("answer"), st.integers(0, 50), st.integers(1, 5)),
    st.tuples(st.just("estimate"), st.integers(0, 50), st.integers(0, 60)),
    st.tuples(st.just("choice"), st.sampled_from(SERVICES), st.sampled_from(["online", "ticket"])),
    st.tuples(st.just("bulk"), st.integers(0, 4), st.integers(1, 4)),
)


@st.composite
def scripts(draw: Any) -> list[tuple[Any, ...]]:
    """Rounds of: some writes, the clock moving on (minutes to days), a roll-up (the
    server's, closing the day first or not) or none, more writes, and a report over
    some of the days (stored or not)."""
    script: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 6))):
        script += draw(st.lists(writes, max_size=6))
        script.append(("advance", draw(st.integers(1, 6 * 60) | st.integers(1, 2 * 24 * 60))))
        if draw(st.booleans()):
            script.append(("roll_up", draw(st.booleans())))
        script += draw(st.lists(writes, max_size=4))
        one, other = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        by = draw(st.sampled_from(["day", "service", "counter"]))
        script.append(("report", one, other, by, draw(st.booleans())))
    return script


@dataclasses.dataclass
class World:
    """A centre's rows as the steps write them, through the store's own write paths
    (``Store.commit`` and ``commit_bulk`` of events, ``record_feedback``,
    ``record_estimates``, ``record_channel_choice``), on a clock that only goes on."""

    store: Store
    setup: CentreSetup
    now: datetime = START
    tickets: list[Ticket] = dataclasses.field(default_factory=list)
    bookings: list[Appointment] = dataclasses.field(default_factory=list)
    answered: set[str] = dataclasses.field(default_factory=set)
    sequences: dict[tuple[str, date], int] = dataclasses.field(default_factory=dict)
    reports: int = 0

    @property
    def centre(self) -> str:
        return self.setup.centre_id

    @property
    def today(self) -> date:
        return self.now.astimezone(self.setup.tz).date()

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.setup.tz).astimezone(UTC)

    def day(self, offset: int) -> date:
        """The day ``offset`` days into the five, but never after today."""
        return min(FIRST + timedelta(days=offset), self.today)

    def commit(self, *events: ev.Event) -> None:
        self.store.commit(self.centre, events)

    def new_ticket(self, day: date, service: str, target: int = 20) -> Ticket:
        prefix = self.setup.services[[s.code for s in self.setup.services].index(service)].prefix
        seq = self.sequences.get((prefix, day), 0) + 1
        self.sequences[(prefix, day)] = seq
        # today's now; an earlier day's at a whole minute of its evening
        issued = self.now if day == self.today else self.local(day, 22, len(self.tickets) % 60)
        ticket = Ticket(
            id=f"{self.centre}-{len(self.tickets)}",
            number=f"{prefix}{seq:03d}",
            seq=seq,
            service=service,
            day=day,
            origin=Origin.WALK_IN,
            issued_at=issued,
            arrival_at=issued,
            state=TicketState.WAITING,
            state_since=issued,
            target_wait=timedelta(minutes=target),
        )
        self.tickets.append(ticket)
        return ticket

    def ended(self, ticket: Ticket, state: str, counter: str) -> tuple[Ticket, ev.Event]:
        now = self.now
        called = ticket.first_called_at or (None if state == "cancelled" else now)
        changed = dataclasses.replace(
            ticket,
            state=TicketState(state),
            state_since=now,
            counter=counter if called else ticket.counter,
            first_called_at=called,
            called_at=called,
            service_started_at=now if state in ("done", "serving") else ticket.service_started_at,
            finished_at=None if state == "serving" else now,
            outcome=Outcome.RESOLVED if state == "done" else None,
            avoidable=False if state == "done" else None,
        )
        kind = {
            "done": ev.TicketCompleted,
            "no_show": ev.TicketNoShow,
            "cancelled": ev.TicketCancelled,
            "serving": ev.ServiceStarted,
        }[state]
        self.tickets[self.tickets.index(ticket)] = changed
        return changed, kind(at=now, actor="staff:alice", ticket=changed)

    def step(self, step: tuple[Any, ...]) -> None:
        name, *args = step
        getattr(self, f"_{name}")(*args)

    # the steps

    def _advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    def _issue(self, offset: int, service: str, target: int) -> None:
        ticket = self.new_ticket(self.day(offset), service, target)
        self.commit(ev.TicketIssued(at=self.now, actor="kiosk:lobby", ticket=ticket))

    def _end(self, index: int, state: str, counter: str) -> None:
        if self.tickets:
            self.commit(self.ended(self.tickets[index % len(self.tickets)], state, counter)[1])

    def _close(self) -> None:
        events = [
            self.ended(t, "cancelled", "Counter 1")[1]
            for t in list(self.tickets)
            if t.day < self.today and t.state not in FINAL_STATES
        ]
        if events:
            self.commit(*events)

    def _book(self, offset: int, hour: int) -> None:
        booking = Appointment(
            ref=f"R{len(self.bookings)}",
            service=SERVICES[len(self.bookings) % 2],
            at=self.local(FIRST + timedelta(days=offset), hour),
        )
        self.bookings.append(booking)
        self.commit(ev.AppointmentBooked(at=self.now, actor="integration:x", appointment=booking))

    def _move(self, index: int, offset: int, hour: int) -> None:
        if not self.bookings:
            return
        booking = self.bookings[index % len(self.bookings)]
        if booking.status != AppointmentStatus.BOOKED:
            return
        moved = dataclasses.replace(booking, at=self.local(FIRST + timedelta(days=offset), hour))
        self.bookings[self.bookings.index(booking)] = moved
        self.commit(
            ev.AppointmentChanged(
                at=self.now,
                actor="integration:x",
                appointment=moved,
                from_service=booking.service,
                from_at=booking.at,
            )
        )

    def _cancel_booking(self, index: int) -> None:
        if not self.bookings:
            return
        booking = self.bookings[index % len(self.bookings)]
        cancelled = dataclasses.replace(booking, status=AppointmentStatus.CANCELLED)
        self.bookings[self.bookings.index(booking)] = cancelled
        self.commit(
            ev.AppointmentCancelled(at=self.now, actor="integration:x", appointment=cancelled)
        )

    def _rebook(self, index: int, offset: int, hour: int) -> None:
        """Booked again over the row of a reference (a cancelled booking booked anew,
        an old reference used again): the row takes its new day, and the old one is
        kept on its own day where that day counts it (``appointment_past``)."""
        if not self.bookings:
            return
        booking = self.bookings[index % len(self.bookings)]
        again = dataclasses.replace(
            booking,
            at=self.local(FIRST + timedelta(days=offset), hour),
            status=AppointmentStatus.BOOKED,
        )
        self.bookings[self.bookings.index(booking)] = again
        self.commit(ev.AppointmentBooked(at=self.now, actor="integration:x", appointment=again))

    def _answer(self, index: int, score: int) -> None:
        done = [t for t in self.tickets if t.state == "done" and t.id not in self.answered]
        if not done:
            return
        ticket = done[index % len(done)]
        self.answered.add(ticket.id)
        self.store.record_feedback(
            FeedbackRow(
                ticket_id=ticket.id,
                centre=self.centre,
                day=ticket.day,
                service=ticket.service,
                counter=ticket.counter,
                outcome=ticket.outcome,
                language="en",
                visit_ended_at=ticket.finished_at,
                answered_at=self.now,
                score=score,
                comment=None,
                redacted="",
            ),
            ticket.number,
        )

    def _estimate(self, index: int, minutes: int) -> None:
        if not self.tickets:
            return
        ticket = self.tickets[index % len(self.tickets)]
        given = GivenEstimate(
            self.centre, ticket.id, ticket.day, ticket.service, self.now, "update", minutes
        )
        record_estimates(self.store, [given])

    def _choice(self, service: str, choice: str) -> None:
        self.store.record_channel_choice(
            self.centre, "lobby", service, choice, "en", self.now, "kiosk:lobby"
        )

    def _bulk(self, offset: int, count: int) -> None:
        day = self.day(offset)
        events: list[ev.Event] = []
        for n in range(count):
            ticket = self.new_ticket(day, SERVICES[n % 2])
            events.append(ev.TicketIssued(at=self.now, actor="system:history", ticket=ticket))
            if n % 2 == 0:
                events.append(self.ended(ticket, "done", COUNTERS[n % 2])[1])
        self.store.commit_bulk(self.centre, events)

    def _roll_up(self, closing: bool) -> None:
        """The server's turn after midnight: with ``closing``, the close of day first."""
        if closing:
            self._close()
        ranges.ensure_rolled_up(self.store, self.centres, FIRST, LAST, now=self.now)

    def _report(self, one: int, other: int, by: str, write: bool) -> None:
        first, last = sorted((FIRST + timedelta(days=one), FIRST + timedelta(days=other)))
        report = ranges.range_report(
            self.store, first, last, self.centre, by, self.now, centres=self.centres, write=write
        )
        self.reports += 1
        event(f"a report read days from roll-ups: {report.days_rolled_up > 0}")
        assert_from_rows(self, report)

    @property
    def centres(self) -> dict[str, tuple[Any, Any]]:
        return {self.centre: (self.setup.tz, options_for(self.setup))}


def assert_from_rows(world: World, report: ranges.RangeReport) -> None:
    """The range's figures are those of its days' rows as they are now: overall, by
    day, per service and per counter (tallied from the rows, merged as a range merges
    them: the same histogram buckets)."""
    built = ranges.tallies_from_tickets(
        world.store,
        world.centre,
        report.first,
        report.last,
        now=world.now,
        tz=world.setup.tz,
        options=options_for(world.setup),
    )

    def figures(tallies: list[Tally]) -> Figures:
        return figures_of(sum_tally_data(t.to_data() for t in tallies))

    def per(scope: str) -> dict[str, Figures]:
        found: dict[str, list[Tally]] = {}
        for tallies in built.values():
            for (kind, key), tally in tallies.items():
                if kind == scope:
                    found.setdefault(key, []).append(tally)
        return {key: figures(some) for key, some in sorted(found.items())}

    where = f"{report.first}..{report.last} at {world.now} (report {world.reports})"
    assert report.overall == figures([t[(CENTRE_SCOPE, "")] for t in built.values()]), where
    assert report.services == per(SERVICE_SCOPE), where
    assert report.counters == per(COUNTER_SCOPE), where
    if report.by == "day":
        assert report.groups == {
            day.isoformat(): figures([tallies[(CENTRE_SCOPE, "")]])
            for day, tallies in built.items()
        }, where


_worlds = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    registered=st.sampled_from(["by this store", "by another", "not"]),
    script=scripts(),
)
# a ticket for a day already rolled up (an offline upload, a late correction)
@example(
    registered="by this store",
    script=[("issue", 0, "housing", 20), ("advance", 2 * 24 * 60), ("roll_up", True),
            ("report", 0, 0, "day", True), ("issue", 0, "housing", 20)],
)  # fmt: skip
# a ticket still waiting at the roll-up, its target passing after it: not stored
@example(
    registered="by this store",
    script=[("advance", 12 * 60), ("issue", 0, "housing", 8 * 60), ("advance", 6 * 60),
            ("roll_up", False), ("report", 0, 0, "day", True), ("advance", 5 * 60)],
)  # fmt: skip
def test_a_range_always_has_the_figures_of_its_rows_as_they_are(
    empty_db: Store, setup: CentreSetup, registered: str, script: list[tuple[Any, ...]]
) -> None:
    """Any writes to any of five days (today's or earlier ones: late writes), through
    every path the store writes a day's figures by, interleaved with roll-ups and
    reports on a clock that goes on: every range report gives the figures of its days'
    rows as they are at that moment, whatever was rolled up before. The centre's time
    zone known to the store, read by it from the database, or not known at all."""
    setup = dataclasses.replace(setup, centre_id=f"w{next(_worlds)}-{secrets.token_hex(2)}")
    store = Store(empty_db.url)  # a store of its own: it learns the zone afresh
    try:
        if registered == "by this store":
            store.register_centre(setup)
        elif registered == "by another":
            empty_db.register_centre(setup)
        world = World(store, setup)
        for step in [*script, ("report", 0, 4, "day", True), ("report", 0, 4, "day", False)]:
            world.step(step)
    finally:
        store.close()


# ------------------------------------------------------------------ today's writes


def test_todays_writes_count_no_late_write_and_read_nothing_more(
    empty_db: Store, example_config: Any
) -> None:
    """A day's own writes (a simulated busy day, committed event by event as the server
    does) leave no late write and send no statement about late writes, nor read the
    centre's zone again; a write to an earlier day counts one for that day."""
    day = date(2030, 4, 2)
    store, setup = empty_db, example_config.to_setup()
    store.register_centre(setup)
    simulated = simulate_day(setup, day, ONE_STOP_SHOP, DEMO_STAFFING, random.Random(3))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        for event in simulated.events[:300]:
            store.commit(setup.centre_id, [event])
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "day_change" in s or "FROM centre" in s]
    assert day_changes(store, setup.centre_id, day - timedelta(days=7), day) == {}

    # the next day, one of them ended late: one late write for its day
    ticket = next(e.ticket for e in simulated.events if e.ticket is not None)
    later = dataclasses.replace(ticket, state=TicketState.CANCELLED)
    next_morning = datetime.combine(day + timedelta(days=1), time(9), tzinfo=UTC)
    for _ in range(2):
        store.commit(
            setup.centre_id, [ev.TicketCancelled(at=next_morning, actor="x", ticket=later)]
        )
    assert day_changes(store, setup.centre_id, day - timedelta(days=7), day) == {day: 2}


# ------------------------------------------------------------------ migration 0017


def test_0017_from_the_previous_head_clears_the_roll_ups_and_counts_late_writes(
    empty_url: str,
) -> None:
    store = Store(empty_url)
    try:
        upgrade(store.engine, "0016")
        day = date(2026, 11, 23)
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO day_rollup (centre, day, scope, key, tally, built_at, version)"
                    " VALUES ('demo', :day, 'centre', '', :tally, :at, 4)"
                ),
                {"day": day, "tally": '{"issued":3}', "at": datetime(2026, 11, 24, 1, tzinfo=UTC)},
            )
        upgrade(store.engine, "0017")
        # a roll-up made before may have missed a late write: gone, built again on demand
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM day_rollup")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM day_change")).scalar() == 0
        write_rollups(
            store,
            [RollupRow("demo", day, "centre", "", "{}", datetime.now(UTC), 4, changes=0)],
        )
        assert rolled_up_days(store, ["demo"], day, day, 4) == {("demo", day)}
        with store.engine.begin() as conn:
            count_late_writes(store, conn, "demo", [day])
        assert rolled_up_days(store, ["demo"], day, day, 4) == set()
        assert day_changes(store, "demo", day, day) == {day: 1}

        command.downgrade(alembic_config(store.engine), "0016")
        inspector = sa.inspect(store.engine)
        assert "day_change" not in inspector.get_table_names()
        assert "changes" not in {c["name"] for c in inspector.get_columns("day_rollup")}
        upgrade(store.engine)  # and up again to head
    finally:
        store.close()
