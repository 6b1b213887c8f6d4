"""What every routing policy must keep, over random days (issue 11, "Property tests").

Every test here runs once per entry of ``routing.ROUTING_POLICIES``, so a policy added
to the table is held to the same properties without a line changed here.

A hypothesis state machine (``RoutingMachine``) lives a day at a centre of three
services and three counters of mixed skills: walk-ins, appointments booked and checked
in (early, on time, late), bookings that are not checked in yet, the clock moving on,
counters opened, paused, resumed, closed and signed out, and advisers who call next,
start, complete, recall, mark no-shows, transfer (to a service or a named counter),
park, return, or see a visitor walk out. After every command it checks:

- **called once**: "call next" calls a ticket only from the queue, and a ticket at
  most once each time it joins the queue (issued, transferred, returned from a park);
  a recall is no new call (the same ticket stays at the same counter, its first call
  unchanged);
- **no idle refusal**: "nothing to call" is said only when the counter may take no
  queued ticket but appointments whose slot has not come;
- **the twice-target rule** (only where the test asks for it): when a counter calls a
  ticket still within its target, no ticket it may take has waited more than
  ``policy.max_wait_factor`` times its target (see ``twice_target_breach``). Today it
  holds for ``rules`` and ``standards`` when the ticket called is on a walk-in's
  clock; both call an appointment within its standard before a walk-in past twice its
  target (``TWICE_TARGET_BREAKS``: strict xfails, with the smallest counterexample as a
  test of its own); ``fifo`` promises nothing.

At the end the visitors stop coming and the open counters work through the queue:
**no starvation**, every ticket an open counter may take is called, within as many
calls as there were tickets waiting. While visitors keep coming, a walk-in past twice
its target is overtaken by no walk-in who came after that
(``test_a_walk_in_past_twice_target_is_not_overtaken_by_later_walk_ins``).

Separately, with one service and identical counters every policy is exactly first
come, first served for walk-ins; ``test_with_one_service_appointments_are_placed_so``
says what each policy does with appointments there.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from queue_server.core import Centre, WalkinError
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import NothingToCall
from queue_server.core.model import (
    QUEUED_STATES,
    CentreSetup,
    Counter,
    CounterState,
    OpeningHours,
    Outcome,
    Policy,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.routing import ROUTING_POLICIES, appointment_deadline, held_back, may_take

from .conftest import snapshot

POLICIES = list(ROUTING_POLICIES)
#: Monday 3 June 2024, 09:00 UTC
START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
#: targets and visit lengths differ, so policies that weigh either have a choice to make
SERVICES = (
    Service("HOU", "Housing", "H", timedelta(minutes=30), typical_duration=timedelta(minutes=12)),
    Service(
        "CTX", "Council Tax", "C", timedelta(minutes=10), typical_duration=timedelta(minutes=4)
    ),
    Service("BEN", "Benefits", "B", timedelta(minutes=15), typical_duration=timedelta(minutes=25)),
)
CODES = [s.code for s in SERVICES]
COUNTERS = ("1", "2", "3")
STAFF = {"1": "ann", "2": "bob", "3": "cat"}
ACTIVE = (CounterState.OPEN, CounterState.SERVING)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# ------------------------------------------------------------ the rules, written out


def on_appointment_clock(ticket: Ticket) -> bool:
    """A checked-in appointment not called yet: its clock is the appointment standard
    from its slot (or check-in, if later). Every other ticket's clock is its service's
    target from when it joined the queue."""
    return ticket.appointment_at is not None and ticket.first_called_at is None


def waited_and_target(centre: Centre, ticket: Ticket, now: datetime) -> tuple[timedelta, timedelta]:
    """How long ``ticket`` has waited on its clock, and that clock's target."""
    if on_appointment_clock(ticket):
        assert ticket.due_at is not None
        return now - ticket.due_at, centre.policy.appointment_standard
    return now - ticket.arrival_at, centre.services[ticket.service].target_wait


def within_target(centre: Centre, ticket: Ticket, now: datetime) -> bool:
    waited, target = waited_and_target(centre, ticket, now)
    return waited <= target


def past_twice_target(centre: Centre, ticket: Ticket, now: datetime) -> bool:
    waited, target = waited_and_target(centre, ticket, now)
    return waited > target * centre.policy.max_wait_factor


