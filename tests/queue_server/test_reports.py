"""The day report: each figure from hand-built rows, then a real day driven through the
core and stored in SQLite and PostgreSQL, then ``walkin report`` itself.

Times are UTC; 3 June 2024 is a Monday in British Summer Time (UTC+1), so 09:00 UTC is
10:00 at the centre.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from queue_server.core import Centre, Decision
from queue_server.core import commands as cmd
from queue_server.core.model import (
    CentreSetup,
    Counter,
    OpeningHours,
    Outcome,
    Service,
)
from queue_server.reporting.command import report_main
from queue_server.reporting.reports import (
    CSV_COLUMNS,
    DayReport,
    Figures,
    build_report,
    load_and_build,
    nearest_rank,
    to_csv,
    to_dict,
    to_json,
)
from queue_server.store import Store
from queue_server.store.tables import AppointmentRow, TicketRow

DAY = date(2024, 6, 3)
T0 = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
EVENING = datetime(2024, 6, 3, 17, 0, tzinfo=UTC)
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


_ids = iter(range(1, 1_000_000))


def ticket(
    *,
    service: str = "hou",
    state: str = "done",
    origin: str = "walk_in",
    arrival: float = 0,
    called: float | None = None,
    started: float | None = None,
    finished: float | None = None,
    booked: float | None = None,
    outcome: str | None = None,
    avoidable: bool | None = None,
    transfers: int = 0,
    centre: str = "oxf",
    day: date = DAY,
    target_wait_seconds: int | None = None,
    counter: str | None = None,
) -> TicketRow:
    """A stored ticket row; times are minutes after T0."""
    n = next(_ids)
    return TicketRow(
        id=f"t{n}",
        centre=centre,
        number=f"X{n:03d}",
        seq=n,
        service=service,
        day=day,
        origin=origin,
        language="en",
        issued_at=at(arrival),
        arrival_at=at(arrival),
        state=state,
        state_since=at(finished if finished is not None else arrival),
        appointment_at=None if booked is None else at(booked),
        first_called_at=None if called is None else at(called),
        called_at=None if called is None else at(called),
        service_started_at=None if started is None else at(started),
        finished_at=None if finished is None else at(finished),
        outcome=outcome,
        avoidable=avoidable,
        transfers=transfers,
        target_wait_seconds=target_wait_seconds,
        counter=counter,
    )


def served(called: float, *, arrival: float = 0, minutes: float = 5, **kw: Any) -> TicketRow:
    """A ticket called, served for ``minutes`` and completed (resolved by default)."""
    kw.setdefault("outcome", "resolved")
    kw.setdefault("avoidable", False)
    return ticket(arrival=arrival, called=called, started=called, finished=called + minutes, **kw)


def booking(
    minutes: float, status: str = "booked", service: str = "hou", centre: str = "oxf"
) -> AppointmentRow:
    n = next(_ids)
    return AppointmentRow(
        centre=centre, ref=f"R{n}", service=service, at=at(minutes), status=status
    )


def report(tickets: Sequence[Any], appointments: Sequence[Any] = (), **kw: Any) -> DayReport:
    kw.setdefault("day", DAY)
    kw.setdefault("now", EVENING)
    return build_report(tickets, list(appointments), **kw)


# ------------------------------------------------------------------ zero denominators


def test_a_day_with_nothing_is_zeros_and_nulls() -> None:
    r = report([])
    f = r.overall
    assert (f.issued, f.served, f.completed, f.no_shows, f.cancelled) == (0, 0, 0, 0, 0)
    assert f.abandonment_rate is None
    assert (f.wait_p50_seconds, f.wait_p90_seconds, f.wait_max_seconds) == (None, None, None)
    assert f.appointments_within_standard_share is None
    assert f.walk_ins_within_target_share is None
    assert f.mean_service_seconds is None
    assert f.first_contact_resolution_share is None
    assert f.avoidable_contact_share is None
    assert f.face_to_face_cost_gbp == 0
    assert f.by_hour == {}
    assert r.services == {} and r.centres == {}
    data = json.loads(to_json(r))
    assert data["overall"]["abandonment_rate"] is None
    assert "NaN" not in to_json(r)


def test_shares_over_no_completed_tickets_are_null_not_zero() -> None:
    f = report([ticket(state="waiting"), ticket(state="cancelled", finished=1)]).overall
    assert f.completed == 0
    assert f.first_contact_resolution_share is None
    assert f.avoidable_contact_share is None
    assert f.mean_service_seconds is None
    assert f.abandonment_rate == 0.5


# ------------------------------------------------------------------ counts


def test_counts_by_state_and_abandonment() -> None:
    rows = [
        served(2),
        served(3, outcome="referred"),
        ticket(state="no_show", called=4, finished=6),
        ticket(state="cancelled", finished=3),
        ticket(state="waiting"),
        ticket(state="parked", called=5, started=6),
        ticket(state="transferred", called=5, started=6, transfers=1),
        ticket(state="called", called=7),
        ticket(
            state="done",
            origin="appointment",
            booked=0,
            called=1,
            started=1,
            finished=9,
            outcome="resolved",
        ),
    ]
    f = report(rows).overall
    assert f.issued == 9
    assert (f.issued_walk_in, f.issued_appointment) == (8, 1)
    # served = reached serving: the two completed, parked, transferred-after-serving, appt
    assert f.served == 5
    assert f.completed == 3
    assert (f.no_shows, f.cancelled, f.abandoned) == (1, 1, 2)
    assert f.still_open == 4
    assert f.transferred == 1
    assert f.abandonment_rate == round(2 / 9, 4)
    assert f.face_to_face_cost_gbp == pytest.approx(5 * 7.23)


def test_tickets_of_other_days_are_left_out() -> None:
    f = report([served(1), served(1, day=date(2024, 6, 2))]).overall
    assert f.issued == 1


# ------------------------------------------------------------------ waits


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 11)]
    assert nearest_rank(values, 50) == 5
    assert nearest_rank(values, 90) == 9
    assert nearest_rank(values, 100) == 10
    assert nearest_rank([7.0], 50) == nearest_rank([7.0], 90) == 7
    assert nearest_rank([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 50) == 4
    assert nearest_rank([], 50) is None


def test_wait_is_arrival_to_first_call_and_uncalled_tickets_have_none() -> None:
    rows = [served(m, arrival=0) for m in range(1, 11)]  # waits 1..10 minutes
    rows += [ticket(state="waiting"), ticket(state="cancelled", finished=30)]
    f = report(rows).overall
    assert f.waits_counted == 10
    assert f.wait_p50_seconds == 300
    assert f.wait_p90_seconds == 540
    assert f.wait_max_seconds == 600


def test_wait_counts_to_the_first_call_not_a_recall_or_later_call() -> None:
    row = served(20, arrival=0)
    row.first_called_at = at(4)  # called at 4, recalled/parked, called again at 20
    assert report([row]).overall.wait_max_seconds == 240


def test_an_appointment_waits_from_when_it_was_due() -> None:
    early = served(12, origin="appointment", arrival=0, booked=5)  # checked in early
    late = served(25, origin="appointment", arrival=20, booked=5)  # checked in after time
    seen_early = served(3, origin="appointment", arrival=0, booked=5)
    f = report([early]).overall
    assert f.wait_max_seconds == 7 * 60  # from 5 (booked), not 0 (arrival)
    f = report([late]).overall
    assert f.wait_max_seconds == 5 * 60  # from 20 (check-in), not 5 (booked)
    f = report([seen_early]).overall
    assert f.wait_max_seconds == 0  # called before due: no wait, not a negative one


# ------------------------------------------------------------------ appointment standard


def test_appointment_standard_starts_at_the_later_of_booked_and_check_in() -> None:
    rows = [
        served(15, origin="appointment", arrival=0, booked=5),  # 10 after booked: met
        served(16, origin="appointment", arrival=0, booked=5),  # 11 after booked: not met
        # late check-in at 20 for a 5 o'clock booking: 9 after check-in (24 after booked)
        served(29, origin="appointment", arrival=20, booked=5),
    ]
    f = report(rows).overall
    assert f.appointments_standard_counted == 3
    assert f.appointments_standard_met == 2
    assert f.appointments_within_standard_share == round(2 / 3, 4)


def test_appointment_standard_is_a_parameter() -> None:
    rows = [served(15, origin="appointment", arrival=0, booked=5)]
    assert report(rows).overall.appointments_within_standard_share == 1.0
    f = report(rows, standard=timedelta(minutes=5)).overall
    assert f.appointments_within_standard_share == 0.0


def test_never_called_appointments_fail_only_once_their_deadline_passes() -> None:
    waiting = ticket(state="waiting", origin="appointment", arrival=0, booked=5)
    # deadline is 15 minutes after T0
    inside = report([waiting], now=at(14)).overall
    assert inside.appointments_standard_counted == 0
    assert inside.appointments_within_standard_share is None
    passed = report([waiting], now=at(16)).overall
    assert (passed.appointments_standard_counted, passed.appointments_standard_met) == (1, 0)
    assert passed.appointments_within_standard_share == 0.0
    # A visitor who gave up before the deadline was not failed on waiting (see abandonment)
    gave_up = ticket(state="cancelled", origin="appointment", arrival=0, booked=5, finished=8)
    assert report([gave_up]).overall.appointments_standard_counted == 0
    gave_up_late = ticket(state="cancelled", origin="appointment", arrival=0, booked=5, finished=20)
    f = report([gave_up_late]).overall
    assert (f.appointments_standard_counted, f.appointments_standard_met) == (1, 0)


# ------------------------------------------------------------------ walk-in targets


def test_walk_ins_within_the_target_on_the_ticket_else_the_services_target() -> None:
    targets = {"hou": timedelta(minutes=20), "ctx": timedelta(minutes=10)}
    rows = [
        served(15, service="ctx"),  # no ticket target: CTX's 10 -> not met
        served(15, service="ctx", target_wait_seconds=15 * 60),  # its own 15 -> met
        served(20, service="hou"),  # exactly on target -> met
        served(21, service="hou"),  # not met
        served(5, service="ben"),  # no target anywhere -> unknown
        served(30, origin="appointment", booked=0),  # appointments are not walk-ins
    ]
    f = report(rows, targets=targets).overall
    assert f.walk_ins_target_counted == 4
    assert f.walk_ins_target_met == 2
    assert f.walk_ins_target_unknown == 1
    assert f.walk_ins_within_target_share == 0.5
    assert report(rows, targets=targets).services["ben"].walk_ins_within_target_share is None


def test_without_any_target_walk_ins_are_unknown_not_failed() -> None:
    f = report([served(5), served(50)]).overall
    assert f.walk_ins_target_unknown == 2
    assert f.walk_ins_target_counted == 0
    assert f.walk_ins_within_target_share is None


def test_never_called_walk_ins_fail_once_past_target() -> None:
    targets = {"hou": timedelta(minutes=20)}
    rows = [
        ticket(state="waiting", arrival=0),  # past target at now
        ticket(state="waiting", arrival=470),  # arrived 16:50, inside target at 17:00
        ticket(state="cancelled", arrival=0, finished=5),  # gave up inside target
        ticket(state="cancelled", arrival=0, finished=25),  # gave up after the target
    ]
    f = report(rows, targets=targets).overall
    assert (f.walk_ins_target_counted, f.walk_ins_target_met) == (2, 0)


# ------------------------------------------------------------------ transfers


def test_a_transferred_ticket_counts_once_under_its_final_service() -> None:
    # Arrived for CTX at 0, first called at 3, transferred to HOU, called again at 14
    # (service started 14, finished 21): row.service is HOU now.
    moved = ticket(
        service="hou",
        state="done",
        arrival=0,
        called=3,
        started=14,
        finished=21,
        outcome="resolved",
        avoidable=True,
        transfers=1,
    )
    moved.called_at = at(14)
    r = report([moved, served(2, service="ctx")])
    hou, ctx = r.services["hou"], r.services["ctx"]
    assert (hou.issued, ctx.issued, r.overall.issued) == (1, 1, 2)
    assert hou.transferred == 1 and ctx.transferred == 0
    assert hou.wait_max_seconds == 3 * 60  # original arrival to the first call
    assert hou.mean_service_seconds == 7 * 60  # the last counter's service only
    assert hou.first_contact_resolution_share == 1.0
    assert hou.avoidable_contact_share == 1.0


# ------------------------------------------------------------------ completed visits


def test_first_contact_resolution_avoidable_and_service_time_are_over_completed() -> None:
    rows = [
        served(1, minutes=4, outcome="resolved"),
        served(2, minutes=6, outcome="signposted", avoidable=True),
        served(3, minutes=8, outcome="self_serve"),
        served(4, minutes=10, outcome="resolved", avoidable=True),
        ticket(state="no_show", called=5, finished=7),
        ticket(state="serving", called=5, started=6),  # not completed: in none of them
    ]
    f = report(rows).overall
    assert f.completed == 4
    assert (f.resolved, f.first_contact_resolution_share) == (2, 0.5)
    assert (f.avoidable, f.avoidable_contact_share) == (2, 0.5)
    assert (f.service_times_counted, f.mean_service_seconds) == (4, 7 * 60)


# ------------------------------------------------------------------ bookings


def test_bookings_checked_in_late_missed_and_still_awaited() -> None:
    now = at(120)  # 11:00 UTC
    bookings = [
        booking(0, "checked_in"),
        booking(10, "late"),
        booking(30, "booked"),  # check-in closed at 45: missed
        booking(110, "booked"),  # check-in open until 125: awaited
        booking(60, "cancelled"),
        booking(200, "booked", service="ctx"),  # later today: awaited
    ]
    r = report([], bookings, now=now)
    f = r.overall
    assert f.appointments_booked == 5
    assert f.appointments_checked_in == 1
    assert f.appointments_late == 1
    assert f.appointments_missed == 1
    assert f.appointments_awaited == 2
    assert f.appointments_cancelled == 1
    assert r.services["ctx"].appointments_awaited == 1
    assert r.services["ctx"].issued == 0
    # one more minute of check-in window for a longer policy
    assert (
        report(
            [], bookings, now=now, checkin_late=timedelta(minutes=95)
        ).overall.appointments_missed
        == 0
    )


def test_bookings_are_taken_by_the_centres_local_day() -> None:
    london = [
        booking(-9 * 60 - 30),  # 23:30 UTC on the 2nd = 00:30 BST on the 3rd: counts
        booking(14 * 60 + 30),  # 23:30 UTC on the 3rd = 00:30 BST on the 4th: does not
    ]
    assert report([], london).overall.appointments_booked == 1
    assert report([], london, tz=UTC).overall.appointments_booked == 1
    assert report([], london[:1], tz=UTC).overall.appointments_booked == 0


# ------------------------------------------------------------------ by hour, centres


def test_issued_by_local_hour() -> None:
    rows = [served(1, arrival=0), served(31, arrival=30), served(70, arrival=65)]
    assert report(rows).overall.by_hour == {10: 2, 11: 1}  # BST
    assert report(rows, tz=UTC).overall.by_hour == {9: 2, 10: 1}
    data = to_dict(report(rows))
    assert data["overall"]["by_hour"] == {"10": 2, "11": 1}


def test_every_centre_with_a_breakdown_or_one_centre_alone() -> None:
    rows = [served(1, centre="oxf"), served(2, centre="oxf"), served(3, centre="cow")]
    bookings = [booking(200, centre="cow")]
    everyone = report(rows, bookings)
    assert everyone.overall.issued == 3
    assert set(everyone.centres) == {"oxf", "cow"}
    assert everyone.centres["oxf"].issued == 2
    assert everyone.centres["cow"].appointments_booked == 1
    one = report(rows, bookings, centre="cow")
    assert one.overall.issued == 1
    assert one.overall.appointments_booked == 1
    assert one.centres == {}


def test_counters_of_the_same_name_at_two_centres_are_two_counters() -> None:
    rows = [
        served(1, centre="oxf", counter="Counter 1"),
        served(2, centre="oxf", counter="Counter 1"),
        served(3, centre="cow", counter="Counter 1"),
    ]
    everyone = report(rows)
    assert set(everyone.counters) == {"oxf/Counter 1", "cow/Counter 1"}
    assert everyone.counters["oxf/Counter 1"].issued == 2
    assert everyone.counters["cow/Counter 1"].issued == 1
    # one centre, chosen or the only one with rows: the counters' own names
    assert set(report(rows, centre="oxf").counters) == {"Counter 1"}
    assert report(rows[:2]).counters["Counter 1"].issued == 2


def test_each_centre_counts_hours_in_its_own_zone() -> None:
    rows = [served(1, centre="oxf"), served(1, centre="dub")]
    r = report(rows, centre_tz={"dub": ZoneInfo("Asia/Dubai")})
    assert r.centres["oxf"].by_hour == {10: 1}
    assert r.centres["dub"].by_hour == {13: 1}


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        report([], now=datetime(2024, 6, 3, 17, 0))


def test_times_read_back_naive_from_sqlite_are_utc() -> None:
    row = served(7, arrival=0)
    row.arrival_at = row.arrival_at.replace(tzinfo=None)
    row.first_called_at = row.first_called_at.replace(tzinfo=None)  # type: ignore[union-attr]
    assert report([row]).overall.wait_max_seconds == 7 * 60


# ------------------------------------------------------------------ output formats


def test_csv_has_a_header_and_one_row_per_scope_in_a_stable_order() -> None:
    rows = [
        served(1, service="hou", centre="oxf", counter="Desk 2"),
        served(2, service="ctx", centre="cow", counter="Desk 1"),
    ]
    text = to_csv(report(rows, targets={"hou": timedelta(minutes=20)}))
    table = list(csv.reader(io.StringIO(text)))
    assert tuple(table[0]) == CSV_COLUMNS
    assert CSV_COLUMNS[:6] == ("day", "scope", "centre", "service", "counter", "issued")
    assert CSV_COLUMNS[-1] == "issued_h23"
    assert {r[0] for r in table[1:]} == {DAY.isoformat()}
    scopes = [(r[1], r[2], r[3], r[4]) for r in table[1:]]
    assert scopes == [
        ("overall", "", "", ""),
        ("service", "", "ctx", ""),
        ("service", "", "hou", ""),
        # the day's rows are of two centres: each counter is its centre's
        ("counter", "cow", "", "Desk 1"),
        ("counter", "oxf", "", "Desk 2"),
        ("centre", "cow", "", ""),
        ("centre", "oxf", "", ""),
    ]
    by_name = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    assert by_name[0]["issued"] == "2"
    assert by_name[0]["issued_h10"] == "2"
    assert by_name[1]["walk_ins_within_target_share"] == ""  # CTX has no target: null
    assert by_name[2]["walk_ins_within_target_share"] == "1.0"
    assert by_name[3]["mean_service_seconds"] == "300.0"  # service times by counter


def test_csv_of_several_days_has_one_header_and_each_day_s_rows() -> None:
    next_day = DAY + timedelta(days=1)
    first = report([served(1, service="hou")], centre="oxf")
    second = report([served(1, service="hou", day=next_day)], day=next_day, centre="oxf")
    table = list(csv.reader(io.StringIO(to_csv([first, second]))))
    assert tuple(table[0]) == CSV_COLUMNS
    assert [(r[0], r[1]) for r in table[1:]] == [
        (DAY.isoformat(), "overall"),
        (DAY.isoformat(), "service"),
        ((DAY + timedelta(days=1)).isoformat(), "overall"),
        ((DAY + timedelta(days=1)).isoformat(), "service"),
    ]


def test_json_names_every_figure() -> None:
    data = json.loads(to_json(report([served(1)])))
    assert set(data) == {
        "day",
        "centre",
        "generated_at",
        "standards",
        "overall",
        "services",
        "centres",
        "counters",
        "assistance",
    }
    assert data["day"] == "2024-06-03"
    assert set(data["overall"]) == {f for f in Figures.__dataclass_fields__}
    assert data["standards"]["abandonment_rate_max"] == 0.05
    assert data["standards"]["appointment_standard_seconds"] == 600


# ------------------------------------------------------------------ a real day, stored


HOUSING = Service("hou", "Housing", "H", target_wait=timedelta(minutes=20))
COUNCIL_TAX = Service("ctx", "Council Tax", "C", target_wait=timedelta(minutes=10))
TARGETS = {"hou": HOUSING.target_wait, "ctx": COUNCIL_TAX.target_wait}


class Day:
    """A centre driven command by command on a fake clock, each decision committed to
    the store before it is applied, as the server does."""

    def __init__(self, store: Store, centre_id: str) -> None:
        self.setup = CentreSetup(
            centre_id=centre_id,
            name="Test centre",
            tz=ZoneInfo("Europe/London"),
            services=(HOUSING, COUNCIL_TAX),
            counters=(
                Counter("1", primary=frozenset({"hou"}), secondary=frozenset({"ctx"})),
                Counter("2", primary=frozenset({"ctx"}), secondary=frozenset({"hou"})),
            ),
            hours=OpeningHours(always_open=True),
        )
        self.centre = Centre(self.setup)
        self.store = store
        self.now = T0
        self.prefix = uuid.uuid4().hex[:8]  # ticket ids are unique across centres

    def at(self, minutes: float) -> None:
        when = at(minutes)
        assert when >= self.now
        self.now = when

    def run(self, command: cmd.Command) -> Decision:
        decision = self.centre.decide(command, self.now)
        self.store.commit(self.setup.centre_id, decision.events)
        self.centre.apply(decision.events)
        return decision

    def open(self, counter: str) -> None:
        self.run(cmd.SignIn(actor="staff", counter=counter, staff=f"adviser{counter}"))
        self.run(cmd.OpenCounter(actor="staff", counter=counter))

    def book(self, ref: str, service: str, minutes: float) -> None:
        self.run(cmd.BookAppointment(actor="system", ref=ref, service=service, at=at(minutes)))

    def issue(self, name: str, service: str, late_ref: str | None = None) -> None:
        self.run(
            cmd.IssueTicket(
                actor="kiosk",
                service=service,
                ticket_id=f"{self.prefix}-{name}",
                idempotency_key=name,
                late_appointment_ref=late_ref,
            )
        )

    def check_in(self, name: str, ref: str) -> None:
        self.run(
            cmd.CheckIn(
                actor="kiosk", ref=ref, ticket_id=f"{self.prefix}-{name}", idempotency_key=name
            )
        )

    def call(self, counter: str, name: str) -> None:
        self.run(
            cmd.CallTicket(
                actor="staff", counter=counter, ticket_id=f"{self.prefix}-{name}", reason="test"
            )
        )

    def start(self, counter: str) -> None:
        self.run(cmd.StartService(actor="staff", counter=counter))

    def complete(self, counter: str, outcome: Outcome, avoidable: bool = False) -> None:
        self.run(cmd.Complete(actor="staff", counter=counter, outcome=outcome, avoidable=avoidable))


def play_the_day(day: Day) -> None:
    """The day the expectations below are worked out from (minutes after 09:00 UTC)."""
    day.open("1")
    day.open("2")
    day.book("A1", "hou", 30)  # checks in early
    day.book("A2", "ctx", 60)  # never comes: missed
    day.book("A3", "hou", 20)  # comes too late, takes a walk-in ticket
    day.book("A5", "hou", 40)  # checks in after its time
    day.book("A6", "ctx", 470)  # 16:50 UTC: still awaited at 17:00
    day.book("A7", "ctx", 70)  # checks in, never called
    day.issue("w1", "hou")
    day.issue("w2", "hou")
    day.issue("w3", "ctx")
    day.at(2)
    day.call("1", "w1")
    day.start("1")
    day.at(3)
    day.call("2", "w3")
    day.start("2")
    day.at(10)
    day.complete("1", Outcome.RESOLVED)
    day.at(11)
    day.call("1", "w2")
    day.at(12)
    day.run(cmd.MarkNoShow(actor="staff", counter="1"))
    day.at(13)
    day.run(cmd.Transfer(actor="staff", counter="2", to_service="hou", reason="housing"))
    day.at(14)
    day.call("1", "w3")
    day.start("1")
    day.at(15)
    day.issue("w4", "ctx")
    day.at(20)
    day.check_in("a1", "A1")
    day.at(21)
    day.complete("1", Outcome.RESOLVED, avoidable=True)
    day.at(22)
    day.call("2", "w4")
    day.start("2")
    day.at(30)
    day.complete("2", Outcome.SIGNPOSTED)
    day.at(36)
    day.call("1", "a1")
    day.start("1")
    day.at(40)
    day.issue("w5", "hou", late_ref="A3")
    day.at(45)
    day.complete("1", Outcome.APPOINTMENT_BOOKED)
    day.at(50)
    day.check_in("a5", "A5")
    day.at(51)
    day.issue("w6", "ctx")
    day.at(53)
    day.run(cmd.Cancel(actor="staff", ticket_id=f"{day.prefix}-w6", reason="left"))
    day.at(60)
    day.check_in("a7", "A7")
    day.at(65)
    day.call("1", "a5")
    day.start("1")
    day.at(66)
    day.call("2", "w5")
    day.start("2")
    day.at(75)
    day.complete("1", Outcome.RESOLVED)
    day.at(80)
    day.complete("2", Outcome.RESOLVED)
    day.at(90)
    day.issue("w7", "hou")


def check_the_day(r: DayReport) -> None:
    """Worked by hand from ``play_the_day``.

    Waits (minutes): w1 2, w3 3 (its first call, at CTX), w2 11, w4 7, a1 6 (from its
    booked 09:30), a5 15 (from its check-in 09:50), w5 26 -> sorted 2 3 6 7 11 15 26.
    """
    f = r.overall
    assert f.issued == 10
    assert (f.issued_walk_in, f.issued_appointment) == (7, 3)
    assert f.served == 6  # w1 w3 w4 a1 a5 w5
    assert f.completed == 6
    assert (f.no_shows, f.cancelled, f.still_open, f.transferred) == (1, 1, 2, 1)
    assert f.abandonment_rate == 0.2
    assert f.waits_counted == 7
    assert f.wait_p50_seconds == 7 * 60  # rank ceil(3.5) = 4th
    assert f.wait_p90_seconds == 26 * 60  # rank ceil(6.3) = 7th
    assert f.wait_max_seconds == 26 * 60
    # a1 met (6), a5 not (15), a7 never called and past its 10:20 deadline
    assert (f.appointments_standard_counted, f.appointments_standard_met) == (3, 1)
    assert f.appointments_within_standard_share == 0.3333
    # w1 w2 w3 (HOU, 20) w4 (CTX, 10) met; w5 26 > 20 and w7 never called: not met;
    # w6 gave up after 2 minutes: left out
    assert (f.walk_ins_target_counted, f.walk_ins_target_met) == (6, 4)
    assert f.walk_ins_within_target_share == 0.6667
    assert f.mean_service_seconds == 560  # (8 + 7 + 8 + 9 + 10 + 14) / 6 minutes
    assert (f.resolved, f.first_contact_resolution_share) == (4, 0.6667)
    assert (f.avoidable, f.avoidable_contact_share) == (1, 0.1667)
    assert f.face_to_face_cost_gbp == pytest.approx(43.38)
    assert f.by_hour == {10: 8, 11: 2}

    hou, ctx = r.services["hou"], r.services["ctx"]
    assert hou.issued == 7  # w1 w2 w3 (transferred in) a1 w5 a5 w7
    assert (hou.served, hou.completed, hou.no_shows, hou.transferred) == (5, 5, 1, 1)
    assert (hou.wait_p50_seconds, hou.wait_p90_seconds) == (6 * 60, 26 * 60)
    assert hou.appointments_within_standard_share == 0.5
    assert hou.walk_ins_within_target_share == 0.6
    assert hou.first_contact_resolution_share == 0.8
    assert hou.avoidable_contact_share == 0.2
    assert hou.mean_service_seconds == 576
    assert (hou.appointments_booked, hou.appointments_checked_in, hou.appointments_late) == (
        3,
        2,
        1,
    )

    assert ctx.issued == 3  # w4 w6 a7
    assert (ctx.served, ctx.cancelled, ctx.still_open) == (1, 1, 1)
    assert ctx.wait_p50_seconds == ctx.wait_max_seconds == 7 * 60
    assert ctx.appointments_within_standard_share == 0.0
    assert ctx.walk_ins_within_target_share == 1.0
    assert ctx.first_contact_resolution_share == 0.0
    assert ctx.mean_service_seconds == 480
    assert (ctx.appointments_booked, ctx.appointments_checked_in) == (3, 1)
    assert (ctx.appointments_missed, ctx.appointments_awaited) == (1, 1)


@contextmanager
def _pg_store() -> Iterator[Store]:
    """A store on the PostgreSQL test database, in a schema of its own.

    Its own schema (dropped afterwards) because the shared ``public`` schema may have
    been migrated by an older copy of a revision; the unique centre id keeps the rows
    apart as well, as they would be in a council's shared database.
    """
    admin = sa.create_engine(PG_URL)
    schema = f"reports_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}: {exc.orig}")
    store = Store(PG_URL)

    @sa.event.listens_for(store.engine, "connect")
    def _use_schema(dbapi_connection: Any, _record: Any) -> None:
        # Not ?options=-csearch_path in the URL: migrate() hands the URL to Alembic's
        # config parser, which takes the %3D for interpolation syntax.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {schema}")
        dbapi_connection.commit()

    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def stored_day(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Day]]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            store = Store(str(tmp_path / "walkin.db"))
            stack.callback(store.close)
        else:
            store = stack.enter_context(_pg_store())
        store.migrate()
        yield store, Day(store, f"rep-{uuid.uuid4().hex[:12]}")


def test_a_real_day_reported_from_the_store(stored_day: tuple[Store, Day]) -> None:
    store, day = stored_day
    play_the_day(day)
    r = load_and_build(store, DAY, day.setup.centre_id, EVENING, targets=TARGETS)
    assert r.centre == day.setup.centre_id
    check_the_day(r)


def test_the_live_centre_gives_the_same_figures_as_the_store(
    stored_day: tuple[Store, Day],
) -> None:
    """The dashboard may report from the live centre's values; same code, same figures."""
    store, day = stored_day
    play_the_day(day)
    live = build_report(
        day.centre.tickets.values(),
        day.centre.appointments.values(),
        day=DAY,
        now=EVENING,
        targets=TARGETS,
    )
    check_the_day(live)
    stored = load_and_build(store, DAY, day.setup.centre_id, EVENING, targets=TARGETS)
    assert replace(live, centre=stored.centre, centres={}) == stored


