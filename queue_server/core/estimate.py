"""Wait estimates: how many people are ahead of a ticket, and roughly how long.

Method (docs/routing.md, "Wait estimates"): replay the routing policy forward in time.
Each open counter becomes free at a predicted moment — now if idle; if it has a
ticket, when that visit should end by the service's recent mean duration (never
sooner than a quarter of that mean from now, since a visit over its mean is likely to
run on a while). Repeatedly the earliest-free counter "calls next" with the real
``choose_next`` at that moment, and stays busy for the called service's mean
duration. The moment a ticket is called in this replay is its estimate; the people
ahead of it are the queued tickets called before it at counters that could have
taken it. Paused and closed counters are assumed to stay so. If no open counter can
take the ticket, the minutes are unknown (None) and the people ahead are the tickets
of the same service that arrived earlier. The replay looks ``HORIZON`` (4 hours)
ahead at most; a ticket not called by then has unknown minutes, and its people ahead
are those called in the replay plus those of its service still before it.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .model import QUEUED_STATES, Counter, CounterState, Ticket, TicketState
from .routing import appointment_deadline, choose_next, eligible_at, may_take

if TYPE_CHECKING:
    from .centre import Centre

#: bound on the replay so one estimate can never hold up the server
MAX_STEPS = 2000
#: how far ahead the replay looks. Past it the minutes are unknown (None): a wait of
#: more than four hours is not an estimate worth printing, and the bound keeps each
#: estimate's cost independent of the queue's length (docs/performance.md).
HORIZON = timedelta(hours=4)


class ReplayQueue:
    """The queue during a replay, indexed so that each "call next" looks at a handful
    of tickets rather than all of them (a replay makes one call per ticket ahead).

    Among unpinned tickets off the appointment clock, one service's tickets share a
    target, so the oldest (by arrival, number, id) is always the one routing prefers
    of that service: the highest urgency, overdue first, first in every tie. Only each
    service's oldest is offered to ``choose_next``, with every ticket pinned to the
    counter and every appointment still on its clock (both few).
    ``tests/queue_server/core/test_core_routing.py`` checks the offer never changes
    the choice.
    """

    def __init__(self, queued: list[Ticket], centre: Centre) -> None:
        self.by_service: dict[str, deque[Ticket]] = {}
        self.pinned: dict[str, dict[str, Ticket]] = {}
        self.on_the_clock: dict[str, Ticket] = {}
        for ticket in sorted(queued, key=lambda t: (t.arrival_at, t.seq, t.id)):
            if appointment_deadline(ticket, centre.policy) is not None:
                self.on_the_clock[ticket.id] = ticket
            elif ticket.pinned_counter is not None:
                self.pinned.setdefault(ticket.pinned_counter, {})[ticket.id] = ticket
            else:
                self.by_service.setdefault(ticket.service, deque()).append(ticket)

    def offer(self, counter: Counter) -> list[Ticket]:
        """What ``choose_next`` needs to see to choose as it would from the whole queue."""
        offered = [
            waiting[0]
            for service, waiting in self.by_service.items()
            if waiting and counter.skilled_for(service)
        ]
        offered.extend(self.pinned.get(counter.name, {}).values())
        offered.extend(self.on_the_clock.values())
        return offered

    def remove(self, ticket: Ticket) -> None:
        if self.on_the_clock.pop(ticket.id, None) is not None:
            return
        if ticket.pinned_counter is not None:
            del self.pinned[ticket.pinned_counter][ticket.id]
            return
        waiting = self.by_service[ticket.service]
        assert waiting[0].id == ticket.id, "routing chose a service's oldest ticket"
        waiting.popleft()


@dataclass(frozen=True)
class WaitEstimate:
    people_ahead: int
    #: minutes until called, rounded up; None when no open counter can take the ticket
    minutes: int | None


def estimate_wait(centre: Centre, ticket_id: str, now: datetime) -> WaitEstimate:
    """Estimate for one queued ticket of ``centre`` at ``now``.

    Raises ``NotFound`` for an unknown ticket. A ticket no longer queued has
    nothing ahead of it and no wait: ``WaitEstimate(0, 0)``.
    """
    return estimate_waits(centre, [ticket_id], now)[ticket_id]


def estimate_waits(
    centre: Centre, ticket_ids: Iterable[str], now: datetime
) -> dict[str, WaitEstimate]:
    """``estimate_wait`` for several tickets from one replay (the visitors' status
    pages): each result equals that ticket's own ``estimate_wait``, for the cost of
    the longest of them. Raises ``NotFound`` for an unknown ticket."""
    results: dict[str, WaitEstimate] = {}
    counters = [
        c for c in centre.counters.values() if c.state in (CounterState.OPEN, CounterState.SERVING)
    ]
    #: the tickets to replay for, and the names of the counters that could take each
    targets: dict[str, frozenset[str]] = {}
    # for tickets no open counter can take: each service's queue by arrival, made once
    by_arrival: dict[str, list[tuple[datetime, int]]] | None = None
    for ticket_id in ticket_ids:
        target = centre.ticket(ticket_id)
        if target.state not in QUEUED_STATES:
            results[ticket_id] = WaitEstimate(0, 0)
            continue
        able = frozenset(c.name for c in counters if may_take(c, target))
        if not able:
            if by_arrival is None:
                by_arrival = {}
                for t in centre.tickets.values():
                    if t.state in QUEUED_STATES:
                        by_arrival.setdefault(t.service, []).append((t.arrival_at, t.seq))
                for arrivals in by_arrival.values():
                    arrivals.sort()
            earlier = bisect_left(
                by_arrival.get(target.service, []), (target.arrival_at, target.seq)
            )
            results[ticket_id] = WaitEstimate(earlier, None)
        else:
            targets[ticket_id] = able
    if not targets:
        return results

    free_at: list[tuple[datetime, str]] = []
    for counter in counters:
        when = now
        if counter.current_ticket is not None:
            current = centre.tickets[counter.current_ticket]
            mean = centre.mean_duration(current.service)
            # A called ticket's visit has not begun, even if it was served before a
            # transfer or a park (its service_started_at is then from that visit).
            if current.state == TicketState.SERVING:
                started = current.service_started_at or now
            else:
                started = current.called_at or now
            when = max(started + mean, now + mean / 4)
        heapq.heappush(free_at, (when, counter.name))

    queued = [t for t in centre.tickets.values() if t.state in QUEUED_STATES]
    queue = ReplayQueue(queued, centre)
    # each counter's calls in the replay so far, by time (the replay runs forward, so
    # each list is sorted and "called before t" is a bisection)
    calls_at: dict[str, list[datetime]] = {}
    called: set[str] = set()
    pending = dict(targets)
    for _ in range(MAX_STEPS):
        when, name = heapq.heappop(free_at)
        if when > now + HORIZON:
            break
        counter = centre.counters[name]
        chosen = choose_next(counter, queue.offer(counter), centre.services, centre.policy, when)
        if chosen is None:
            # Nothing callable yet here: jump to the next moment something becomes
            # eligible (a booked slot), or retire the counter if nothing ever will.
            upcoming = [
                eligible_at(t)
                for t in queue.on_the_clock.values()
                if may_take(counter, t) and eligible_at(t) > when
            ]
            if upcoming:
                heapq.heappush(free_at, (min(upcoming), name))
            elif not free_at:
                break
            continue
        if chosen.id in pending:
            able = pending.pop(chosen.id)
            minutes = max(0.0, (when - now) / timedelta(minutes=1))
            # Ahead: those called earlier at counters that could have taken it (someone
            # called at the same moment at another desk is not ahead of us).
            ahead = sum(bisect_left(calls_at.get(desk, []), when) for desk in able)
            results[chosen.id] = WaitEstimate(ahead, int(-(-minutes // 1)))
            if not pending:
                return results
        queue.remove(chosen)
        called.add(chosen.id)
        calls_at.setdefault(name, []).append(when)
        heapq.heappush(free_at, (when + centre.mean_duration(chosen.service), name))
    # Not reached within the horizon: those called so far (at counters that could take
    # it), and those of the same service still ahead of it, are ahead; how long is
    # unknown.
    if not pending:
        return results
    uncalled: dict[str, list[tuple[datetime, int, str]]] = {}
    for t in queued:
        if t.id not in called:
            uncalled.setdefault(t.service, []).append((t.arrival_at, t.seq, t.id))
    for places in uncalled.values():
        places.sort()
    for ticket_id in pending:
        able = targets[ticket_id]
        target = centre.tickets[ticket_id]
        place = (target.arrival_at, target.seq, target.id)
        still_ahead = bisect_left(uncalled.get(target.service, []), place)
        rivals = sum(len(calls_at.get(desk, [])) for desk in able)
        results[ticket_id] = WaitEstimate(rivals + still_ahead, None)
    return results