def twice_target_breach(
    centre: Centre, counter: Counter, called: Ticket, now: datetime
) -> list[Ticket]:
    """Issue 11's rule, "no ticket waits more than twice its service's target while a
    counter able to serve it takes a ticket that is still within target": the tickets
    ``counter`` could have called by "call next" (queued, its skills or pinned to it;
    an appointment only once its slot has come) that have waited more than
    ``max_wait_factor`` times their target, when ``called`` (taken from the centre as
    it was before the call) is still within its own. Empty when the rule holds."""
    if not within_target(centre, called, now):
        return []
    return [
        t
        for t in centre.tickets.values()
        if t.id != called.id
        and t.state in QUEUED_STATES
        and may_take(counter, t)
        and not slot_to_come(t, now)
        and not held_here(centre, counter, t, now)
        and past_twice_target(centre, t, now)
    ]


def held_here(centre: Centre, counter: Counter, ticket: Ticket, now: datetime) -> bool:
    """A ticket this counter transferred away, held back from it while another counter
    open may take it (``routing.held_back``; docs/routing.md, "Transferred away"): not
    this counter's to call, however long its visitor has been in the centre (their
    wait counts from their first arrival, their visit at this counter included)."""
    return held_back(counter, ticket, centre.services, now, centre.working())


def slot_to_come(ticket: Ticket, now: datetime) -> bool:
    """An appointment checked in early, before its slot: a policy may hold it back."""
    return (
        on_appointment_clock(ticket)
        and ticket.appointment_at is not None
        and ticket.appointment_at > now
    )


def callable_now(centre: Centre, counter: Counter, ticket: Ticket, now: datetime) -> bool:
    """A ticket no policy may leave waiting when ``counter`` asks for one."""
    return (
        ticket.state in QUEUED_STATES
        and may_take(counter, ticket)
        and not slot_to_come(ticket, now)
        and not held_here(centre, counter, ticket, now)
    )


def centre_of(policy: Policy, counters: tuple[Counter, ...]) -> Centre:
    """A centre of ``SERVICES`` and ``counters``, always open."""
    return Centre(
        CentreSetup(
            centre_id="prop",
            name="Property Centre",
            tz=ZoneInfo("Europe/London"),
            services=SERVICES,
            counters=counters,
            hours=OpeningHours(always_open=True),
            policy=policy,
        )
    )


# ------------------------------------------------------------ the day as a state machine


