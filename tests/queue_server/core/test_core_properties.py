"""Random command sequences through a centre, checking what must always hold.

A hypothesis state machine issues tickets, books and checks in appointments, moves
the clock forward (across closing time, midnight and the weekend), and has advisers
sign in, open, call, recall, serve, transfer, park and cancel at random; many of its
commands are refused. After every command:

- a refused command raised a ``WalkinError`` and changed nothing at all;
- an accepted one changed nothing until its events were applied;
- every ticket and counter an event touches moved as the transition table allows,
  for the action the event's kind names; a ticket's number, day and arrival never
  change;
- a counter holds at most one ticket, a ticket is at no more than one counter, and
  the two agree; a counter is busy exactly when it holds a ticket;
- a ticket starts service at most once per stage (a stage ends at a transfer or a
  park);
- numbers are unique per prefix per local day;
- "call next" calls a ticket the counter may take now, and says nothing to call
  only when there is none; two counters calling in turn never get the same ticket;
- every queued ticket has a wait estimate, with minutes whenever an open counter
  can take it, the same from the replay's own "call next" as from ``choose_next``;
- what the queue index keeps as tickets change (each service's count and longest
  wait, from the real arrival whatever a priority visitor's head start; its tickets
  from a phone and those not here yet; the tickets whose visitor asked for help)
  equals a recount from all the tickets.

Visitors may join from a phone (and say "I'm here", or not, and be passed over and
expire) and ask for help, with or without a head start.

At the end the visitors stop coming and the open counters work through the queue:
every ticket an open counter may take is called within as many calls as there were
tickets waiting.
"""

from __future__ import annotations

