"""How the server ends the connections it holds by itself: a staff session that has
ended (signed out, idle, at its fixed age, its account disabled or given another role),
and a device whose token was revoked or replaced (``queue_server.net.credentials``).
Mixed into ``QueueServer``; the rules are in docs/protocol.md, "Staff sessions" and
"Withdrawn credentials"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from websockets.asyncio.server import ServerConnection

from queue_server.core import Centre, Decision
from queue_server.core import commands as cmd
from queue_server.core.errors import WalkinError
from queue_server.core.model import CentreSetup, CounterState
from queue_server.net.auth import Identity
from queue_server.net.credentials import (
    CREDENTIALS_WITHDRAWN,
    DEVICE_REASONS,
    POLL_SECONDS,
    GenerationWatch,
    withdrawn_devices,
)
from queue_server.net.given_estimates import EstimateLog
from queue_server.net.staff_sessions import Ending, SessionKeeper, close_with
from queue_server.net.visitors import TicketWatchers
from queue_server.notify.notifier import Notifier
from queue_server.store import Store

log = logging.getLogger("walkin.server")

#: how often sessions are checked for expiry and visitors' estimates refreshed (and
#: the estimates given for tickets no longer waiting forgotten)
SWEEP_SECONDS = 30.0


class Enforcement:
    """The part of ``QueueServer`` that ends sessions and closes the connections of
    withdrawn credentials. Relies on the server's attributes below."""

    store: Store
    setup: CentreSetup
    centre: Centre
    sessions: SessionKeeper
    credentials: GenerationWatch
    credential_caches: list[Callable[[], None]]
    visitors: TicketWatchers
    estimates: EstimateLog
    notifier: Notifier | None
    _connections: dict[ServerConnection, Identity]
    #: sessions this server is ending (its own write under way; how many such writes):
    #: not "ended elsewhere"
    _ending: dict[str, int]
    clock: Callable[[], datetime]

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    async def execute(self, command: cmd.Command) -> Decision:
        raise NotImplementedError

    async def roll_up_closed_days(self) -> None:
        raise NotImplementedError

    def _note_use(self, identity: Identity, now: datetime) -> None:
        work = self.sessions.note_use(identity, now)
        if work is not None:
            self._spawn(work)

    async def _end_session(
        self,
        identity: Identity,
        ending: Ending,
        now: datetime,
        current: ServerConnection | None = None,
    ) -> None:
        """End ``identity``'s session: in the database (audited with ``ending``'s kind),
        and on every connection that uses it but ``current`` (``session_expired`` with
        ``ending``'s sentence, then close 4401; the caller closes ``current`` itself)."""
        assert identity.session is not None
        key = identity.session
        kind, why = ending
        # while the end is written, a credentials check (another sweep) reading the
        # database would find the session ended and tell its pages "ended elsewhere"
        self._ending[key] = self._ending.get(key, 0) + 1
        try:
            await self.sessions.end(identity, kind, now)
        finally:
            self._ending[key] -= 1
            if not self._ending[key]:
                del self._ending[key]
        for ws, who in list(self._connections.items()):
            if who.session == key:
                self._connections.pop(ws, None)
                if ws is not current:
                    self._spawn(close_with(ws, why))
        if not any(who.name == identity.name for who in self._connections.values()):
            self._spawn(self._leave_counters(identity.name))

    async def _leave_counters(self, staff: str) -> None:
        """A staff member with no page left open: close the counters they left open
        and free (so no visitor is sent to an empty desk) and sign them out of them.
        A counter with a visitor at it is left as it is."""
        for counter in list(self.centre.counters.values()):
            if counter.staff != staff or counter.state == CounterState.SERVING:
                continue
            actor = "system:session_end"
            try:
                if counter.state != CounterState.CLOSED:
                    await self.execute(cmd.CloseCounter(actor=actor, counter=counter.name))
                await self.execute(cmd.SignOut(actor=actor, counter=counter.name))
            except WalkinError as exc:
                log.warning("could not free counter %s after %s left: %s", counter.name, staff, exc)

    async def sweep_sessions(self) -> None:
        """End the sessions that have expired, even on a page that sends nothing, and
        close every connection whose credential was withdrawn (``check_credentials``;
        a database that cannot be read is logged, and the expiries still happen)."""
        try:
            await self.check_credentials()
        except Exception:
            log.exception("could not check the open connections' credentials")
        now = self.clock()
        connected = {
            who.session: who for who in self._connections.values() if who.session is not None
        }
        for identity in connected.values():
            over = self.sessions.over(identity, now)
            if over is not None:
                await self._end_session(identity, over, now)
        self.sessions.prune(now, set(connected))

    async def check_credentials(self) -> None:
        """Close the open connections whose credential was withdrawn since their
        hello: a device revoked or its token rotated (closed with 4403 and the
        reason), a staff account disabled or given another role, or its session
        ended elsewhere (``session_expired``, then 4401). Each identity closed is a
        ``connections_closed`` audit row. Raises if the database cannot be read."""
        for forget in self.credential_caches:
            forget()
        now = self.clock()
        devices = await asyncio.to_thread(
            withdrawn_devices, self.store, self.setup.centre_id, set(self._connections.values())
        )
        for who, why in devices.items():
            closing = [ws for ws, w in self._connections.items() if w == who]
            if not closing:  # closed meanwhile (by another check)
                continue
            for ws in closing:
                self._connections.pop(ws, None)
                self._spawn(ws.close(CREDENTIALS_WITHDRAWN, DEVICE_REASONS[why]))
            self._audit_closed(who, why, len(closing), now)
        connected = {
            who.session: who
            for who in self._connections.values()
            if who.session is not None and who.session not in self._ending
        }
        ended = await self.sessions.no_longer_valid(set(connected))
        for key, ending in ended.items():
            who = connected[key]
            count = sum(1 for w in self._connections.values() if w.session == key)
            if not count or key in self._ending:  # closed or being ended meanwhile
                continue
            await self._end_session(who, ending, now)
            self._audit_closed(who, ending[0], count, now)

    def _audit_closed(self, who: Identity, why: str, connections: int, now: datetime) -> None:
        log.info("closed %d connection(s) of %s: %s", connections, who.actor, why)
        self._spawn(
            asyncio.to_thread(
                self.store.record_connections_closed,
                self.setup.centre_id,
                now,
                who.actor,
                why,
                connections,
            )
        )

    async def sweep_away(self) -> None:
        """End as no-shows the tickets joined from a phone whose visitor was not here
        by the end of the grace period after their turn (``ExpireAway``)."""
        if self.centre.away_expired(self.clock()):
            await self.execute(cmd.ExpireAway(actor="system"))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep_sessions()
                await self.sweep_away()
                await self.visitors.push_all()
                if self.notifier is not None:
                    self.notifier.sweep(self.centre, self.clock())
                self.estimates.forget_finished(self.centre)
                self._spawn(self.roll_up_closed_days())
            except Exception:
                log.exception("the periodic sweep failed")

    async def _watch_credentials_forever(self) -> None:
        failing = pending = False
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                # pending: a change seen but not yet acted on (the check failed)
                if await self.credentials.moved() or pending:
                    pending = True
                    await self.check_credentials()
                    pending = False
                failing = False
            except Exception:
                if not failing:  # once, not four times a second
                    log.exception("could not check the open connections' credentials")
                failing = True