def build_machine(policy_name: str, twice_target: str | None) -> type[RuleBasedStateMachine]:
    """The machine for ``policy_name``; ``twice_target``: None (not checked), "walk-in"
    (checked when the ticket called is on a walk-in's clock) or "any" (whatever the
    ticket called, an appointment within its standard too: the issue's words)."""

    class RoutingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.ids = 0
            #: tickets in the queue not called since they joined it
            self.uncalled: set[str] = set()
            self.calls: Tally[str] = Tally()
            self.entries: Tally[str] = Tally()
            self.breaches: list[str] = []

        @initialize(
            max_recalls=st.integers(0, 2),
            skills=st.lists(
                st.tuples(
                    st.frozensets(st.sampled_from(CODES), min_size=1),
                    st.frozensets(st.sampled_from(CODES)),
                ),
                min_size=3,
                max_size=3,
            ),
            opened=st.frozensets(st.sampled_from(COUNTERS), min_size=1),
        )
        def setup(self, max_recalls: int, skills: Any, opened: frozenset[str]) -> None:
            counters = tuple(
                Counter(name, primary=primary, secondary=secondary - primary)
                for name, (primary, secondary) in zip(COUNTERS, skills, strict=True)
            )
            self.centre = centre_of(Policy(routing=policy_name, max_recalls=max_recalls), counters)
            self.now = START
            for name in sorted(opened):
                self.open_counter(name)

        # ------------------------------------------------------------ plumbing

        def new_id(self) -> str:
            self.ids += 1
            return f"id{self.ids}"

        def execute(self, command: cmd.Command) -> cmd.Command | None:
            """Decide and apply at ``self.now``, checking each call; None if refused."""
            centre, now = self.centre, self.now
            before = snapshot(centre)
            try:
                decision = centre.decide(command, now)
            except WalkinError as error:
                assert snapshot(centre) == before, f"refused {command} changed the centre"
                if isinstance(error, NothingToCall):
                    assert isinstance(command, cmd.CallNext)
                    counter = centre.counters[command.counter]
                    left = [
                        t.number
                        for t in centre.tickets.values()
                        if callable_now(centre, counter, t, now)
                    ]
                    assert not left, f"nothing to call at {counter.name}, but {left} wait"
                return None
            if isinstance(command, cmd.CallNext):
                (called,) = decision.events
                assert isinstance(called, ev.TicketCalled) and called.ticket is not None
                self.check_call(before, command.counter, called.ticket.id)
            if isinstance(command, cmd.Recall):
                (recalled,) = decision.events
                assert isinstance(recalled, ev.TicketRecalled | ev.TicketNoShow)
                assert recalled.ticket is not None
                ticket = before["tickets"][recalled.ticket.id]
                assert recalled.ticket.first_called_at == ticket.first_called_at
                if isinstance(recalled, ev.TicketRecalled):
                    assert recalled.ticket.state is TicketState.CALLED
                    assert recalled.ticket.counter == ticket.counter == command.counter
            for happened in decision.events:
                self.track(happened)
            centre.apply(decision.events)
            return command

        def check_call(self, before: dict[str, Any], counter_name: str, ticket_id: str) -> None:
            ticket = before["tickets"][ticket_id]
            counter = before["counters"][counter_name]
            assert ticket.state in QUEUED_STATES, f"{ticket.number} called while {ticket.state}"
            assert ticket_id in self.uncalled, (
                f"{ticket.number} called twice since it joined the queue "
                f"({self.calls[ticket_id]} calls, {self.entries[ticket_id]} entries)"
            )
            assert may_take(counter, ticket)
            if twice_target == "any" or (
                twice_target == "walk-in" and not on_appointment_clock(ticket)
            ):
                breach = twice_target_breach(self.centre, counter, ticket, self.now)
                if breach:
                    self.breaches.append(
                        describe_breach(self.centre, counter, ticket, breach, self.now)
                    )
                assert not breach, self.breaches[-1]

        def track(self, happened: ev.Event) -> None:
            """Which tickets joined the queue (may be called once) and which were called."""
            ticket = happened.ticket
            if ticket is None:
                return
            if isinstance(happened, ev.TicketIssued | ev.TicketTransferred | ev.TicketReturned):
                if ticket.state in QUEUED_STATES:
                    self.uncalled.add(ticket.id)
                    self.entries[ticket.id] += 1
            elif isinstance(happened, ev.TicketCalled):
                self.uncalled.discard(ticket.id)
                self.calls[ticket.id] += 1
                assert self.calls[ticket.id] <= self.entries[ticket.id]

        def open_counter(self, name: str) -> None:
            counter = self.centre.counters[name]
            actor = f"staff:{STAFF[name]}"
            if counter.state is CounterState.CLOSED:
                self.execute(cmd.SignIn(actor=actor, counter=name, staff=STAFF[name]))
                self.execute(cmd.OpenCounter(actor=actor, counter=name))
            elif counter.state is CounterState.PAUSED:
                self.execute(cmd.ResumeCounter(actor=actor, counter=name))

        def current(self, name: str) -> Ticket | None:
            ticket_id = self.centre.counters[name].current_ticket
            return None if ticket_id is None else self.centre.tickets[ticket_id]

        # ------------------------------------------------------------ the clock

        @rule(step=st.one_of(st.integers(0, 6), st.sampled_from([10, 20, 45])))
        def advance(self, step: int) -> None:
            self.now += minutes(step)

        # ------------------------------------------------------------ visitors

        @rule(service=st.sampled_from(CODES))
        def walk_in(self, service: str) -> None:
            ticket_id = self.new_id()
            self.execute(
                cmd.IssueTicket(
                    actor="kiosk", service=service, ticket_id=ticket_id, idempotency_key=ticket_id
                )
            )

        @rule(service=st.sampled_from(CODES), offset=st.integers(-15, 30))
        def appointment(self, service: str, offset: int) -> None:
            """Booked for ``offset`` minutes from now, checked in now (late, on time or
            early: all inside the check-in window)."""
            ref = f"A{self.new_id()}"
            at = self.now + minutes(offset)
            self.execute(cmd.BookAppointment(actor="system", ref=ref, service=service, at=at))
            ticket_id = self.new_id()
            self.execute(
                cmd.CheckIn(actor="kiosk", ref=ref, ticket_id=ticket_id, idempotency_key=ticket_id)
            )

        @rule(service=st.sampled_from(CODES), offset=st.integers(0, 60))
        def booking_ahead(self, service: str, offset: int) -> None:
            """A booking not checked in yet (policies that plan ahead see it coming)."""
            ref = f"B{self.new_id()}"
            at = self.now + minutes(offset)
            self.execute(cmd.BookAppointment(actor="system", ref=ref, service=service, at=at))

        @rule(data=st.data())
        def booked_visitor_arrives(self, data: st.DataObject) -> None:
            booked = sorted(r for r, a in self.centre.appointments.items() if a.status == "booked")
            if booked:
                ticket_id = self.new_id()
                self.execute(
                    cmd.CheckIn(
                        actor="kiosk",
                        ref=data.draw(st.sampled_from(booked)),
                        ticket_id=ticket_id,
                        idempotency_key=ticket_id,
                    )
                )

        @rule(data=st.data())
        def visitor_walks_out(self, data: st.DataObject) -> None:
            waiting = sorted(t.id for t in self.centre.queued())
            if waiting:
                ticket_id = data.draw(st.sampled_from(waiting))
                self.execute(cmd.Cancel(actor="staff", ticket_id=ticket_id, reason="left"))

        # ------------------------------------------------------------ advisers

        @rule(counter=st.sampled_from(COUNTERS))
        def call_next(self, counter: str) -> None:
            self.execute(cmd.CallNext(actor="staff", counter=counter))

        @rule(counter=st.sampled_from(COUNTERS), choice=st.integers(0, 19))
        def adviser_works(self, counter: str, choice: int) -> None:
            """What the adviser at ``counter`` would do next: open, call, or deal with
            the visitor in hand (mostly serve them, sometimes recall, mark a no-show,
            park or transfer)."""
            actor = f"staff:{STAFF[counter]}"
            ticket = self.current(counter)
            if self.centre.counters[counter].state not in ACTIVE:
                self.open_counter(counter)
            elif ticket is None:
                self.execute(cmd.CallNext(actor=actor, counter=counter))
            elif ticket.state is TicketState.CALLED:
                if choice < 3:
                    self.execute(cmd.Recall(actor=actor, counter=counter))
                elif choice < 5:
                    self.execute(cmd.MarkNoShow(actor=actor, counter=counter))
                else:
                    self.execute(cmd.StartService(actor=actor, counter=counter))
            elif choice < 2:
                self.execute(cmd.Park(actor=actor, counter=counter))
            elif choice < 4:
                to_service = CODES[choice % 3]
                self.execute(cmd.Transfer(actor=actor, counter=counter, to_service=to_service))
            elif choice < 5:
                to_counter = COUNTERS[(COUNTERS.index(counter) + 1) % 3]
                self.execute(cmd.Transfer(actor=actor, counter=counter, to_counter=to_counter))
            else:
                self.execute(cmd.Complete(actor=actor, counter=counter, outcome=Outcome.RESOLVED))

        @rule(data=st.data())
        def return_parked(self, data: st.DataObject) -> None:
            parked = sorted(t.id for t in self.centre.tickets.values() if t.state == "parked")
            if parked:
                ticket_id = data.draw(st.sampled_from(parked))
                self.execute(cmd.ReturnParked(actor="staff", ticket_id=ticket_id))

        @rule(
            counter=st.sampled_from(COUNTERS),
            action=st.sampled_from(["open", "pause", "resume", "close", "sign_out"]),
        )
        def counter_state(self, counter: str, action: str) -> None:
            if action == "open":
                self.open_counter(counter)
                return
            command = {
                "pause": cmd.PauseCounter,
                "resume": cmd.ResumeCounter,
                "close": cmd.CloseCounter,
                "sign_out": cmd.SignOut,
            }[action]
            self.execute(command(actor="staff", counter=counter))

        # ------------------------------------------------------------ the end of the day

        def teardown(self) -> None:
            if not hasattr(self, "centre"):
                return
            centre = self.centre

            def open_counters() -> list[Counter]:
                return [c for c in centre.counters.values() if c.state in ACTIVE]

            def takeable() -> set[str]:
                return {
                    t.id for t in centre.queued() if any(may_take(c, t) for c in open_counters())
                }

            waiting = takeable()
            called: set[str] = set()
            calls = 0
            # every slot is at most 60 minutes away: a minute a round is enough
            for _ in range(len(waiting) + 62):
                for counter in open_counters():
                    current = self.current(counter.name)
                    if current is not None:
                        if current.state is TicketState.CALLED:
                            assert self.execute(
                                cmd.StartService(actor="staff", counter=counter.name)
                            )
                        assert self.execute(
                            cmd.Complete(
                                actor="staff", counter=counter.name, outcome=Outcome.RESOLVED
                            )
                        )
                    command = cmd.CallNext(actor="staff", counter=counter.name)
                    if self.execute(command) is not None:
                        calls += 1
                        ticket_id = self.centre.counters[counter.name].current_ticket
                        assert ticket_id is not None
                        called.add(ticket_id)
                if not takeable():
                    break
                self.now += minutes(1)
            assert waiting <= called, f"never called: {waiting - called}"
            assert not takeable()
            assert calls <= len(waiting)

    return RoutingMachine


