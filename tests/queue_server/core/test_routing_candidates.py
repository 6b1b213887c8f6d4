"""``routing.candidates`` (what every "call next" of ``rules`` and ``standards`` and
every step of the estimate's replay scores) is written for speed (issue 12); here it is
held equal to the rules written out plainly, as they were, for any tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core.model import (
    QUEUED_STATES,
    Counter,
    Origin,
    Policy,
    Service,
    Ticket,
    TicketState,
)
from queue_server.core.routing import Candidate, candidates

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
SERVICES = {
    "HOU": Service("HOU", "Housing", "H", target_wait=timedelta(minutes=20)),
    "CTX": Service("CTX", "Council tax", "C", target_wait=timedelta(minutes=10)),
    "BEN": Service("BEN", "Benefits", "B", target_wait=timedelta(minutes=15)),
}


def by_definition(
    counter: Counter, tickets: list[Ticket], policy: Policy, now: datetime
) -> list[Candidate]:
    """docs/routing.md's rules 1-3, one helper a rule, as routing.py had them."""

    def eligible_at(ticket: Ticket) -> datetime:
        if ticket.appointment_at is not None and ticket.first_called_at is None:
            return max(ticket.appointment_at, ticket.arrival_at)
        return ticket.arrival_at

    def deadline_of(ticket: Ticket) -> datetime | None:
        if ticket.due_at is None or ticket.first_called_at is not None:
            return None
        return ticket.due_at + policy.appointment_standard

    found = []
    for ticket in tickets:
        if ticket.state not in QUEUED_STATES:
            continue
        if ticket.pinned_counter is not None:
            if ticket.pinned_counter != counter.name:
                continue
        elif not counter.skilled_for(ticket.service):
            continue
        if eligible_at(ticket) > now:
            continue
        service = SERVICES[ticket.service]
        deadline = deadline_of(ticket)
        protected = (
            deadline
            if deadline is not None and deadline - now <= policy.appointment_protect_slack
            else None
        )
        overdue = None
        if deadline is None:
            at = ticket.arrival_at + service.target_wait * policy.max_wait_factor
            overdue = at if at <= now else None
            urgency = (now - ticket.arrival_at) / service.target_wait
        else:
            since_due = now - (deadline - policy.appointment_standard)
            urgency = since_due / policy.appointment_standard
        found.append(
            Candidate(
                ticket=ticket,
                urgency=urgency,
                primary=ticket.pinned_counter == counter.name or ticket.service in counter.primary,
                protected_deadline=protected,
                overdue_since=overdue,
            )
        )
    return found


minutes = st.integers(-90, 60).map(lambda m: NOW + timedelta(minutes=m))


@st.composite
def tickets(draw: st.DrawFn, n: int) -> Ticket:
    arrival = draw(minutes)
    booked = draw(st.none() | minutes)
    return Ticket(
        id=f"t{n}",
        number=f"H{n:03d}",
        seq=n,
        service=draw(st.sampled_from(sorted(SERVICES))),
        day=NOW.date(),
        origin=Origin.APPOINTMENT if booked else Origin.WALK_IN,
        issued_at=arrival,
        arrival_at=arrival,
        state=draw(st.sampled_from(list(TicketState))),
        state_since=arrival,
        appointment_at=booked,
        pinned_counter=draw(st.none() | st.sampled_from(["1", "2"])),
        first_called_at=draw(st.none() | minutes),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 12).flatmap(lambda k: st.tuples(*(tickets(n) for n in range(k)))),
    st.sets(st.sampled_from(sorted(SERVICES)), min_size=1),
    st.sets(st.sampled_from(sorted(SERVICES))),
    st.integers(0, 15),
    st.floats(1.0, 3.0),
)
def test_candidates_are_the_rules_written_plainly(
    drawn: tuple[Ticket, ...],
    primary: set[str],
    secondary: set[str],
    slack: int,
    factor: float,
) -> None:
    counter = Counter("1", primary=frozenset(primary), secondary=frozenset(secondary - primary))
    policy = Policy(appointment_protect_slack=timedelta(minutes=slack), max_wait_factor=factor)
    found = candidates(counter, list(drawn), SERVICES, policy, NOW)
    assert found == by_definition(counter, list(drawn), policy, NOW)
