"""The queue, kept as tickets change, so that what each change needs costs the same
however long the queue is (issue 12, "constant work per change").

::

    index = QueueIndex()
    index.remove(previous); index.add(ticket)     as ``Centre`` stores each ticket
    index.tickets()                               every queued ticket (no order)
    index.waiting_by_service()                    {service: (count, earliest arrival)}
    index.offer(counter)                          what "call next" needs to look at

Three groups, as ``estimate.ReplayQueue`` has them: tickets on the appointment clock
(checked-in appointments not yet called: ``routing.appointment_deadline``), tickets
pinned to a counter, and the rest ("plain"), by service. A heap per service holds the
(arrival, number, id) of its queued tickets, and another of its plain ones; a heap's
top that no longer matches a queued ticket is dropped when read, and a heap grown to
more than twice its tickets is built again, so every operation is amortised O(log n)
and a read of the queue's shape is O(services).

``offer`` rests on the contract every routing policy keeps (``routing.RoutingPolicy``):
among one service's plain tickets a policy never prefers one over an older one, so
each service's oldest plain ticket, every ticket pinned to the counter and every ticket
on the appointment clock are all it needs to choose as it would from the whole queue.
``tests/queue_server/core/test_core_properties.py`` holds every read equal to a
recomputation from all the tickets after random command sequences.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from .model import QUEUED_STATES, Counter, Ticket

Key = tuple[datetime, int, str]


def on_the_clock(ticket: Ticket) -> bool:
    """A checked-in appointment not called yet (``routing.appointment_deadline`` is
    not None for it)."""
    return ticket.due_at is not None and ticket.first_called_at is None


def _key(ticket: Ticket) -> Key:
    return (ticket.arrival_at, ticket.seq, ticket.id)


class QueueIndex:
    """See the module docstring."""

    def __init__(self) -> None:
        #: service -> id -> every queued ticket of it
        self._by_service: dict[str, dict[str, Ticket]] = {}
        #: service -> heap of every queued ticket's key; and of its plain ones
        self._all: dict[str, list[Key]] = {}
        self._plain: dict[str, list[Key]] = {}
        #: counter name -> id -> tickets pinned to it
        self._pinned: dict[str, dict[str, Ticket]] = {}
        #: id -> tickets on the appointment clock
        self._on_clock: dict[str, Ticket] = {}

    def add(self, ticket: Ticket) -> None:
        """Note ``ticket`` as it now is (nothing if it is not queued)."""
        if ticket.state not in QUEUED_STATES:
            return
        self._by_service.setdefault(ticket.service, {})[ticket.id] = ticket
        heapq.heappush(self._all.setdefault(ticket.service, []), _key(ticket))
        if on_the_clock(ticket):
            self._on_clock[ticket.id] = ticket
        elif ticket.pinned_counter is not None:
            self._pinned.setdefault(ticket.pinned_counter, {})[ticket.id] = ticket
        else:
            heapq.heappush(self._plain.setdefault(ticket.service, []), _key(ticket))

    def remove(self, ticket: Ticket) -> None:
        """Forget ``ticket`` as it was (its heap entries go stale, dropped when read)."""
        if ticket.state not in QUEUED_STATES:
            return
        self._by_service[ticket.service].pop(ticket.id, None)
        self._on_clock.pop(ticket.id, None)
        if ticket.pinned_counter is not None:
            self._pinned.get(ticket.pinned_counter, {}).pop(ticket.id, None)

    def tickets(self) -> Iterable[Ticket]:
        return (t for bucket in self._by_service.values() for t in bucket.values())

    def waiting_by_service(self) -> dict[str, tuple[int, datetime]]:
        """For each service with anyone queued: how many, and the earliest
        ``arrival_at`` among them."""
        summary: dict[str, tuple[int, datetime]] = {}
        for code, bucket in self._by_service.items():
            oldest = self._top(code, self._all, plain=False)
            if oldest is not None:
                summary[code] = (len(bucket), oldest.arrival_at)
        return summary

    def offer(self, counter: Counter) -> list[Ticket]:
        """What "call next" at ``counter`` needs to see to choose as it would from the
        whole queue: each of its services' oldest plain ticket, the tickets pinned to it
        and every ticket on the appointment clock (the ``standards`` plan places them
        all, whichever counter can take them)."""
        offered = [
            oldest
            for code in self._plain
            if counter.skilled_for(code)
            and (oldest := self._top(code, self._plain, plain=True)) is not None
        ]
        offered.extend(self._pinned.get(counter.name, {}).values())
        offered.extend(self._on_clock.values())
        return offered

    def _top(self, code: str, heaps: dict[str, list[Key]], plain: bool) -> Ticket | None:
        """The ticket at the top of ``heaps[code]``, stale entries dropped first."""
        heap = heaps.get(code)
        bucket = self._by_service.get(code, {})
        if not heap or not bucket:
            return None
        if len(heap) > 2 * len(bucket) + 32:
            heap[:] = [_key(t) for t in bucket.values() if not plain or self._is_plain(t)]
            heapq.heapify(heap)
        while heap:
            arrival, seq, ticket_id = heap[0]
            current = bucket.get(ticket_id)
            if (
                current is not None
                and (current.arrival_at, current.seq) == (arrival, seq)
                and (not plain or self._is_plain(current))
            ):
                return current
            heapq.heappop(heap)
        return None

    @staticmethod
    def _is_plain(ticket: Ticket) -> bool:
        return ticket.pinned_counter is None and not on_the_clock(ticket)