def describe_breach(
    centre: Centre, counter: Counter, called: Ticket, breach: list[Ticket], now: datetime
) -> str:
    def said(t: Ticket) -> str:
        waited, target = waited_and_target(centre, t, now)
        clock = "appointment" if on_appointment_clock(t) else "walk-in"
        return f"{t.number} ({clock}, {t.service}, waited {waited}, target {target})"

    return (
        f"counter {counter.name} (primary {sorted(counter.primary)}, secondary "
        f"{sorted(counter.secondary)}) called {said(called)} at {now:%H:%M} while "
        + ", ".join(said(t) for t in breach)
        + " waited past twice their target"
    )


MACHINE_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("policy_name", POLICIES)
def test_every_ticket_is_called_once_per_queueing_and_no_one_starves(policy_name: str) -> None:
    run_state_machine_as_test(
        build_machine(policy_name, twice_target=None), settings=MACHINE_SETTINGS
    )


# ------------------------------------------------------------ the twice-target rule
#
# Checked in two readings. "walk-in": when a counter calls a ticket on a walk-in's clock
# still within its service's target. "any": the issue's words, whatever the ticket
# called, so an appointment called within its 10-minute standard counts too (then a
# walk-in past twice its target was passed over for an appointment not yet late).

#: the policies that make no promise about the rule: the baseline (see
#: ``test_fifo_makes_no_promise_about_twice_the_target``)
NO_PROMISE = {"fifo"}

