"""The queue, kept in order as tickets change, so that what each change needs costs the
same however long the queue is (issue 12, "constant work per change").

::

    index = QueueIndex()
    index.remove(previous); index.add(ticket)     as ``Centre`` stores each ticket
    index.tickets()                               every queued ticket (no order)
    index.waiting_by_service()                    {service: (count, earliest arrival)}
    index.remote_by_service()                     {service: (from a phone, not here yet)}
    index.offer(counter)                          what "call next" needs to look at
    index.earlier(ticket), index.before(ticket)   queued of its service before it
    index.plain(service)                          its plain tickets' keys, oldest first

Four groups, as ``replay_queue.ReplayQueue`` has them: tickets on the appointment clock
(checked-in appointments not yet called: ``routing.appointment_deadline``), tickets
pinned to a counter, tickets only some of the counters skilled for their service may
take ("restricted": a visitor who needs a counter with something, a hearing loop or an
adviser speaking their language, ``Ticket.needs``; or a ticket a counter transferred
away, not offered back there for a while, ``Ticket.transferred_from``; few, offered to
every counter, which ``routing.may_take`` and ``routing.held_back`` filter), and the
rest ("plain"), by service.
Each service keeps two sorted lists of (arrival less any head start, number, id): all
its queued tickets, and its plain ones; and a third of (arrival, number, id), for its
longest wait: a priority visitor's head start moves them up the queue, but they have
waited only since they came (``Ticket.queued_since`` is not ``arrival_at``). Adding or
removing a ticket is a bisection and a move of the list's tail (C speed: a few
microseconds at 10,000); reading the queue's shape, or each service's oldest, is
O(services).

Tickets joined from a phone whose visitor has not said "I'm here" (``Ticket.away``)
stay among the plain ones, in their place (the wait estimate's replay expects them to
come, as it expects bookings), but ``offer`` passes over them: "call next" never calls
one. They are few (``RemoteJoining.max_waiting``), so passing over them costs little.

``offer`` rests on the contract every routing policy keeps (``routing.RoutingPolicy``):
among one service's plain tickets a policy never prefers one over an older one, so
each service's oldest plain ticket, every ticket pinned to the counter and every ticket
on the appointment clock are all it needs to choose as it would from the whole queue.
``tests/queue_server/core/test_core_properties.py`` holds every read equal to a
recomputation from all the tickets after random command sequences.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from .model import QUEUED_STATES, Channel, Counter, Ticket
from .routing import on_the_clock, queue_order

Key = tuple[datetime, int, str]


def _arrival(ticket: Ticket) -> Key:
    """A ticket's key by when its visitor really came (no head start)."""
    return (ticket.arrival_at, ticket.seq, ticket.id)


def _count(counts: dict[str, int], service: str, change: int) -> None:
    """Add ``change`` to ``counts[service]``, forgetting a service that drops to 0."""
    left = counts.get(service, 0) + change
    if left:
        counts[service] = left
    else:
        counts.pop(service, None)


def restricted(ticket: Ticket) -> bool:
    """Whether a queued ticket off the appointment clock and not pinned is kept apart
    from its service's plain ones: not every counter skilled for its service may take
    it (its visitor needs something), or not at every moment (a counter transferred it
    away: ``routing.held_back``)."""
    return bool(ticket.needs) or ticket.transferred_from is not None


def _discard(keys: list[Key], key: Key) -> None:
    at = bisect_left(keys, key)
    if at < len(keys) and keys[at] == key:
        del keys[at]