import copy
from collections import Counter as Tally
from datetime import UTC, datetime, time, timedelta
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from queue_server.core import (
    Centre,
    WalkinError,
    estimate,
    estimate_wait,
    estimate_waits,
    format_number,
    prefix_of,
)
from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.centre import EXPECTED_AHEAD
from queue_server.core.durations import TicketStats
from queue_server.core.estimate import ReplayQueue
from queue_server.core.model import (
    QUEUED_STATES,
    AppointmentStatus,
    AssistanceCategory,
    CentreSetup,
    Channel,
    Counter,
    CounterState,
    OpeningHours,
    Origin,
    Outcome,
    Policy,
    RemoteJoining,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.routing import choose_next, on_the_clock, queue_order
from queue_server.core.transitions import COUNTER_TRANSITIONS, TICKET_TRANSITIONS

#: Friday 25 October 2024, 08:30 BST: the weekend the clocks go back is ahead
START = datetime(2024, 10, 25, 7, 30, tzinfo=UTC)
SERVICES = (
    Service("HOU", "Housing", "H", target_wait=timedelta(minutes=20)),
    Service("CTX", "Council Tax", "C", target_wait=timedelta(minutes=10)),
    Service("BEN", "Benefits", "B", target_wait=timedelta(minutes=15)),
)
CODES = [s.code for s in SERVICES]
COUNTERS = ("1", "2", "3")
STAFF = ("ann", "bob", "cat")
REFS = ("R1", "R2", "R3", "R4", "R5")
KIOSKS = ("K1", "K2")
#: help a visitor may ask for: two head starts (one past a target wait) and none
ASSISTANCE = (
    AssistanceCategory("unwell", "Unwell", priority_minutes=15),
    AssistanceCategory("frail", "Frail", priority_minutes=40),
    AssistanceCategory("quiet", "A quiet room"),
)
ASKED = [(), (), (), (), ("unwell",), ("frail",), ("quiet",), ("unwell", "frail"), ("nope",)]
WEEKDAYS = OpeningHours(weekly=(((time(9), time(17)),),) * 5 + ((), ()))

TICKET_ACTION: dict[type[ev.Event], str] = {
    ev.TicketCalled: "call",
    ev.TicketRecalled: "recall",
    ev.ServiceStarted: "start",
    ev.TicketCompleted: "complete",
    ev.TicketNoShow: "no_show",
    ev.TicketTransferred: "transfer",
    ev.TicketParked: "park",
    ev.TicketReturned: "return",
    ev.TicketCancelled: "cancel",
    ev.VisitorHere: "",  # no state change
    ev.TicketPassedOver: "",
}
#: the counter action each event kind implies; None: the counter must be unchanged
COUNTER_ACTION: dict[type[ev.Event], str | None] = {
    ev.TicketCalled: "take",
    ev.TicketRecalled: None,
    ev.ServiceStarted: None,
    ev.TicketCompleted: "release",
    ev.TicketNoShow: "release",
    ev.TicketTransferred: "release",
    ev.TicketParked: "release",
    ev.TicketCancelled: "release",
    ev.CounterSkillsChanged: "set_skills",
    ev.VisitorHere: None,
    ev.TicketPassedOver: None,
}
ACTIVE = (CounterState.OPEN, CounterState.SERVING)


DEFAULT_POLICY = Policy()


def may_take_now(
    counter: Counter, ticket: Ticket, now: datetime, policy: Policy = DEFAULT_POLICY
) -> bool:
    """docs/routing.md rule 1, written out independently of routing.py; and a ticket
    joined from a phone whose visitor has not said "I'm here" is not called next.
    Under ``standards`` (the default) an appointment checked in may be called up to
    ``appointment_early_call`` before its slot (docs/routing.md, "The standards
    policy", rules 2 and 4); under ``rules`` and ``fifo`` not before its slot."""
    if ticket.state not in QUEUED_STATES:
        return False
    if ticket.channel is Channel.REMOTE and not ticket.here:
        return False
    if ticket.pinned_counter is not None:
        if ticket.pinned_counter != counter.name:
            return False
    elif ticket.service not in counter.primary | counter.secondary:
        return False
    if ticket.appointment_at is not None and ticket.first_called_at is None:
        early = policy.appointment_early_call if policy.routing == "standards" else timedelta(0)
        return max(ticket.appointment_at - early, ticket.arrival_at) <= now
    return True


def held_back_now(centre: Centre, counter: Counter, ticket: Ticket, now: datetime) -> bool:
    """docs/routing.md, "Transferred away", written out independently of routing.py: a
    ticket this counter transferred to a service (not to a named counter) and that has
    not been called since is passed over here while another open or serving counter may
    take it (rule 1), until its service's target wait has passed since the transfer."""
    if ticket.state is not TicketState.TRANSFERRED or ticket.pinned_counter is not None:
        return False
    if ticket.counter != counter.name:
        return False
    if now - ticket.state_since >= centre.services[ticket.service].target_wait:
        return False
    return any(
        other.name != counter.name
        and other.state in ACTIVE
        and may_take_now(other, ticket, now, centre.setup.policy)
        and (not ticket.needs or other.equipped_for(ticket))
        for other in centre.counters.values()
    )


def build_machine(snapshot):
    def everything(centre: Centre) -> dict[str, Any]:
        """``snapshot`` and what the centre keeps as tickets change."""
        whole = snapshot(centre)
        # (an emptied service or counter may keep an empty list: not a difference)
        whole["index"] = {
            name: {key: copy.deepcopy(value) for key, value in kept.items() if value}
            for name, kept in vars(centre._queue).items()
        }
        whole["stats"] = copy.deepcopy(vars(centre.ticket_stats))
        whole["open_by_day"] = dict(centre.open_by_day)
        whole["ref_keys"] = dict(centre._ref_keys)
        whole["booked"] = list(centre._booked)
        return whole

    class CentreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.ids = 0
            self.stage_starts: Tally[tuple[str, int]] = Tally()
            self.stage: Tally[str] = Tally()
            self.log: list[ev.Event] = []
            #: each kiosk's offline journal: (service, number, arrival, key, help asked)
            self.journals: dict[str, list[tuple[str, str, datetime, str, tuple[str, ...]]]] = {}
            #: idempotency key -> the ticket its first accepted upload made
            self.uploaded: dict[str, str] = {}

        # ------------------------------------------------------------ plumbing

        @initialize(
            always_open=st.booleans(),
            max_recalls=st.integers(0, 2),
            skills=st.lists(
                st.tuples(
                    st.frozensets(st.sampled_from(CODES)), st.frozensets(st.sampled_from(CODES))
                ),
                min_size=3,
                max_size=3,
            ),
            opened=st.frozensets(st.sampled_from(COUNTERS)),
            confirm=st.booleans(),
        )
        def setup(self, always_open, max_recalls, skills, opened, confirm):
            counters = tuple(
                Counter(name, primary=primary, secondary=secondary - primary)
                for name, (primary, secondary) in zip(COUNTERS, skills, strict=True)
            )
            self.centre = Centre(
                CentreSetup(
                    centre_id="prop",
                    name="Property Centre",
                    tz=ZoneInfo("Europe/London"),
                    services=SERVICES,
                    counters=counters,
                    hours=OpeningHours(always_open=True) if always_open else WEEKDAYS,
                    policy=Policy(max_recalls=max_recalls),
                    remote=RemoteJoining(open=True, confirm=confirm, max_waiting=4),
                    assistance=ASSISTANCE,
                )
            )
            self.now = START if always_open else START + timedelta(minutes=60)
            for name, staff in zip(COUNTERS, STAFF, strict=True):
                if name in opened:
                    self.execute(cmd.SignIn(actor="t", counter=name, staff=staff))
                    self.execute(cmd.OpenCounter(actor="t", counter=name))

        def new_id(self) -> str:
            self.ids += 1
            return f"id{self.ids}"

        def execute(self, command: cmd.Command):
            """Decide and apply, checking everything; the decision, or None if refused."""
            centre, now = self.centre, self.now
            before = snapshot(centre)
            try:
                decision = centre.decide(command, now)
            except WalkinError as error:
                assert snapshot(centre) == before, f"refused {command} changed the centre"
                event(f"refused: {error.code}")
                if isinstance(command, cmd.CallNext) and error.code == "nothing_to_call":
                    counter = centre.counters[command.counter]
                    missed = [
                        t.number
                        for t in centre.tickets.values()
                        if may_take_now(counter, t, now, centre.setup.policy)
                        and not held_back_now(centre, counter, t, now)
                    ]
                    assert not missed, f"nothing to call at {counter.name}, but {missed} wait"
                return None
            assert snapshot(centre) == before, f"deciding {command} changed the centre"
            assert centre.decide(command, now) == decision, "decide is not deterministic"
            # the server estimates a new ticket's wait with its events applied "for a
            # moment" (Centre.trying), to store it in the ticket's own transaction: the
            # estimate is the one it will have, and the centre is left exactly as it was
            whole = everything(centre)
            tried = None
            with centre.trying(decision.events):
                if decision.ticket is not None and decision.events:
                    tried = estimate_wait(centre, decision.ticket.id, now)
            after = everything(centre)
            assert after == whole, (
                f"trying {command} left {[k for k in whole if whole[k] != after[k]]} changed"
            )
            for happened in decision.events:
                assert happened.at == now
                self.check_event(happened)
                centre.apply([happened])
                self.log.append(happened)
                event(f"event: {happened.kind}")
            if tried is not None:
                assert estimate_wait(centre, decision.ticket.id, now) == tried
            if isinstance(command, cmd.CallNext):
                # the call, then any remote ticket whose turn passed while not here
                called, *passed = decision.events
                assert all(isinstance(e, ev.TicketPassedOver) for e in passed)
                assert may_take_now(
                    before["counters"][command.counter],
                    before["tickets"][called.ticket.id],
                    now,
                    centre.setup.policy,
                )
            return decision

        def check_event(self, happened: ev.Event) -> None:
            """The states before (in the centre) and after (in the event) of each thing
            the event changed follow the table, for the action its kind names."""
            centre = self.centre
            if happened.ticket is not None:
                after = happened.ticket
                before = centre.tickets.get(after.id)
                if isinstance(happened, ev.TicketUploaded) and after.day < centre.local_day(
                    self.now
                ):
                    # an earlier day's offline ticket: recorded into that day, ended by
                    # its close (core/offline.py)
                    assert before is None and after.state is TicketState.CANCELLED
                    assert after.finished_at == min(
                        centre.start_of_day(after.day + timedelta(days=1)), self.now
                    )
                elif isinstance(happened, ev.TicketIssued):
                    assert before is None and after.state is TicketState.WAITING
                else:
                    assert before is not None, f"{happened.kind} for an unknown ticket"
                    action = TICKET_ACTION[type(happened)]
                    if isinstance(happened, ev.TicketNoShow) and before.state in QUEUED_STATES:
                        action = "not_here"  # passed over, and not here within the grace
                    if not action:  # "I'm here", passed over: no state change
                        assert after.state is before.state, happened.kind
                    else:
                        allowed = TICKET_TRANSITIONS.get((before.state, action))
                        assert allowed is not None, (
                            f"{happened.kind}: {before.state} has no {action}"
                        )
                        assert after.state is allowed, (
                            f"{happened.kind}: {before.state} -> {after.state}"
                        )
                    for field in ("number", "seq", "day", "origin", "issued_at", "arrival_at"):
                        assert getattr(after, field) == getattr(before, field), field
                    if action == "start":
                        self.stage_starts[(after.id, self.stage[after.id])] += 1
                        assert self.stage_starts[(after.id, self.stage[after.id])] == 1, (
                            f"{after.number} started twice in one stage"
                        )
                    if action in ("transfer", "park"):
                        self.stage[after.id] += 1
            if happened.counter is not None:
                after_c = happened.counter
                before_c = centre.counters[after_c.name]
                if isinstance(happened, ev.CounterChanged):
                    counter_action: str | None = happened.action
                else:
                    counter_action = COUNTER_ACTION[type(happened)]
                if counter_action is None:
                    assert after_c == before_c, f"{happened.kind} changed counter {after_c.name}"
                else:
                    allowed_c = COUNTER_TRANSITIONS.get((before_c.state, counter_action))
                    assert allowed_c is not None, (
                        f"{happened.kind}: {before_c.state} has no {counter_action}"
                    )
                    assert after_c.state is allowed_c
                if counter_action not in ("set_skills",):
                    assert (after_c.primary, after_c.secondary) == (
                        before_c.primary,
                        before_c.secondary,
                    )
                if counter_action not in ("sign_in", "sign_out"):
                    assert after_c.staff == before_c.staff

        # ------------------------------------------------------------ invariants

        @invariant()
        def counters_and_tickets_agree(self) -> None:
            centre = self.centre
            holders: Tally[str] = Tally()
            for counter in centre.counters.values():
                assert (counter.state is CounterState.SERVING) == (
                    counter.current_ticket is not None
                )
                if counter.state is not CounterState.CLOSED:
                    assert counter.staff is not None
                if counter.current_ticket is not None:
                    holders[counter.current_ticket] += 1
                    ticket = centre.tickets[counter.current_ticket]
                    assert ticket.state in (TicketState.CALLED, TicketState.SERVING)
                    assert ticket.counter == counter.name
            assert max(holders.values(), default=0) <= 1, "a ticket at two counters"
            for ticket in centre.tickets.values():
                at_counter = ticket.state in (TicketState.CALLED, TicketState.SERVING)
                assert holders[ticket.id] == int(at_counter), ticket
            staff = [c.staff for c in centre.counters.values() if c.staff is not None]
            assert len(staff) == len(set(staff)), "one person at two counters"

        @invariant()
        def numbers_are_unique_per_prefix_per_day(self) -> None:
            centre = self.centre
            seen = set()
            for ticket in centre.tickets.values():
                prefix = prefix_of(ticket.number)
                assert ticket.number == format_number(prefix, ticket.seq)
                key = (ticket.day, ticket.number)
                assert key not in seen, f"{ticket.number} twice on {ticket.day}"
                seen.add(key)
                assert ticket.day == centre.local_day(ticket.issued_at)
                assert centre.sequences[(prefix, ticket.day)] >= ticket.seq

        @invariant()
        def the_queue_kept_as_tickets_change_is_the_queue_recounted(self) -> None:
            # issue 12: what every change pushes is kept incrementally; it must equal a
            # full recomputation from the tickets after any sequence of commands
            queued = [t for t in self.centre.tickets.values() if t.state in QUEUED_STATES]
            recounted: dict[str, tuple[int, datetime]] = {}
            for t in queued:
                count, oldest = recounted.get(t.service, (0, t.arrival_at))
                recounted[t.service] = (count + 1, min(oldest, t.arrival_at))
            # (the longest wait is from the real arrival: a head start is not time waited)
            assert self.centre.waiting_by_service() == recounted
            # the queue's order counts a priority visitor's head start
            in_order = sorted(queued, key=lambda t: (t.arrival_at - t.head_start, t.seq, t.id))
            assert self.centre.queued() == in_order
            # the dashboard's: tickets from a phone and not here yet, those who asked for help
            index = self.centre.queue_index
            remote: dict[str, tuple[int, int]] = {}
            for t in queued:
                if t.channel is Channel.REMOTE:
                    count, away = remote.get(t.service, (0, 0))
                    remote[t.service] = (count + 1, away + (not t.here))
            assert index.remote_by_service() == remote
            assert dict(index.assisted()) == {t.id: t for t in queued if t.assistance}
            # what the estimate learns from the tickets, kept likewise
            afresh = TicketStats()
            for t in self.centre.tickets.values():
                afresh.add(t)
            assert vars(self.centre.ticket_stats) == vars(afresh)
            # what a staff page is sent on connecting: each service's first two, every
            # pinned ticket and appointment on the clock, and how many were left out
            tickets, left_out = self.centre.staff_window(2)
            expected = {}
            for code in CODES:
                of_service = sorted(
                    (t for t in queued if t.service == code),
                    key=lambda t: (t.arrival_at - t.head_start, t.seq, t.id),
                )
                expected.update((t.id, t) for t in of_service[:2])
                expected.update(
                    (t.id, t) for t in of_service if t.pinned_counter is not None or on_the_clock(t)
                )
            at_counters = [
                t
                for t in self.centre.tickets.values()
                if not t.is_final and t.state not in QUEUED_STATES
            ]
            assert [t.id for t in tickets] == [
                t.id for t in sorted([*at_counters, *expected.values()], key=queue_order)
            ]
            counts = {
                code: sum(1 for t in queued if t.service == code)
                - sum(1 for t in expected.values() if t.service == code)
                for code in CODES
            }
            assert left_out == {code: n for code, n in counts.items() if n}
            # the days with tickets still open ("needs_closing" before every command)
            open_days = Tally(t.day for t in self.centre.tickets.values() if not t.is_final)
            assert self.centre.open_by_day == dict(open_days)
            # "call next" looks only at the kept offer: the same as the estimate's replay
            # offers, and it chooses as it would from every ticket, at every counter;
            # neither calls a ticket whose visitor has not said "I'm here" (the replay
            # expects them to come, so it is given the others here)
            floor = self.centre.floor(self.now)
            # the bookings routing expects within the hour, kept in time order as they
            # change: the same as a look at every booking held
            soon, late = self.now + EXPECTED_AHEAD, self.now - self.centre.policy.checkin_late
            assert Tally(floor.expected) == Tally(
                (a.service, a.at)
                for a in self.centre.appointments.values()
                if a.status is AppointmentStatus.BOOKED and late <= a.at <= soon
            )
            # the estimate's show rate: the bookings due by a time, and how many came,
            # kept likewise, the same as counting every booking held, at any time
            for cut in (self.now, late, soon, self.now - timedelta(days=1)):
                due = [
                    a
                    for a in self.centre.appointments.values()
                    if a.status is not AppointmentStatus.CANCELLED and a.at <= cut
                ]
                came = sum(1 for a in due if a.status is not AppointmentStatus.BOOKED)
                assert self.centre.shows_by(cut) == (len(due), came)
            here = [t for t in queued if not t.away]
            replay = ReplayQueue(here, self.centre)
            for counter in self.centre.counters.values():
                offered = self.centre.offer(counter)
                assert sorted(t.id for t in offered) == sorted(t.id for t in replay.offer(counter))
                args = (self.centre.services, self.centre.policy, self.now, floor)
                assert choose_next(counter, offered, *args) == choose_next(counter, here, *args)

        @invariant()
        def final_tickets_are_finished(self) -> None:
            for ticket in self.centre.tickets.values():
                assert ticket.is_final == (ticket.finished_at is not None)
                assert (ticket.state is TicketState.DONE) == (ticket.outcome is not None)

        @invariant()
        def bookings_point_at_their_tickets(self) -> None:
            for appointment in self.centre.appointments.values():
                if appointment.status is AppointmentStatus.CHECKED_IN:
                    ticket = self.centre.tickets[appointment.ticket_id]
                    assert ticket.origin is Origin.APPOINTMENT
                    assert ticket.appointment_ref == appointment.ref
                    assert ticket.appointment_at == appointment.at
                elif appointment.status is AppointmentStatus.LATE:
                    assert self.centre.tickets[appointment.ticket_id].origin is Origin.WALK_IN
                else:
                    assert appointment.ticket_id is None

        @invariant()
        def every_queued_ticket_has_an_estimate_and_one_replay_gives_each_its_own(self) -> None:
            # One invariant, not two: each ticket's own estimate is a whole replay, and
            # both checks need them all after every step (most of this test's time).
            centre = self.centre
            queued = centre.queued()
            wanted = [t.id for t in centre.tickets.values()]
            alone = {i: estimate_wait(centre, i, self.now) for i in wanted}
            # the visitors' status pages are estimated together (estimate_waits)
            assert estimate_waits(centre, wanted, self.now) == alone
            # the replay's own "call next" (estimate.FAST) chooses as choose_next does
            with patch.object(estimate, "FAST", False):
                assert estimate_waits(centre, wanted, self.now) == alone
            for ticket in queued:
                found = alone[ticket.id]
                able = any(
                    c.state in ACTIVE
                    and (
                        c.name == ticket.pinned_counter
                        if ticket.pinned_counter
                        else c.skilled_for(ticket.service)
                    )
                    for c in centre.counters.values()
                )
                if not able:
                    assert found.minutes is None, (ticket, found)
                elif found.minutes is None:
                    # found out of reach without the replay (estimate.PRUNE): the
                    # replay itself does not reach it either
                    with patch.object(estimate, "PRUNE", False):
                        replayed = estimate_wait(centre, ticket.id, self.now)
                    assert replayed.minutes is None, (ticket, replayed)
                    # only past the estimate's horizon (people ahead, or a counter
                    # busy with a long visit): looking further, it is found later
                    with patch.object(estimate, "HORIZON", timedelta(days=365)):
                        unbounded = estimate_wait(centre, ticket.id, self.now)
                    assert unbounded.minutes is not None, (ticket, unbounded)
                    assert unbounded.minutes > estimate.HORIZON / timedelta(minutes=1)
                assert 0 <= found.people_ahead < len(queued)

        # ------------------------------------------------------------ the clock

        @rule(minutes=st.one_of(st.integers(0, 10), st.sampled_from([30, 240, 900])))
        def advance(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)

        # ------------------------------------------------------------ visitors

        def some_ticket(self, data: st.DataObject) -> str:
            """Mostly a live ticket; sometimes any, or one that does not exist."""
            live = [t.id for t in self.centre.live_tickets()]
            known = sorted(self.centre.tickets)
            pick = data.draw(st.integers(0, 9))
            if live and pick < 7:
                return data.draw(st.sampled_from(live))
            if known and pick < 9:
                return data.draw(st.sampled_from(known))
            return "nope"

        def some_counter(self, data: st.DataObject) -> str:
            """Mostly a counter with a ticket; sometimes any, or one that does not exist."""
            busy = sorted(c.name for c in self.centre.counters.values() if c.current_ticket)
            pick = data.draw(st.integers(0, 19))
            if busy and pick < 14:
                return data.draw(st.sampled_from(busy))
            return data.draw(st.sampled_from(COUNTERS)) if pick else "9"

        @rule(data=st.data(), count=st.integers(1, 3))
        def issue(self, data: st.DataObject, count: int) -> None:
            for _ in range(count):
                self.issue_one(data)

        def issue_one(self, data: st.DataObject) -> None:
            keys = sorted(self.centre._by_key)
            key = (
                data.draw(st.sampled_from(keys))
                if keys and data.draw(st.integers(0, 9)) == 0
                else None
            )
            ticket_id = self.new_id() if data.draw(st.integers(0, 19)) else self.some_ticket(data)
            self.execute(
                cmd.IssueTicket(
                    actor="kiosk",
                    service=data.draw(st.sampled_from(CODES + ["HOU", "CTX", "ZZZ"])),
                    ticket_id=ticket_id,
                    idempotency_key=key or f"key-{ticket_id}-{self.ids}",
                    late_appointment_ref=data.draw(st.sampled_from([None] * 15 + [*REFS])),
                    channel=data.draw(st.sampled_from([Channel.KIOSK] * 3 + [Channel.REMOTE])),
                    assistance=data.draw(st.sampled_from(ASKED)),
                )
            )

        @rule(data=st.data())
        def visitor_says_here(self, data: st.DataObject) -> None:
            self.execute(cmd.ConfirmHere(actor="visitor", ticket_id=self.some_ticket(data)))

        @rule()
        def sweep_away(self) -> None:
            """The server's sweep: remote tickets past their grace end as no-shows."""
            self.execute(cmd.ExpireAway(actor="system:sweep"))

        @rule(
            ref=st.sampled_from(REFS), service=st.sampled_from(CODES), offset=st.integers(-60, 120)
        )
        def book(self, ref: str, service: str, offset: int) -> None:
            self.execute(
                cmd.BookAppointment(
                    actor="system",
                    ref=ref,
                    service=service,
                    at=self.now + timedelta(minutes=offset),
                )
            )

        @rule(
            ref=st.sampled_from([*REFS, "r2"]),
            service=st.sampled_from(CODES),
            offset=st.integers(-60, 120),
            language=st.sampled_from([None, "pl"]),
        )
        def booking_system_sends(
            self, ref: str, service: str, offset: int, language: str | None
        ) -> None:
            """The booking system books, moves or resends a booking (bookings API)."""
            self.execute(
                cmd.PutAppointment(
                    actor="integration:bookings",
                    ref=ref,
                    service=service,
                    at=self.now + timedelta(minutes=offset),
                    language=language,
                )
            )

        @rule(ref=st.sampled_from([*REFS, "r2", "NOPE"]))
        def booking_system_cancels(self, ref: str) -> None:
            decision = self.execute(cmd.CancelAppointment(actor="integration:bookings", ref=ref))
            if decision is not None:
                kept = self.centre.find_appointment(ref)
                assert kept is not None and kept.status is AppointmentStatus.CANCELLED

        @rule(
            service=st.sampled_from(CODES),
            offset=st.integers(-45, 45),
            assistance=st.sampled_from(ASKED),
        )
        def arrive_for_an_appointment(
            self, service: str, offset: int, assistance: tuple[str, ...]
        ) -> None:
            """Book a slot ``offset`` minutes from now and check in for it at once."""
            ref = f"A{self.new_id()}"
            slot = self.now + timedelta(minutes=offset)
            self.execute(cmd.BookAppointment(actor="system", ref=ref, service=service, at=slot))
            self.check_in(ref.lower(), assistance)

        @rule(ref=st.sampled_from([*REFS, "r2", "NOPE"]), assistance=st.sampled_from(ASKED))
        def check_in(self, ref: str, assistance: tuple[str, ...]) -> None:
            ticket_id = self.new_id()
            decision = self.execute(
                cmd.CheckIn(
                    actor="kiosk",
                    ref=ref,
                    ticket_id=ticket_id,
                    idempotency_key=f"ci-{ticket_id}",
                    assistance=assistance,
                )
            )
            if decision is not None and decision.events:
                # a new appointment ticket: the help asked for, never a head start
                ticket = decision.ticket
                assert ticket is not None and ticket.id == ticket_id
                assert ticket.assistance == assistance and ticket.head_start == timedelta()
                event(f"check-in with help: {bool(assistance)}")

        # ------------------------------------------------------------ advisers

        counter = st.sampled_from([*COUNTERS, *COUNTERS, *COUNTERS, "9"])

        @rule(counter=counter)
        def call_next(self, counter: str) -> None:
            self.execute(cmd.CallNext(actor="staff", counter=counter))

        @rule(counter=st.sampled_from(COUNTERS), choice=st.integers(0, 9))
        def adviser_works(self, counter: str, choice: int) -> None:
            """What an adviser at this counter would sensibly do next."""
            desk = self.centre.counters[counter]
            actor = f"staff:{desk.staff}"
            if desk.state is CounterState.CLOSED:
                self.execute(
                    cmd.SignIn(actor=actor, counter=counter, staff=STAFF[int(counter) - 1])
                )
                self.execute(cmd.OpenCounter(actor=actor, counter=counter))
            elif desk.state is CounterState.PAUSED:
                self.execute(cmd.ResumeCounter(actor=actor, counter=counter))
            elif desk.current_ticket is None:
                self.execute(cmd.CallNext(actor=actor, counter=counter))
            elif self.centre.tickets[desk.current_ticket].state is TicketState.CALLED:
                command = (
                    [cmd.Recall, cmd.MarkNoShow, cmd.Park][choice]
                    if choice < 3
                    else cmd.StartService
                )
                self.execute(command(actor=actor, counter=counter))
            elif choice < 2:
                self.execute(cmd.Park(actor=actor, counter=counter))
            elif choice < 4:
                to = (
                    {"to_service": CODES[choice % 3]}
                    if choice == 2
                    else {"to_counter": COUNTERS[choice % 3]}
                )
                self.execute(cmd.Transfer(actor=actor, counter=counter, **to))
            else:
                self.execute(cmd.Complete(actor=actor, counter=counter, outcome=Outcome.RESOLVED))

        @rule(first=st.sampled_from(COUNTERS), second=st.sampled_from(COUNTERS))
        def call_next_at_two_counters(self, first: str, second: str) -> None:
            if first == second:
                return
            one = self.execute(cmd.CallNext(actor="staff", counter=first))
            two = self.execute(cmd.CallNext(actor="staff", counter=second))
            if one is not None and two is not None:
                assert one.ticket.id != two.ticket.id

        @rule(counter=counter, data=st.data(), reason=st.sampled_from(["", *["interpreter"] * 3]))
        def call_ticket(self, counter: str, data: st.DataObject, reason: str) -> None:
            self.execute(
                cmd.CallTicket(
                    actor="staff", counter=counter, ticket_id=self.some_ticket(data), reason=reason
                )
            )

        @rule(data=st.data(), action=st.sampled_from(["recall", "start", "no_show", "park"]))
        def at_the_counter(self, data: st.DataObject, action: str) -> None:
            counter = self.some_counter(data)
            command = {
                "recall": cmd.Recall,
                "start": cmd.StartService,
                "no_show": cmd.MarkNoShow,
                "park": cmd.Park,
            }[action]
            self.execute(command(actor="staff", counter=counter))

        @rule(data=st.data(), outcome=st.sampled_from(Outcome), avoidable=st.booleans())
        def complete(self, data: st.DataObject, outcome: Outcome, avoidable: bool) -> None:
            counter = self.some_counter(data)
            self.execute(
                cmd.Complete(actor="staff", counter=counter, outcome=outcome, avoidable=avoidable)
            )

        @rule(
            data=st.data(),
            by_counter=st.booleans(),
            to_service=st.sampled_from([None, *CODES, "ZZZ"]),
            to_counter=st.sampled_from([None, None, *COUNTERS]),
        )
        def transfer(self, data, by_counter, to_service, to_counter) -> None:
            if by_counter:
                where = {"counter": self.some_counter(data)}
            else:
                where = {"ticket_id": self.some_ticket(data)}
            self.execute(
                cmd.Transfer(actor="staff", to_service=to_service, to_counter=to_counter, **where)
            )

        @rule(data=st.data(), action=st.sampled_from(["return", "cancel"]))
        def by_ticket(self, data: st.DataObject, action: str) -> None:
            ticket_id = self.some_ticket(data)
            if action == "return":
                self.execute(cmd.ReturnParked(actor="staff", ticket_id=ticket_id))
            else:
                self.execute(cmd.Cancel(actor="staff", ticket_id=ticket_id, reason="left"))

        @rule(
            counter=counter,
            action=st.sampled_from(["open", "pause", "resume", "close", "sign_out"]),
        )
        def counter_state(self, counter: str, action: str) -> None:
            command = {
                "open": cmd.OpenCounter,
                "pause": cmd.PauseCounter,
                "resume": cmd.ResumeCounter,
                "close": cmd.CloseCounter,
                "sign_out": cmd.SignOut,
            }[action]
            self.execute(command(actor="staff", counter=counter))

        @rule(counter=counter, staff=st.sampled_from(STAFF))
        def sign_in(self, counter: str, staff: str) -> None:
            self.execute(cmd.SignIn(actor="staff", counter=counter, staff=staff))

        @rule(
            counter=counter,
            primary=st.frozensets(st.sampled_from([*CODES, "ZZZ"])),
            secondary=st.frozensets(st.sampled_from(CODES)),
        )
        def set_skills(self, counter, primary, secondary) -> None:
            self.execute(
                cmd.SetCounterSkills(
                    actor="manager", counter=counter, primary=primary, secondary=secondary
                )
            )

        @rule(service=st.sampled_from([*CODES, "ZZZ"]), minutes=st.integers(-1, 30))
        def set_target(self, service: str, minutes: int) -> None:
            self.execute(
                cmd.SetServiceTarget(
                    actor="manager", service=service, target_wait=timedelta(minutes=minutes)
                )
            )

        # ------------------------------------------------------------ kiosks offline
        # (issue 13 item 4) blocks leased, tickets issued from them "offline" with
        # arrivals in the past, uploaded in any order, again and again

        @rule(
            kiosk=st.sampled_from(KIOSKS),
            service=st.sampled_from([*CODES, "ZZZ"]),
            size=st.integers(1, 4),
            reuse=st.integers(0, 5),
        )
        def lease_numbers(self, kiosk: str, service: str, size: int, reuse: int) -> None:
            keys = sorted(self.centre.blocks)
            key = keys[reuse % len(keys)] if keys and reuse == 0 else f"lease{self.new_id()}"
            self.execute(
                cmd.LeaseNumbers(
                    actor=f"kiosk:{kiosk}",
                    kiosk=kiosk,
                    service=service,
                    day=self.centre.local_day(self.now),
                    size=size,
                    key=key,
                )
            )

        @rule(data=st.data(), kiosk=st.sampled_from(KIOSKS), count=st.integers(1, 3))
        def issue_offline(self, data: st.DataObject, kiosk: str, count: int) -> None:
            for _ in range(count):
                self.issue_offline_one(data, kiosk, data.draw(st.integers(0, 12)))

        def issue_offline_one(self, data: st.DataObject, kiosk: str, back: int) -> None:
            """The kiosk's journal gains a ticket: mostly an unused number of one of its
            blocks; sometimes another kiosk's, or one it already used."""
            journal = self.journals.setdefault(kiosk, [])
            mine = [
                (b.service, format_number(b.prefix, seq))
                for b in self.centre.blocks.values()
                if b.kiosk == kiosk
                for seq in range(b.first, b.last + 1)
            ]
            used = {number for _, number, _, _, _ in journal}
            fresh = [m for m in mine if m[1] not in used]
            others = [
                (b.service, format_number(b.prefix, b.first))
                for b in self.centre.blocks.values()
                if b.kiosk != kiosk
            ]
            pick = data.draw(st.integers(0, 9))
            if fresh and pick < 8:
                service, number = data.draw(st.sampled_from(fresh))
            elif others and pick == 8:
                service, number = data.draw(st.sampled_from(others))
            elif mine:
                service, number = data.draw(st.sampled_from(mine))
            else:
                return
            arrival = self.now - timedelta(minutes=back)
            journal.append(
                (service, number, arrival, f"off{self.new_id()}", data.draw(st.sampled_from(ASKED)))
            )

        @rule(data=st.data(), kiosk=st.sampled_from(KIOSKS))
        def upload_offline(self, data: st.DataObject, kiosk: str) -> None:
            journal = self.journals.get(kiosk, [])
            if not journal:
                return
            chosen = data.draw(st.lists(st.sampled_from(journal), min_size=1, max_size=6))
            entries = tuple(
                cmd.OfflineTicket(
                    number=number,
                    service=service,
                    arrival_at=arrival,
                    idempotency_key=key,
                    ticket_id=self.new_id(),
                    assistance=assistance,
                )
                for service, number, arrival, key, assistance in chosen
            )
            decision = self.execute(
                cmd.UploadOffline(actor=f"kiosk:{kiosk}", kiosk=kiosk, tickets=entries)
            )
            assert decision is not None, "an upload is never refused as a whole"
            assert len(decision.outcomes) == len(entries)
            for entry, outcome in zip(entries, decision.outcomes, strict=True):
                event(f"upload: {outcome.status}")
                key = entry.idempotency_key
                if outcome.status == "refused":
                    assert outcome.code and outcome.message and outcome.ticket is None
                    assert (
                        self.uploaded.get(key) is None
                        or entry.number != self.centre.tickets[self.uploaded[key]].number
                    )
                    continue
                # exactly once: the first acceptance makes the ticket, every later
                # upload of the same key answers with that same ticket
                if outcome.status == "accepted":
                    assert key not in self.uploaded
                    self.uploaded[key] = outcome.ticket.id
                    # the help offered here is applied as at issue, the rest dropped
                    # with a reason, and the ticket kept either way
                    offered = {a.code for a in ASSISTANCE}
                    known = tuple(a for a in entry.assistance if a in offered)
                    assert outcome.ticket.assistance == known
                    assert outcome.ticket.head_start == timedelta(
                        minutes=max(
                            (a.priority_minutes for a in ASSISTANCE if a.code in known), default=0
                        )
                    )
                    assert outcome.dropped == tuple(a for a in entry.assistance if a not in offered)
                    assert (outcome.message is not None) == bool(outcome.dropped)
                    event(f"upload: help dropped: {bool(outcome.dropped)}")
                else:
                    assert outcome.ticket.id == self.uploaded[key]
                ticket = self.centre.tickets[self.uploaded[key]]
                assert ticket.number == entry.number and ticket.idempotency_key == key
                assert ticket.arrival_at == min(entry.arrival_at, self.now) or (
                    outcome.status == "already"
                )

        @invariant()
        def block_numbers_go_only_to_their_kiosks_uploads(self) -> None:
            centre = self.centre
            blocks = list(centre.blocks.values())
            for a in blocks:
                for b in blocks:
                    if a is not b and (a.prefix, a.day) == (b.prefix, b.day):
                        assert a.last < b.first or b.last < a.first, f"{a} overlaps {b}"
            uploaded = set(self.uploaded.values())
            for ticket in centre.tickets.values():
                holder = [
                    b.kiosk
                    for b in blocks
                    if (b.prefix, b.day) == (prefix_of(ticket.number), ticket.day)
                    and b.first <= ticket.seq <= b.last
                ]
                if ticket.id in uploaded:
                    assert len(holder) == 1
                else:
                    assert not holder, f"{ticket.number} issued online from a block"
            assert len(set(self.uploaded.values())) == len(self.uploaded)

        # ------------------------------------------------------------ the end of the day

        def teardown(self) -> None:
            if not hasattr(self, "centre"):
                return
            centre = self.centre

            def open_counters():
                return [c for c in centre.counters.values() if c.state in ACTIVE]

            def takeable():
                later = self.now + timedelta(days=1)  # eligibility aside: any open counter?
                return {
                    t.id
                    for t in centre.queued()
                    if any(may_take_now(c, t, later) for c in open_counters())
                }

            waiting = takeable()
            called: set[str] = set()
            calls = 0
            for _ in range(len(waiting) + 32):  # a slot is at most 30 minutes away
                for counter in open_counters():
                    current = counter.current_ticket
                    if current is not None:
                        if centre.tickets[current].state is TicketState.CALLED:
                            assert self.execute(
                                cmd.StartService(actor="staff", counter=counter.name)
                            )
                        assert self.execute(
                            cmd.Complete(
                                actor="staff", counter=counter.name, outcome=Outcome.RESOLVED
                            )
                        )
                    decision = self.execute(cmd.CallNext(actor="staff", counter=counter.name))
                    if decision is not None:
                        calls += 1
                        called.add(decision.ticket.id)
                if not takeable():
                    break
                self.now += timedelta(minutes=1)
            assert waiting <= called, f"never called: {waiting - called}"
            assert not takeable()
            assert calls <= len(waiting)

            # the same events replayed rebuild the same centre
            rebuilt = Centre(centre.setup)
            rebuilt.apply(self.log)
            assert snapshot(rebuilt) == snapshot(centre)

    return CentreMachine


def test_random_command_sequences_keep_the_invariants(snapshot_of):
    machine = build_machine(snapshot_of)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=200,
            stateful_step_count=80,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