APPOINTMENT_FIRST = (
    "an appointment within its 10-minute standard is called before a walk-in past "
    "twice its target (rules: rule 2 protects it in its last 5 minutes; standards: its "
    "plan keeps it on time); the issue's target and the 98 % appointment target "
    "conflict here, and the policy chooses the appointment (see "
    "test_an_appointment_within_its_standard_goes_before_a_walk_in_past_twice_target)"
)
#: (policy, reading) -> why it breaks the rule today; each is a strict xfail, so the
#: test says so when the policy is fixed
TWICE_TARGET_BREAKS: dict[tuple[str, str], str] = {
    ("rules", "any"): APPOINTMENT_FIRST,
    ("standards", "any"): APPOINTMENT_FIRST,
}


def twice_target_cases() -> list[Any]:
    cases = []
    for name in POLICIES:
        if name in NO_PROMISE:
            continue
        for reading in ("walk-in", "any"):
            why = TWICE_TARGET_BREAKS.get((name, reading))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            cases.append(pytest.param(name, reading, marks=marks, id=f"{name}-{reading}"))
    return cases


@pytest.mark.parametrize("policy_name, reading", twice_target_cases())
def test_no_ticket_waits_past_twice_its_target_while_one_within_it_is_called(
    policy_name: str, reading: str
) -> None:
    known_break = (policy_name, reading) in TWICE_TARGET_BREAKS
    # A known break is looked for with a fixed seed and without shrinking, over up to
    # 3000 days: it then fails the same way on every run, in a few seconds (the rarest,
    # rules' "any", turns up about once in 300 random days, so 3000 miss it with odds
    # of about e**-10 whatever the seed). The smallest counterexamples are below.
    chosen = (
        settings(
            MACHINE_SETTINGS,
            max_examples=3000,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
        )
        if known_break
        else MACHINE_SETTINGS
    )
    run_state_machine_as_test(build_machine(policy_name, twice_target=reading), settings=chosen)


# ------------------------------------------------------------ the smallest counterexamples


class Desk:
    """A centre of ``SERVICES`` always open, driven at a clock moved by hand."""

    def __init__(self, policy_name: str, *counters: Counter) -> None:
        self.centre = centre_of(Policy(routing=policy_name), counters)
        self.now = START
        self.made = 0

    def run(self, command: cmd.Command) -> Ticket | None:
        decision = self.centre.decide(command, self.now)
        self.centre.apply(decision.events)
        return decision.ticket

    def new_id(self) -> str:
        self.made += 1
        return f"t{self.made}"

    def walk_in(self, service: str) -> Ticket:
        ticket_id = self.new_id()
        ticket = self.run(
            cmd.IssueTicket(
                actor="kiosk", service=service, ticket_id=ticket_id, idempotency_key=ticket_id
            )
        )
        assert ticket is not None
        return ticket

    def appointment(self, service: str, at: datetime) -> Ticket:
        ticket_id = self.new_id()
        self.run(cmd.BookAppointment(actor="system", ref=f"R{ticket_id}", service=service, at=at))
        ticket = self.run(
            cmd.CheckIn(
                actor="kiosk", ref=f"R{ticket_id}", ticket_id=ticket_id, idempotency_key=ticket_id
            )
        )
        assert ticket is not None
        return ticket

    def open(self, *names: str) -> None:
        for name in names:
            self.run(cmd.SignIn(actor="staff", counter=name, staff=f"adviser{name}"))
            self.run(cmd.OpenCounter(actor="staff", counter=name))

    def call_next(self, name: str) -> tuple[Ticket, list[Ticket]]:
        """The ticket called, and the tickets that breach the rule by that call."""
        before = dict(self.centre.tickets)
        counter = self.centre.counters[name]
        called = self.run(cmd.CallNext(actor="staff", counter=name))
        assert called is not None
        as_it_was = before[called.id]
        centre_then = Centre(self.centre.setup, tickets=before.values())
        return called, twice_target_breach(centre_then, counter, as_it_was, self.now)