class QueueIndex:
    """See the module docstring."""

    def __init__(self) -> None:
        #: service -> id -> every queued ticket of it
        self._by_service: dict[str, dict[str, Ticket]] = {}
        #: service -> sorted keys of all its queued tickets; of its plain ones
        self._all: dict[str, list[Key]] = {}
        self._plain: dict[str, list[Key]] = {}
        #: counter name -> id -> tickets pinned to it
        self._pinned: dict[str, dict[str, Ticket]] = {}
        #: id -> tickets on the appointment clock
        self._on_clock: dict[str, Ticket] = {}
        #: id -> tickets whose visitor needs a counter with something (``Ticket.needs``)
        #: or that a counter transferred away (``Ticket.transferred_from``): not every
        #: counter skilled for the service may take them, so they are not among the
        #: plain ones, whose oldest any skilled counter may take
        self._restricted: dict[str, Ticket] = {}
        #: id -> queued tickets joined remotely; of them, those not here yet
        self._remote: dict[str, Ticket] = {}
        self._away: dict[str, Ticket] = {}
        #: service -> sorted (arrival, number, id) of its queued tickets: its longest
        #: wait, from the real arrival (the order above counts a head start)
        self._arrived: dict[str, list[Key]] = {}
        #: service -> how many of its queued tickets joined from a phone; of them, not
        #: here yet (the dashboard's figures)
        self._remote_count: dict[str, int] = {}
        self._away_count: dict[str, int] = {}
        #: id -> queued tickets whose visitor asked for help (``Ticket.assistance``),
        #: whatever it does to their place: few, listed apart on the dashboard
        self._assisted: dict[str, Ticket] = {}

    def add(self, ticket: Ticket) -> None:
        """Note ``ticket`` as it now is (nothing if it is not queued)."""
        if ticket.state not in QUEUED_STATES:
            return
        self._by_service.setdefault(ticket.service, {})[ticket.id] = ticket
        insort(self._all.setdefault(ticket.service, []), queue_order(ticket))
        insort(self._arrived.setdefault(ticket.service, []), _arrival(ticket))
        if ticket.channel == Channel.REMOTE:
            self._remote[ticket.id] = ticket
            _count(self._remote_count, ticket.service, 1)
            if ticket.away:
                self._away[ticket.id] = ticket
                _count(self._away_count, ticket.service, 1)
        if ticket.assistance:
            self._assisted[ticket.id] = ticket
        if on_the_clock(ticket):
            self._on_clock[ticket.id] = ticket
        elif ticket.pinned_counter is not None:
            self._pinned.setdefault(ticket.pinned_counter, {})[ticket.id] = ticket
        elif restricted(ticket):
            self._restricted[ticket.id] = ticket
        else:
            insort(self._plain.setdefault(ticket.service, []), queue_order(ticket))

    def remove(self, ticket: Ticket) -> None:
        """Forget ``ticket`` as it was stored (nothing if it was not queued)."""
        if ticket.state not in QUEUED_STATES:
            return
        key = queue_order(ticket)
        self._by_service[ticket.service].pop(ticket.id, None)
        if self._remote.pop(ticket.id, None) is not None:
            _count(self._remote_count, ticket.service, -1)
        if self._away.pop(ticket.id, None) is not None:
            _count(self._away_count, ticket.service, -1)
        self._assisted.pop(ticket.id, None)
        _discard(self._all[ticket.service], key)
        _discard(self._arrived[ticket.service], _arrival(ticket))
        if self._on_clock.pop(ticket.id, None) is None:
            if ticket.pinned_counter is not None:
                self._pinned[ticket.pinned_counter].pop(ticket.id, None)
            elif restricted(ticket):
                self._restricted.pop(ticket.id, None)
            else:
                _discard(self._plain[ticket.service], key)

    def tickets(self) -> Iterable[Ticket]:
        return (t for bucket in self._by_service.values() for t in bucket.values())

    def ticket(self, service: str, key: Key) -> Ticket:
        return self._by_service[service][key[2]]

    def waiting_by_service(self) -> dict[str, tuple[int, datetime]]:
        """For each service with anyone queued: how many, and the earliest
        ``arrival_at`` among them (their longest wait is from it: a priority visitor's
        head start is not time waited)."""
        return {code: (len(keys), keys[0][0]) for code, keys in self._arrived.items() if keys}

    def remote_by_service(self) -> dict[str, tuple[int, int]]:
        """For each service with a queued ticket joined from a phone: how many such
        tickets, and how many of them are not here yet (``Ticket.away``)."""
        return {
            code: (count, self._away_count.get(code, 0))
            for code, count in self._remote_count.items()
        }

    def earlier(self, ticket: Ticket) -> int:
        """How many queued tickets of ``ticket``'s service came before it (earlier
        arrival, or the same and a lower number)."""
        keys = self._all.get(ticket.service, [])
        return bisect_left(keys, (ticket.queued_since, ticket.seq, ""))

    def before(self, ticket: Ticket) -> int:
        """How many queued tickets of ``ticket``'s service stand before it in the
        queue's order (arrival, number, id)."""
        return bisect_left(self._all.get(ticket.service, []), queue_order(ticket))

    def queued_before(self, service: str, key: Key) -> int:
        """How many queued tickets of ``service`` stand before ``key`` in the queue's
        order (arrival, number, id)."""
        return bisect_left(self._all.get(service, []), key)

    def window(self, per_service: int) -> tuple[list[Ticket], dict[str, int]]:
        """Each service's first ``per_service`` queued tickets in the queue's order,
        with every ticket pinned to a counter or on the appointment clock wherever it
        stands (a counter's own and an appointment due must always be seen); and, for
        each service with tickets not among them, how many. O(services × per_service
        + pinned + appointments), whatever the queue's length."""
        shown: dict[str, Ticket] = {}
        for service, keys in self._all.items():
            tickets = self._by_service[service]
            for key in keys[:per_service]:
                shown[key[2]] = tickets[key[2]]
        for pinned in self._pinned.values():
            shown.update(pinned)
        shown.update(self._on_clock)
        per: dict[str, int] = {}
        for ticket in shown.values():
            per[ticket.service] = per.get(ticket.service, 0) + 1
        left_out = {
            service: len(keys) - per.get(service, 0)
            for service, keys in self._all.items()
            if len(keys) > per.get(service, 0)
        }
        return list(shown.values()), left_out

    def plain(self) -> Mapping[str, Sequence[Key]]:
        """Each service's plain tickets' keys, oldest first: read, never change."""
        return self._plain

    def pinned(self) -> Mapping[str, Mapping[str, Ticket]]:
        return self._pinned

    def on_clock(self) -> Mapping[str, Ticket]:
        return self._on_clock

    def restricted(self) -> Mapping[str, Ticket]:
        """Queued tickets only some counters skilled for their service may take (their
        visitor needs something, or a counter transferred them away), by id."""
        return self._restricted

    def remote(self) -> Mapping[str, Ticket]:
        """Queued tickets joined from a phone, by id."""
        return self._remote

    def away(self) -> Mapping[str, Ticket]:
        """Queued tickets joined from a phone whose visitor is not here yet, by id."""
        return self._away

    def assisted(self) -> Mapping[str, Ticket]:
        """Queued tickets whose visitor asked for help (``Ticket.assistance``), by id."""
        return self._assisted

    def offer(self, counter: Counter) -> list[Ticket]:
        """What "call next" at ``counter`` needs to see to choose as it would from the
        whole queue: each of its services' oldest plain ticket, the tickets pinned to it,
        every ticket on the appointment clock (the ``standards`` plan places them all,
        whichever counter can take them) and every restricted one (some may be held
        back from this counter: ``Centre._call_next`` takes those out at the moment)."""
        offered = []
        for code, keys in self._plain.items():
            if not keys or not counter.skilled_for(code):
                continue
            tickets = self._by_service[code]
            for key in keys:  # past the few not here yet
                if key[2] not in self._away:
                    offered.append(tickets[key[2]])
                    break
        # nor a ticket not here pinned to the counter (a waiting ticket transferred to
        # it): "call next" would have it announced while its visitor is away
        away = self._away
        offered.extend(t for t in self._pinned.get(counter.name, {}).values() if t.id not in away)
        offered.extend(self._on_clock.values())
        offered.extend(t for t in self._restricted.values() if t.id not in away)
        return offered
