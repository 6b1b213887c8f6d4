"""The wait estimates the server gives visitors, kept in the database so that they can
be measured against the waits that followed (``walkin report``: docs/reports.md,
"Wait estimates").

What counts as given: the estimate in the reply to ``issue_ticket`` and ``check_in``
(the kiosk prints and shows it) — always, as the ticket's ``issue`` row; after that,
an ``update`` row each time the minutes a visitor is shown change: on their status
page (``RecordedWatchers``, a ``TicketWatchers`` that notes what it sends) or in
answer to an ``estimate`` request. A status pushed with the same minutes as the last
one given for that ticket writes nothing, however many pages watch it, so the rows
grow with the changes, not with the pushes; each costs a dictionary lookup and an
append, whatever the queue's length.

Writes are batched (``EstimateLog``): one transaction for everything noted since the
last, at most ``FLUSH_SECONDS`` after an update. The ``issue`` row of a new ticket is
written in the ticket's own transaction (``EstimateLog.issue_row``: the server
estimates with the ticket applied for a moment, ``Centre.trying``), so an estimate a
visitor holds is never one the database lacks, for one commit a ticket instead of
two; ``EstimateLog.issued`` (an issue row on its own, waiting for its batch) is for
callers without a commit of their own. If the database fails, the batched rows are
kept and written again later (the reply is not held back for them: the ticket itself
is already committed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from queue_server.core import Centre, WaitEstimate
from queue_server.core.errors import NotActive
from queue_server.core.model import QUEUED_STATES, Ticket
from queue_server.net.auth import Identity
from queue_server.net.visitors import TicketWatchers
from queue_server.store import Store
from queue_server.store.estimates import ISSUE, UPDATE, GivenEstimate, last_given, record_estimates

log = logging.getLogger("walkin.server")

#: an update is written at most this long after it was given
FLUSH_SECONDS = 1.0
#: after a failed write, the rows are tried again this long later
RETRY_SECONDS = 5.0
#: rows kept while the database fails; past this the oldest are dropped (logged)
MAX_PENDING = 10_000
_NEVER = object()


class EstimateLog:
    """The estimates given at one centre, written to ``store`` in batches."""

    def __init__(self, store: Store, centre_id: str) -> None:
        self.store = store
        self.centre_id = centre_id
        #: the minutes last given for each ticket still waiting (or just called)
        self._last: dict[str, int | None] = {}
        self._pending: list[GivenEstimate] = []
        #: resolved once the batch now pending is written (or has failed: False)
        self._batch_written: asyncio.Future[bool] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def carry_on(self, last: Mapping[str, int | None]) -> None:
        """Start from what was given before a restart (``store.estimates.last_given``)."""
        self._last.update(last)

    async def load(self, day: Any) -> None:
        """``carry_on`` from the database's estimates for the tickets of ``day``."""
        self.carry_on(await asyncio.to_thread(last_given, self.store, self.centre_id, day))

    def issue_row(
        self, ticket: Ticket, estimate: WaitEstimate, at: datetime
    ) -> GivenEstimate | None:
        """The ``issue`` row of a new ticket's estimate, for the server to write in the
        ticket's own transaction (then ``issue_written``); None if not waiting."""
        if ticket.state not in QUEUED_STATES:
            return None
        return self._row(ticket, estimate, at, ISSUE)

    def issue_written(self, row: GivenEstimate) -> None:
        """``row`` (``issue_row``) was committed with its ticket."""
        self._last[row.ticket_id] = row.minutes

    def _row(self, ticket: Ticket, estimate: WaitEstimate, at: datetime, why: str) -> GivenEstimate:
        return GivenEstimate(
            centre=self.centre_id,
            ticket_id=ticket.id,
            day=ticket.day,
            service=ticket.service,
            at=at,
            why=why,
            minutes=estimate.minutes,
            people_ahead=estimate.people_ahead,
            low_minutes=estimate.low,
            high_minutes=estimate.high,
        )

    def given(
        self, ticket: Ticket, estimate: WaitEstimate, at: datetime, why: str = UPDATE
    ) -> bool:
        """Note that ``estimate`` was shown for ``ticket`` at ``at``; returns whether a
        row will be written: always for ``ISSUE``, for ``UPDATE`` only when the
        minutes differ from the last given for the ticket. A ticket no longer waiting
        has no estimate to give: nothing is noted."""
        if ticket.state not in QUEUED_STATES:
            return False
        if why == UPDATE and self._last.get(ticket.id, _NEVER) == estimate.minutes:
            return False
        self._last[ticket.id] = estimate.minutes
        self._pending.append(self._row(ticket, estimate, at, why))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush_soon)
        return True

    def status_shown(self, ticket: Ticket, status: Mapping[str, Any], at: datetime) -> bool:
        """``given`` for a ``ticket_status`` (``views.ticket_status``) a visitor was
        sent or shown: its estimate, if the ticket is waiting."""
        if not status.get("waiting"):
            return False
        shown = WaitEstimate(
            status["people_ahead"],
            status["minutes"],
            status.get("minutes_low"),
            status.get("minutes_high"),
        )
        return self.given(ticket, shown, at)

    async def issued(self, ticket: Ticket, estimate: WaitEstimate, at: datetime) -> None:
        """Note the estimate given with a new ticket, and return once it is written
        (or its write failed, and it waits to be tried again)."""
        if self.given(ticket, estimate, at, ISSUE):
            await self.flush()

    async def flush(self) -> bool:
        """Write everything noted so far; returns once it is written (True) or its
        write failed (False; the rows are kept for the next try)."""
        if not self._pending:
            if self._writer is not None and not self._writer.done():
                await asyncio.shield(self._writer)
            return True
        if self._batch_written is None:
            self._batch_written = asyncio.get_running_loop().create_future()
        waiting = self._batch_written
        self._start_writer()
        return await asyncio.shield(waiting)

    def forget_finished(self, centre: Centre) -> None:
        """Drop what is kept of tickets no longer waiting (the periodic sweep calls
        this, so the table of last minutes stays the size of the queue)."""
        for ticket_id in list(self._last):
            ticket = centre.tickets.get(ticket_id)
            if ticket is None or ticket.state not in QUEUED_STATES:
                del self._last[ticket_id]

    async def close(self) -> None:
        """Write what is pending (the server is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()
        if self._writer is not None:
            await asyncio.shield(self._writer)

    # ------------------------------------------------------------ writing

    def _flush_soon(self) -> None:
        self._timer = None
        if self._pending:
            if self._batch_written is None:
                self._batch_written = asyncio.get_running_loop().create_future()
            self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_batches())

    async def _write_batches(self) -> None:
        """Write the pending rows, one transaction per batch, until none are left."""
        while self._pending:
            batch, written = self._pending, self._batch_written
            self._pending, self._batch_written = [], None
            try:
                await asyncio.to_thread(record_estimates, self.store, batch)
            except NotActive as exc:  # another server has the centre, or this one stepped down
                log.warning("%d wait estimate(s) not written: %s", len(batch), exc)
                for waiting in (written, self._batch_written):
                    if waiting is not None and not waiting.done():
                        waiting.set_result(False)
                self._pending, self._batch_written = [], None
                return
            except Exception:
                log.exception("could not write %d wait estimate(s); trying again", len(batch))
                self._pending = (batch + self._pending)[-MAX_PENDING:]
                for waiting in (written, self._batch_written):
                    if waiting is not None and not waiting.done():
                        waiting.set_result(False)
                self._batch_written = None
                if self._timer is None:
                    self._timer = asyncio.get_running_loop().call_later(
                        RETRY_SECONDS, self._flush_soon
                    )
                return
            if written is not None and not written.done():
                written.set_result(True)


class RecordedWatchers(TicketWatchers):
    """The visitors' status pages (``TicketWatchers``), noting in ``estimates`` each
    estimate a page is sent."""

    def __init__(
        self,
        centre: Callable[[], Centre],
        connections: Mapping[ServerConnection, Identity],
        clock: Callable[[], datetime],
        estimates: EstimateLog,
        send: Callable[[list[ServerConnection], str], None] = broadcast,
    ) -> None:
        super().__init__(centre, connections, clock, send)
        self.centre_now = centre
        self.estimates = estimates

    def status_for(
        self,
        ws: ServerConnection,
        ticket_id: str,
        now: datetime,
        estimates: Mapping[str, WaitEstimate] | None = None,
        made: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        status = super().status_for(ws, ticket_id, now, estimates, made)
        if status is not None:
            ticket = self.centre_now().tickets.get(ticket_id)
            if ticket is not None:
                self.estimates.status_shown(ticket, status, now)
        return status