def promising(breaks: dict[str, str], baseline: bool = False) -> list[Any]:
    """Every policy (the baseline only if ``baseline``); those in ``breaks`` (name ->
    why) as strict xfails."""
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=breaks[name]))
        if name in breaks
        else name
        for name in POLICIES
        if baseline or name not in NO_PROMISE
    ]


@pytest.mark.parametrize("policy_name", promising({}))
def test_an_overdue_appointment_is_not_left_to_an_idle_counter(policy_name: str) -> None:
    """Two Housing counters, both open and idle. A 09:00 appointment checks in at 09:00;
    nobody calls until a walk-in arrives at 09:45; counter 1 calls next. The appointment
    has waited 45 minutes past its slot (over twice the 10-minute standard): it must be
    called, not the walk-in who just came. The rules call it (protected, rule 2);
    standards once planned it on counter 2, free as soon, and called the walk-in; its
    rule 0 now calls an appointment whose time is up at the first counter able."""
    housing = frozenset({"HOU"})
    desk = Desk(policy_name, Counter("1", primary=housing), Counter("2", primary=housing))
    desk.open("1", "2")
    booked = desk.appointment("HOU", START)
    desk.now += minutes(45)
    desk.walk_in("HOU")
    called, breach = desk.call_next("1")
    assert called.id == booked.id
    assert not breach


@pytest.mark.parametrize("policy_name", promising({}))
def test_a_walk_in_past_twice_target_is_not_passed_over_for_a_shorter_visit(
    policy_name: str,
) -> None:
    """One counter, all three services. A Benefits walk-in (target 15, visits of 25
    minutes) comes at 09:00 and nobody calls until 09:31: past twice its target. At 09:31
    a 09:41 Housing appointment checks in early and a Council Tax walk-in (4-minute
    visits) comes. Calling the Benefits visitor now would make the appointment late
    (09:56 > its 09:51 deadline). The Council Tax walk-in, within target, must not go
    first: the rules call Benefits (rule 3); standards calls the appointment (its plan
    gives it this counter, rule 2) and then Benefits. Standards once called the Council
    Tax walk-in, whose shorter visit kept the plan on time."""
    desk = Desk(policy_name, Counter("1", primary=frozenset(CODES)))
    overdue = desk.walk_in("BEN")
    desk.now += minutes(31)
    booked = desk.appointment("HOU", desk.now + minutes(10))
    desk.walk_in("CTX")
    desk.open("1")
    called, breach = desk.call_next("1")
    assert called.id in {overdue.id, booked.id}
    # (an appointment before an overdue walk-in is the APPOINTMENT_FIRST conflict, below)
    assert not breach or called.id == booked.id
    if called.id == booked.id:
        desk.run(cmd.StartService(actor="staff", counter="1"))
        desk.now += minutes(12)
        desk.run(cmd.Complete(actor="staff", counter="1", outcome=Outcome.RESOLVED))
        called, breach = desk.call_next("1")
        assert called.id == overdue.id
        assert not breach


@pytest.mark.parametrize(
    "policy_name", promising({"rules": APPOINTMENT_FIRST, "standards": APPOINTMENT_FIRST})
)
def test_an_appointment_within_its_standard_goes_before_a_walk_in_past_twice_target(
    policy_name: str,
) -> None:
    """One Council Tax counter (target 10). A walk-in comes at 09:00; a 09:21
    appointment checks in on time; at 09:26 the counter opens and calls next. The walk-in
    has waited 26 minutes (past twice 10); the appointment 5 of its 10. The issue's rule
    read word for word wants the walk-in; rules and standards both call the appointment
    (its deadline is 5 minutes away)."""
    desk = Desk(policy_name, Counter("1", primary=frozenset({"CTX"})))
    overdue = desk.walk_in("CTX")
    desk.now += minutes(21)
    desk.appointment("CTX", desk.now)
    desk.now += minutes(5)
    desk.open("1")
    called, breach = desk.call_next("1")
    assert called.id == overdue.id
    assert not breach


def test_fifo_makes_no_promise_about_twice_the_target() -> None:
    """The baseline calls the oldest ticket whatever the targets: a Housing walk-in of
    09:00 (target 30) goes at 09:26, within target, before a Council Tax walk-in of 09:05
    (target 10) who has waited 21 minutes, past twice theirs."""
    desk = Desk("fifo", Counter("1", primary=frozenset({"HOU", "CTX"})))
    housing = desk.walk_in("HOU")
    desk.now += minutes(5)
    council_tax = desk.walk_in("CTX")
    desk.now += minutes(21)
    desk.open("1")
    called, breach = desk.call_next("1")
    assert called.id == housing.id
    assert [t.id for t in breach] == [council_tax.id]


