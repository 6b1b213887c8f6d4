"""Visitors' ticket status pages (``/t/<id>``), kept up to date over the websocket.

A visitor's connection (role ``visitor``, named by its ticket id) gets a
``ticket_status`` message (``views.ticket_status``) whenever its ticket's status
changes: at once when its own ticket changed (a call above all), and within
``STATUS_PUSH_SECONDS`` when others' changes moved it up the queue. Nothing is sent
when nothing changed. One replay estimates every watched ticket
(``core.estimate_waits``), however many phones are watching.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from queue_server import views
from queue_server.core import Centre, WaitEstimate, estimate_waits
from queue_server.core.events import Event
from queue_server.core.model import QUEUED_STATES
from queue_server.net.auth import VISITOR, Identity

#: visitors' pages hear of others' changes at most this often (of their own at once)
STATUS_PUSH_SECONDS = 1.0
#: pages sent their status before the push lets other work run (a call at a counter
#: waits for one chunk at most, not for every phone)
CHUNK = 100
#: pages open at once on one ticket (a phone, a tablet, a relative's phone); opening
#: another closes the oldest, so one ticket cannot open connections without end
PAGES_PER_TICKET = 3


class TicketWatchers:
    """The server's visitor connections and what each was last sent. ``centre`` gives
    the live centre (the server may replace it after a failed commit);
    ``connections`` is the server's own table of who is connected; ``send`` writes
    without waiting (the server passes its own, which drops a page whose unsent
    backlog passed ``SLOW_READER_BYTES``: it reconnects for a fresh status)."""

    def __init__(
        self,
        centre: Callable[[], Centre],
        connections: Mapping[ServerConnection, Identity],
        clock: Callable[[], datetime],
        send: Callable[[list[ServerConnection], str], None] = broadcast,
    ) -> None:
        self._centre = centre
        self._connections = connections
        self._clock = clock
        #: writes a message to connections without waiting: the server's own, which
        #: drops a page that cannot keep up (``QueueServer._send``) as it drops a board
        self._write = send
        self._sent: dict[ServerConnection, dict[str, Any]] = {}
        self._pending: asyncio.TimerHandle | None = None
        self._round: asyncio.Task[None] | None = None
        #: the last estimates of the queue: (the centre, its ``changes``, when, by ticket
        #: id), for a page's first status and a page the round's estimates missed
        self._estimated: tuple[Centre, int, datetime, dict[str, WaitEstimate]] | None = None

    def too_many(self, ticket_id: str) -> list[ServerConnection]:
        """The oldest pages on ``ticket_id`` to close before one more joins."""
        pages = [
            ws
            for ws, who in self._connections.items()
            if who.role == VISITOR and who.name == ticket_id
        ]
        return pages[: max(0, len(pages) - PAGES_PER_TICKET + 1)]

    def status_for(
        self,
        ws: ServerConnection,
        ticket_id: str,
        now: datetime,
        estimates: Mapping[str, WaitEstimate] | None = None,
        made: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """The ``ticket_status`` for ``ws`` if it changed since it was last sent
        (``made``: statuses already made in this round, by ticket id)."""
        centre = self._centre()
        ticket = centre.tickets.get(ticket_id)
        if ticket is None:
            return None
        status = made.get(ticket_id) if made is not None else None
        if status is None:
            estimate = estimates.get(ticket.id) if estimates else None
            if estimate is None and ticket.state in QUEUED_STATES:
                estimate = self._estimate_of(centre, ticket_id, now)
            status = views.ticket_status(centre, ticket, now, estimate)
            if made is not None:
                made[ticket_id] = status
        unchanged = {k: v for k, v in status.items() if k != "as_of"}
        if self._sent.get(ws) == unchanged:
            return None
        self._sent[ws] = unchanged
        return status

    def _estimate_of(self, centre: Centre, ticket_id: str, now: datetime) -> WaitEstimate | None:
        """A queued ticket's estimate from the last estimates of the whole queue, made
        again (one replay for every ticket waiting) when the centre has changed since,
        ``STATUS_PUSH_SECONDS`` have passed, or the ticket was not in them. A thousand
        phones opening their pages at once (a server restarted with a long queue) cost
        one replay, not one each; and a page a round's estimates missed (opened after
        the round began) costs nothing more than the round does."""
        held = self._estimated
        if (
            held is None
            or held[0] is not centre
            or held[1] != centre.changes
            or not held[2] <= now < held[2] + timedelta(seconds=STATUS_PUSH_SECONDS)
            or ticket_id not in held[3]
        ):
            queued = [t.id for t in centre.queued()]  # the queue's index, not the day
            held = self._estimated = (
                centre,
                centre.changes,
                now,
                estimate_waits(centre, queued, now),
            )
        return held[3].get(ticket_id)

    def forget(self, ws: ServerConnection) -> None:
        self._sent.pop(ws, None)

    def _round_of(
        self, only: frozenset[str] | None
    ) -> tuple[list[tuple[ServerConnection, Identity]], dict[str, WaitEstimate], datetime]:
        centre, now = self._centre(), self._clock()
        watching = [
            (ws, who)
            for ws, who in self._connections.items()
            if who.role == VISITOR and (only is None or who.name in only)
        ]
        queued = {
            who.name
            for _, who in watching
            if who.name in centre.tickets and centre.tickets[who.name].state in QUEUED_STATES
        }
        estimates = estimate_waits(centre, queued, now) if queued else {}
        if only is None:
            self._estimated = (centre, centre.changes, now, estimates)
        return watching, estimates, now

    def _send(
        self,
        ws: ServerConnection,
        who: Identity,
        now: datetime,
        estimates: Mapping[str, WaitEstimate],
        made: dict[str, dict[str, Any]],
    ) -> None:
        status = self.status_for(ws, who.name, now, estimates, made)
        if status is not None:
            self._write([ws], json.dumps(status))

    def push(self, only: frozenset[str] | None = None) -> None:
        """Send each visitor's page its ticket's status at once, if it changed
        (``only``: just the pages of these ticket ids)."""
        watching, estimates, now = self._round_of(only)
        made: dict[str, dict[str, Any]] = {}
        for ws, who in watching:
            self._send(ws, who, now, estimates, made)

    async def push_all(self) -> None:
        """``push`` to every page, ``CHUNK`` pages at a time, letting the server answer
        requests between chunks. A ticket's state is read as each page is sent, so a
        call that lands meanwhile is never undone by this round."""
        watching, estimates, now = self._round_of(None)
        made: dict[str, dict[str, Any]] = {}
        for n, (ws, who) in enumerate(watching):
            if n and n % CHUNK == 0:
                await asyncio.sleep(0)
            if ws in self._connections:
                self._send(ws, who, now, estimates, made)

    def _start_round(self) -> None:
        self._pending = None
        if self._round is None or self._round.done():
            self._round = asyncio.ensure_future(self.push_all())

    def changed(self, events: tuple[Event, ...]) -> None:
        """After a commit: the pages of the tickets in ``events`` hear at once, the
        others within ``STATUS_PUSH_SECONDS``."""
        if not any(who.role == VISITOR for who in self._connections.values()):
            return
        self.push(only=frozenset(e.ticket.id for e in events if e.ticket is not None))
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(
                STATUS_PUSH_SECONDS, self._start_round
            )

    def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._round is not None:
            self._round.cancel()
            self._round = None
