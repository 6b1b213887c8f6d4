"""Which ticket a counter gets on "call next". The policy (docs/routing.md):

1. Candidates: queued tickets (waiting or transferred) that this counter may take —
   pinned to it, or unpinned and for a service it is skilled in — and that are
   eligible now: a checked-in appointment becomes eligible at its booked time (an
   early arrival waits for their slot); a walk-in at once.
2. Protected appointments: an appointment not yet called whose 10-minute deadline
   is within ``policy.appointment_protect_slack`` (or past) goes first, earliest
   deadline first.
3. Overdue visitors: a walk-in (or an appointment already seen once) who has waited
   ``policy.max_wait_factor`` times their service's target goes next, whatever the
   counter's primary or secondary skills, the one overdue longest first.
4. Otherwise every candidate has an urgency, a number that only grows while it waits:
   a walk-in's wait divided by its service's target wait; an appointment's time since
   it fell due divided by the appointment standard. Tickets pinned to the counter
   count as primary.
5. The best primary-skill candidate wins, unless the best secondary-skill one is at
   least ``policy.secondary_margin`` more urgent (one whole target further past it).
6. Ties break on arrival time, then ticket number, then id: deterministic.

No ticket starves: once overdue (rule 3) a ticket can be overtaken only by booked
appointments, of which there are finitely many, and by tickets that became overdue
before it did, which arrived before it; so each call at a counter that may take it
brings it closer. docs/routing.md gives the argument; tests/queue_server/core/
test_core_properties.py checks that every ticket is called once arrivals stop, and
test_core_routing.py that an overloaded counter still reaches its secondary tickets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .model import QUEUED_STATES, Counter, Policy, Service, Ticket


@dataclass(frozen=True)
class Candidate:
    ticket: Ticket
    urgency: float
    primary: bool
    protected_deadline: datetime | None  # set when rule 2 applies
    overdue_since: datetime | None = None  # set when rule 3 applies

    def sort_key(self) -> tuple[float, datetime, int, str]:
        return (-self.urgency, self.ticket.arrival_at, self.ticket.seq, self.ticket.id)


def eligible_at(ticket: Ticket) -> datetime:
    """When the ticket may first be called by "call next"."""
    if ticket.appointment_at is not None and ticket.first_called_at is None:
        return max(ticket.appointment_at, ticket.arrival_at)
    return ticket.arrival_at


def appointment_deadline(ticket: Ticket, policy: Policy) -> datetime | None:
    """The 10-minute deadline of a checked-in appointment not yet called, else None."""
    due = ticket.due_at
    if due is None or ticket.first_called_at is not None:
        return None
    return due + policy.appointment_standard


def urgency(ticket: Ticket, service: Service, policy: Policy, now: datetime) -> float:
    deadline = appointment_deadline(ticket, policy)
    if deadline is not None:
        since_due = now - (deadline - policy.appointment_standard)
        return since_due / policy.appointment_standard
    return (now - ticket.arrival_at) / service.target_wait


def may_take(counter: Counter, ticket: Ticket) -> bool:
    """Whether the counter may call the ticket by "call next" (skills and pins)."""
    if ticket.pinned_counter is not None:
        return ticket.pinned_counter == counter.name
    return counter.skilled_for(ticket.service)


def candidates(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
) -> list[Candidate]:
    found = []
    for ticket in tickets:
        if ticket.state not in QUEUED_STATES or not may_take(counter, ticket):
            continue
        if eligible_at(ticket) > now:
            continue
        deadline = appointment_deadline(ticket, policy)
        protected = (
            deadline
            if (deadline is not None and deadline - now <= policy.appointment_protect_slack)
            else None
        )
        service = services[ticket.service]
        overdue = None
        if deadline is None:
            overdue_at = ticket.arrival_at + service.target_wait * policy.max_wait_factor
            overdue = overdue_at if overdue_at <= now else None
        found.append(
            Candidate(
                ticket=ticket,
                urgency=urgency(ticket, service, policy, now),
                primary=ticket.pinned_counter == counter.name or ticket.service in counter.primary,
                protected_deadline=protected,
                overdue_since=overdue,
            )
        )
    return found


def choose_next(
    counter: Counter,
    tickets: Iterable[Ticket],
    services: Mapping[str, Service],
    policy: Policy,
    now: datetime,
) -> Ticket | None:
    """The ticket ``counter`` should call now, or None if it may call nobody."""
    found = candidates(counter, tickets, services, policy, now)
    if not found:
        return None
    protected = [c for c in found if c.protected_deadline is not None]
    if protected:
        return min(
            protected,
            key=lambda c: (c.protected_deadline, c.ticket.arrival_at, c.ticket.seq, c.ticket.id),
        ).ticket
    overdue = [c for c in found if c.overdue_since is not None]
    if overdue:
        return min(
            overdue,
            key=lambda c: (c.overdue_since, c.ticket.arrival_at, c.ticket.seq, c.ticket.id),
        ).ticket
    primary = [c for c in found if c.primary]
    secondary = [c for c in found if not c.primary]
    best_primary = min(primary, key=Candidate.sort_key) if primary else None
    best_secondary = min(secondary, key=Candidate.sort_key) if secondary else None
    if best_primary is None:
        assert best_secondary is not None
        return best_secondary.ticket
    if (
        best_secondary is not None
        and best_secondary.urgency >= best_primary.urgency + policy.secondary_margin
    ):
        return best_secondary.ticket
    return best_primary.ticket