# ------------------------------------------------------------ one service, identical counters

#: one step of a day at one service: a walk-in, an appointment checked in (its slot
#: up to 15 minutes before or 30 after), a call, the end of a visit, a visitor who does
#: not answer (recalled, then a no-show), a pause, or time
ONE_SERVICE_STEP = st.one_of(
    st.tuples(st.just("walk_in")),
    st.tuples(st.just("appointment"), st.integers(-15, 30)),
    st.tuples(st.just("call"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("complete"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("absent"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("pause"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("advance"), st.integers(0, 45)),
)


def live_one_service(
    policy_name: str, advisers: int, role: str, steps: list[tuple[Any, ...]]
) -> list[tuple[datetime, Ticket, list[Ticket]]]:
    """Housing only, ``advisers`` counters with Housing as their ``role`` skill. Each
    call as (when, the ticket called, the queue just before the call, oldest first)."""
    housing = frozenset({"HOU"})
    desk = Desk(
        policy_name,
        *(
            Counter(name, primary=housing)
            if role == "primary"
            else Counter(name, secondary=housing)
            for name in COUNTERS[:advisers]
        ),
    )
    desk.open(*COUNTERS[:advisers])
    calls = []
    for kind, *args in steps:
        name = args[0] if args and isinstance(args[0], str) else None
        if name is not None and name not in desk.centre.counters:
            continue
        counter = desk.centre.counters[name] if name else None
        if kind == "walk_in":
            desk.walk_in("HOU")
        elif kind == "appointment":
            desk.appointment("HOU", desk.now + minutes(args[0]))
        elif kind == "advance":
            desk.now += minutes(args[0])
        elif kind == "call" and counter is not None and counter.state is CounterState.OPEN:
            queue = desk.centre.queued()
            try:
                called = desk.run(cmd.CallNext(actor="staff", counter=counter.name))
            except NothingToCall:
                continue
            assert called is not None
            # as it stood in the queue (the call has set its first call)
            calls.append((desk.now, next(t for t in queue if t.id == called.id), queue))
        elif kind == "complete" and counter is not None and counter.current_ticket:
            desk.run(cmd.StartService(actor="staff", counter=counter.name))
            desk.run(cmd.Complete(actor="staff", counter=counter.name, outcome=Outcome.RESOLVED))
        elif kind == "absent" and counter is not None and counter.current_ticket:
            desk.run(cmd.Recall(actor="staff", counter=counter.name))
            desk.run(cmd.MarkNoShow(actor="staff", counter=counter.name))
        elif kind == "pause" and counter is not None:
            if counter.state is CounterState.OPEN:
                desk.run(cmd.PauseCounter(actor="staff", counter=counter.name))
            elif counter.state is CounterState.PAUSED:
                desk.run(cmd.ResumeCounter(actor="staff", counter=counter.name))
    return calls


ONE_SERVICE = settings(max_examples=80, deadline=None)


@pytest.mark.parametrize("policy_name", POLICIES)
@ONE_SERVICE
@given(
    advisers=st.integers(1, 3),
    role=st.sampled_from(["primary", "secondary"]),
    steps=st.lists(ONE_SERVICE_STEP.filter(lambda s: s[0] != "appointment"), max_size=80),
)
def test_one_service_and_identical_counters_is_first_come_first_served(
    policy_name: str, advisers: int, role: str, steps: list[tuple[Any, ...]]
) -> None:
    """Walk-ins only: every call, at any counter, is of the ticket that has waited
    longest (waits run to 45-minute steps, past any overdue threshold)."""
    for _when, called, queue in live_one_service(policy_name, advisers, role, steps):
        assert called.id == queue[0].id, f"called {called.number}, not {queue[0].number}"


def fifo_with_appointments(when: datetime, called: Ticket, queue: list[Ticket]) -> None:
    """fifo: appointments are ordinary tickets, placed by check-in: still exactly first
    come, first served (an early check-in may be called before its slot)."""
    assert called.id == queue[0].id


def rules_with_appointments(when: datetime, called: Ticket, queue: list[Ticket]) -> None:
    """rules: an appointment is never called before its slot; one within 5 minutes of
    its 10-minute deadline (or past it) goes before every walk-in, earliest deadline
    first; otherwise walk-ins and appointments are weighed by urgency (not checked
    here)."""
    policy = Policy()
    if on_appointment_clock(called):
        assert called.appointment_at is not None and called.appointment_at <= when
    protected = [
        t
        for t in queue
        if (deadline := appointment_deadline(t, policy)) is not None
        and t.appointment_at is not None
        and t.appointment_at <= when
        and deadline - when <= policy.appointment_protect_slack
    ]
    if protected:
        first = min(protected, key=lambda t: (appointment_deadline(t, policy), t.arrival_at))
        assert called.id == first.id


def standards_with_appointments(when: datetime, called: Ticket, queue: list[Ticket]) -> None:
    """standards: an appointment may be called up to 15 minutes
    (``appointment_early_call``) before its slot, when its plan needs it or nobody else
    waits; walk-ins are weighed against that plan (not checked here)."""
    if on_appointment_clock(called):
        assert called.appointment_at is not None
        assert called.appointment_at - Policy().appointment_early_call <= when


#: what each policy does with appointments at one service and identical counters
APPOINTMENTS_AT_ONE_SERVICE: dict[str, Callable[[datetime, Ticket, list[Ticket]], None]] = {
    "fifo": fifo_with_appointments,
    "rules": rules_with_appointments,
    "standards": standards_with_appointments,
}


@pytest.mark.parametrize("policy_name", POLICIES)
@ONE_SERVICE
@given(
    advisers=st.integers(1, 3),
    role=st.sampled_from(["primary", "secondary"]),
    steps=st.lists(ONE_SERVICE_STEP, max_size=80),
)
def test_with_one_service_appointments_are_placed_so(
    policy_name: str, advisers: int, role: str, steps: list[tuple[Any, ...]]
) -> None:
    """With appointments among the walk-ins, walk-ins are still called in the order
    they came under every policy (a later walk-in is never called while an earlier
    one waits); what happens to appointments is each policy's own, stated in
    ``APPOINTMENTS_AT_ONE_SERVICE`` (a new policy must say)."""
    assert policy_name in APPOINTMENTS_AT_ONE_SERVICE, (
        f"say what {policy_name!r} does with appointments at one service"
    )
    placed = APPOINTMENTS_AT_ONE_SERVICE[policy_name]
    for when, called, queue in live_one_service(policy_name, advisers, role, steps):
        if not on_appointment_clock(called):
            walk_ins = [t for t in queue if not on_appointment_clock(t)]
            assert called.id == walk_ins[0].id, f"{called.number} before {walk_ins[0].number}"
        placed(when, called, queue)


# ------------------------------------------------------------ starvation while visitors keep coming


@pytest.mark.parametrize("policy_name", promising({}, baseline=True))
def test_a_walk_in_past_twice_target_is_not_overtaken_by_later_walk_ins(
    policy_name: str,
) -> None:
    """One counter, all three services, from 09:00 to 15:40: a Housing appointment
    every 20 minutes (12-minute visits, checked in 15 minutes early) and a Council Tax
    walk-in every 10 minutes (4-minute visits): the counter is busy all day. A Benefits
    walk-in (25-minute visits, target 15) comes at 09:01, while a Housing walk-in is
    being seen. Once past twice their target (09:31) they may be overtaken by booked
    appointments (routing.py's no-starvation argument), never by a walk-in who came
    later than that. Standards once called them at 15:52, after the arrivals stopped,
    passing them over for every shorter walk-in whose visit kept its plan on time."""
    desk = Desk(policy_name, Counter("1", primary=frozenset(CODES)))
    desk.open("1")
    desk.walk_in("HOU")
    free_at: datetime | None = None
    overdue: Ticket | None = None
    for minute in range(8 * 60):
        desk.now = START + minutes(minute)
        if free_at == desk.now:
            desk.run(cmd.Complete(actor="staff", counter="1", outcome=Outcome.RESOLVED))
            free_at = None
        if minute == 1:
            overdue = desk.walk_in("BEN")
        if minute < 400 and minute % 20 == 5:
            desk.appointment("HOU", desk.now + minutes(15))
        if minute < 400 and minute % 10 == 3:
            desk.walk_in("CTX")
        if free_at is not None:
            continue
        try:
            called, _breach = desk.call_next("1")
        except NothingToCall:
            continue
        assert overdue is not None or minute == 0
        if overdue is not None and called.id == overdue.id:
            return
        if overdue is not None and not on_appointment_clock(called):
            overdue_since = overdue.arrival_at + 2 * SERVICES[2].target_wait
            assert called.arrival_at <= overdue_since, (
                f"{called.number} (came {called.arrival_at:%H:%M}) called at "
                f"{desk.now:%H:%M} before {overdue.number}, past twice target since "
                f"{overdue_since:%H:%M}"
            )
        desk.run(cmd.StartService(actor="staff", counter="1"))
        free_at = desk.now + desk.centre.services[called.service].typical_duration
    pytest.fail(f"{overdue} was never called")