def test_a_day_with_no_tickets_reads_as_zeros(stored_day: tuple[Store, Day]) -> None:
    store, day = stored_day
    r = load_and_build(store, DAY, day.setup.centre_id, EVENING)
    assert r.overall.issued == 0
    assert r.overall.first_contact_resolution_share is None


# ------------------------------------------------------------------ walkin report


@pytest.fixture
def day_db(tmp_path: Path) -> str:
    path = tmp_path / "walkin.db"
    store = Store(str(path))
    store.migrate()
    play_the_day(Day(store, "oxf"))
    store.close()
    return str(path)


def test_report_main_writes_json(day_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_main(["--db", day_db, "--date", "2024-06-03", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["day"] == "2024-06-03"
    assert data["centre"] is None
    assert data["overall"]["issued"] == 10
    assert data["overall"]["served"] == 6
    assert data["services"]["hou"]["issued"] == 7
    assert set(data["centres"]) == {"oxf"}
    # Without --config the only targets are those stored on the tickets; with none
    # stored, walk-ins are unknown rather than failed.
    stored = Store(day_db).tickets_for_day("oxf", DAY)
    if any(getattr(t, "target_wait_seconds", None) is not None for t in stored):
        assert data["overall"]["walk_ins_within_target_share"] == 0.6667
    else:
        assert data["overall"]["walk_ins_within_target_share"] is None
        assert data["overall"]["walk_ins_target_unknown"] == 7


def test_report_main_writes_csv_to_a_file(day_db: str, tmp_path: Path) -> None:
    out = tmp_path / "day.csv"
    argv = [
        "--db",
        day_db,
        "--date",
        "2024-06-03",
        "--format",
        "csv",
        "--centre",
        "oxf",
        "--output",
        str(out),
    ]
    assert report_main(argv) == 0
    table = list(csv.DictReader(out.open(newline="")))
    assert [(r["scope"], r["service"]) for r in table if r["scope"] != "counter"] == [
        ("overall", ""),
        ("service", "ctx"),
        ("service", "hou"),
    ]
    assert table[0]["centre"] == "oxf"
    assert table[0]["issued"] == "10"
    assert table[0]["wait_p90_seconds"] == "1560.0"


def test_report_main_takes_targets_and_zone_from_the_centre_file(
    day_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "centre.toml"
    config.write_text(
        """
[centre]
id = "oxf"
name = "Test centre"
time_zone = "Europe/London"

[hours]
always_open = true

[[services]]
code = "hou"
name = "Housing"
prefix = "H"
target_wait_minutes = 20

[[services]]
code = "ctx"
name = "Council Tax"
prefix = "C"
target_wait_minutes = 10

[[counters]]
name = "1"
primary = ["hou", "ctx"]
""",
        encoding="utf-8",
    )
    argv = ["--db", day_db, "--date", "2024-06-03", "--config", str(config)]
    assert report_main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["centre"] == "oxf"
    assert data["overall"]["walk_ins_within_target_share"] == 0.6667


def test_report_main_on_a_quiet_day(day_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_main(["--db", day_db, "--date", "2024-06-04", "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(table) == 1
    assert table[0]["issued"] == "0"
    assert table[0]["abandonment_rate"] == ""


@pytest.mark.parametrize("bad", ["2024-13-01", "03/06/2024", "yesterday"])
def test_report_main_refuses_a_bad_date(
    day_db: str, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_main(["--db", day_db, "--date", bad]) == 2
    err = capsys.readouterr().err
    assert "YYYY-MM-DD" in err and bad in err


def test_report_main_refuses_a_missing_database_without_creating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert report_main(["--db", str(missing), "--date", "2024-06-03"]) == 1
    assert "no database file" in capsys.readouterr().err
    assert not missing.exists()


def test_report_main_refuses_a_file_that_is_not_a_walkin_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE unrelated (x INTEGER)"))
    engine.dispose()
    assert report_main(["--db", str(other), "--date", "2024-06-03"]) == 1
    err = capsys.readouterr().err
    assert "Walkin database" in err
    assert "Traceback" not in err


def test_report_main_refuses_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    assert report_main(["--db", url, "--date", "2024-06-03"]) == 1
    err = capsys.readouterr().err
    assert "Cannot open the database" in err
    assert "secret" not in err


def test_report_main_refuses_an_unknown_kind_of_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert report_main(["--db", "mysql://db/walkin", "--date", "2024-06-03"]) == 1
    assert "Unsupported database URL" in capsys.readouterr().err


def test_report_main_warns_about_an_unknown_centre(
    day_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(day_db)
    store.register_centre(Day(store, "oxf").setup, now=T0)
    store.close()
    assert report_main(["--db", day_db, "--date", "2024-06-03", "--centre", "oxff"]) == 0
    captured = capsys.readouterr()
    assert "no centre 'oxff'" in captured.err
    assert json.loads(captured.out)["overall"]["issued"] == 0


def test_channel_shift_counts_kiosk_choices_of_the_day_by_service() -> None:
    from queue_server.store.tables import ChannelChoiceRow

    def choice(service: str, what: str, when: datetime) -> ChannelChoiceRow:
        return ChannelChoiceRow(
            centre="c", at=when, device="k", service=service, choice=what, language="en"
        )

    choices = [
        choice("park", "online", at(5)),
        choice("park", "online", at(65)),
        choice("park", "ticket", at(70)),
        choice("ctax", "ticket", at(80)),
        choice("park", "online", at(-24 * 60)),  # yesterday: not counted
    ]
    report = build_report([], [], day=DAY, now=EVENING, choices=choices)
    assert (report.overall.channel_shift_offered, report.overall.channel_shift_online) == (4, 2)
    assert report.overall.channel_shift_share == 0.5
    park = report.services["park"]
    assert (park.channel_shift_offered, park.channel_shift_online) == (3, 2)
    assert park.channel_shift_share == 0.6667  # shares are rounded to 4 places
    assert report.services["ctax"].channel_shift_share == 0.0
    empty = build_report([], [], day=DAY, now=EVENING)
    assert empty.overall.channel_shift_share is None  # nobody was offered: no share
    assert "channel_shift_share" in CSV_COLUMNS


def test_load_and_build_reads_the_stored_choices(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "w.db"))
    store.migrate()
    try:
        store.record_channel_choice("c", "kiosk 1", "park", "online", "pl", at(30), "kiosk:k")
        store.record_channel_choice("c", "kiosk 1", "park", "ticket", "en", at(40), "kiosk:k")
        report = load_and_build(store, DAY, centre="c", now=EVENING, tz=ZoneInfo("UTC"))
    finally:
        store.close()
    assert report.services["park"].channel_shift_offered == 2
    assert report.overall.channel_shift_online == 1


def test_channel_shift_on_phones_is_counted_apart_from_kiosks() -> None:
    """A phone's choices (device ``remote:<phone>``) count in the channel shift with
    the kiosks', and on their own in ``channel_shift_phone_*``; a kiosk named like a
    phone but without the prefix is a kiosk."""
    from queue_server.store.tables import ChannelChoiceRow

    def choice(device: str, what: str, minutes: int) -> ChannelChoiceRow:
        return ChannelChoiceRow(
            centre="c", at=at(minutes), device=device, service="park", choice=what, language="en"
        )

    choices = [
        choice("kiosk 1", "online", 5),
        choice("kiosk 1", "ticket", 6),
        choice("remote:3f9a", "online", 7),
        choice("remote:77b0", "online", 8),
        choice("remote:77b0", "ticket", 9),
        choice("phone kiosk", "ticket", 10),
    ]
    report = build_report([], [], day=DAY, now=EVENING, choices=choices)
    for figures in (report.overall, report.services["park"]):
        assert (figures.channel_shift_offered, figures.channel_shift_online) == (6, 3)
        assert (figures.channel_shift_phone_offered, figures.channel_shift_phone_online) == (3, 2)
    assert "channel_shift_phone_online" in CSV_COLUMNS
