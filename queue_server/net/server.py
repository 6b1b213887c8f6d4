"""The websocket queue server: authenticate, decode, authorise, call the core, commit,
reply, broadcast. A thin layer: every decision is the core's.

One request, end to end: ``_serve_connection`` reads a frame -> ``wire.parse_frame``
and ``protocol.decode`` -> ``_authorise`` -> ``to_commands.to_command`` -> ``execute``
(under one lock: ``decide``, ``store.commit`` in a worker thread, ``apply``) -> the
reply -> ``_publish`` pushes the events to everyone else. HTTP on the same port
(``/healthz``, the pages of ``queue_server.web``) is answered by ``http`` before the
websocket handshake. Beside it: ``enforcement`` (ending sessions and closing the
connections of withdrawn credentials), ``staff_sessions`` (staff pages' sessions),
``visitors`` (ticket status pages), ``figures`` (the manager's figures), ``reprints``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from queue_server import views
from queue_server.core import Centre, Decision, WaitEstimate, estimate_wait, format_number
from queue_server.core import commands as cmd
from queue_server.core.durations import HISTORY_DAYS, VisitHistory
from queue_server.core.errors import (
    Forbidden,
    NotActive,
    NotAuthenticated,
    NotRemote,
    TicketEnded,
    Unavailable,
    WalkinError,
)
from queue_server.core.events import Event, OfflineRunRecorded, TicketCalled, TicketRecalled
from queue_server.core.model import (
    QUEUED_STATES,
    CentreSetup,
    Channel,
    CounterRota,
    Ticket,
    counter_called,
)
from queue_server.core.offline import UploadOutcome, days_to_read, offline_summary
from queue_server.net import bookings_api, figures, forms, http, wire
from queue_server.net import protocol as p
from queue_server.net.auth import BOARD, COUNTER, KIOSK, MANAGER, VISITOR, Identity, authenticate
from queue_server.net.client_address import Network, client_address
from queue_server.net.credentials import GenerationWatch
from queue_server.net.enforcement import Enforcement
from queue_server.net.given_estimates import EstimateLog, RecordedWatchers
from queue_server.net.here import ticket_to_confirm
from queue_server.net.http import HttpHandler
from queue_server.net.ratelimit import SignInLimiter
from queue_server.net.redact import wire_logger
from queue_server.net.reprints import choose_kiosk, ticket_to_reprint, visitor_ticket
from queue_server.net.staff_sessions import (
    SIGNED_OUT,
    SessionKeeper,
    close_with,
    is_keepalive,
)
from queue_server.net.to_commands import TICKET_ID, find_ticket, to_command, upload_command
from queue_server.net.wire import error_reply
from queue_server.notify.notifier import Notifier
from queue_server.reporting.worker import ReportWorker
from queue_server.store import Store
from queue_server.store import offline as offline_rows
from queue_server.store.estimates import insert_estimates

log = logging.getLogger("walkin.server")

HELLO_TIMEOUT = 10.0


STAFF = frozenset({COUNTER, MANAGER})
#: how far back the server rolls up days over that were not rolled up (a server that
#: was down for a while catches up; older days are rolled up when a report asks)
ROLL_UP_DAYS = 31
#: a connection with more than this unsent is dropped, to come back for a snapshot
#: (a board reads a few hundred bytes a change; this is minutes of a stalled reader)
SLOW_READER_BYTES = 64 * 1024
#: pushes not written by a request's reply are written this soon after they are made
PUSH_GRACE_SECONDS = 0.002
#: the waiting counts (``queue``, a snapshot: the latest says all) go to every screen
#: at most this often: the first change after a quiet spell at once, the changes
#: within the next interval together at its end (``_queue_changed``)
QUEUE_PUSH_SECONDS = 0.25
#: websockets' keepalive (its defaults, named here): a ping every PING_INTERVAL
#: seconds; a connection whose pong is not back within PING_TIMEOUT is closed, and
#: let go if its peer does not answer the close within CLOSE_TIMEOUT
PING_INTERVAL = 20.0
PING_TIMEOUT = 20.0
CLOSE_TIMEOUT = 10.0
EVERYONE = frozenset({KIOSK, BOARD, COUNTER, MANAGER})
BOARD_KIOSK = frozenset({BOARD, KIOSK})

#: which roles may send which message (counters are further limited to their own desk)
PERMISSIONS: dict[type[p.Message], frozenset[str]] = {
    p.Ping: EVERYONE | {VISITOR},
    p.GetSnapshot: EVERYONE,
    p.IssueTicket: frozenset({KIOSK, MANAGER}),
    p.IssueForVisitor: STAFF,
    p.HereForVisitor: STAFF,
    p.CheckIn: frozenset({KIOSK, MANAGER}),
    p.Estimate: frozenset({KIOSK, COUNTER, MANAGER}),
    p.DeviceStatus: frozenset({KIOSK, BOARD}),
    p.ReprintTicket: frozenset({KIOSK, COUNTER, MANAGER}),
    p.ChannelChoice: frozenset({KIOSK}),
    p.ConfirmHere: frozenset({KIOSK}),
    p.LeaseNumbers: frozenset({KIOSK}),
    p.UploadOffline: frozenset({KIOSK}),
    p.SignInCounter: STAFF,
    p.SignOutCounter: STAFF,
    p.OpenCounter: STAFF,
    p.PauseCounter: STAFF,
    p.ResumeCounter: STAFF,
    p.CloseCounter: STAFF,
    p.CallNext: STAFF,
    p.CallTicket: STAFF,
    p.Recall: STAFF,
    p.StartService: STAFF,
    p.Complete: STAFF,
    p.NoShow: STAFF,
    p.Transfer: STAFF,
    p.Park: STAFF,
    p.ReturnParked: STAFF,
    p.Cancel: STAFF,
    p.SetCounterSkills: frozenset({MANAGER}),
    p.SetServiceTarget: frozenset({MANAGER}),
    p.SignOut: STAFF,
    p.Dashboard: frozenset({MANAGER}),
    p.Region: frozenset({MANAGER}),
    p.Report: frozenset({MANAGER}),
    p.FeedbackComments: frozenset({MANAGER}),
    p.StaffingAdvice: frozenset({MANAGER}),
}
#: what a role that may not send a message is told, where "A counter may not send ..."
#: would not say enough
REFUSALS: dict[type[p.Message], str] = {
    p.FeedbackComments: "Visitors' comments are for managers only. A manager reads them "
    "on the dashboard's History tab.",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class QueueServer(Enforcement):
    """One centre's queue server. ``await start()``, then ``await close()``."""

    def __init__(
        self,
        setup: CentreSetup,
        store: Store,
        *,
        status_url_template: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        session_idle: timedelta = timedelta(minutes=60),
        session_lifetime: timedelta = timedelta(hours=12),
        limiter: SignInLimiter | None = None,
    ) -> None:
        self.setup = setup
        self.store = store
        self.clock = clock
        self.status_url_template = status_url_template
        #: where browsers reach the centre's servers (config ``[servers] pages``): in
        #: ``/healthz`` for the pages, which move to the active one (failover.js)
        self.peer_pages: tuple[str, ...] = ()
        #: the reverse proxies in front of this server (config ``[servers]
        #: trusted_proxies``): their ``X-Forwarded-For`` says whose request it is, for
        #: the limits per address (``client_address``)
        self.trusted_proxies: tuple[Network, ...] = ()
        #: staff sessions: one ends after ``session_idle`` without a person's message
        #: from its page, or ``session_lifetime`` after its sign-in
        self.sessions = SessionKeeper(store, setup.centre_id, session_idle, session_lifetime)
        self.limiter = limiter or SignInLimiter()
        self._password_checks = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="walkin-passwords"
        )
        #: the managers' reports, built in a process of their own (started on the
        #: first one): a year's report never holds up the live queue
        self.reports = ReportWorker(store.url, store)
        self._sweeper: asyncio.Task[None] | None = None
        #: closes the connections of a credential withdrawn by another process within
        #: a second (``queue_server.net.credentials``)
        self.credentials = GenerationWatch(store, setup.centre_id)
        #: what else trusts a credential for a while (the web board's speech files):
        #: each is called, to forget, whenever a credential is withdrawn
        self.credential_caches: list[Callable[[], None]] = []
        self._credentials_watcher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        #: the day whose earlier days are rolled up (``roll_up_closed_days``)
        self._rolled_up_before: date | None = None
        #: pushes built and not yet written (``_flush``): (connections, text), or a
        #: callable (the status pages' turn)
        self._outbox: list[Any] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        #: the ``queue`` push held for the end of its interval, and when the last went
        self._queue_timer: asyncio.TimerHandle | None = None
        self._queue_pushed_at = -math.inf
        self._rolling_up = False
        self.centre: Centre = store.load_centre(setup, clock())
        #: earlier days' visit lengths for the wait estimate (``load_visit_history``),
        #: given again to a centre reloaded from the database
        self.visit_history = VisitHistory()
        self._lock = asyncio.Lock()
        self._connections: dict[ServerConnection, Identity] = {}
        self._ending: dict[str, int] = {}
        #: the wait estimates given to visitors, written to the database
        #: (``queue_server.net.given_estimates``)
        self.estimates = EstimateLog(store, setup.centre_id)
        #: the visitors' ticket status pages, kept up to date (each estimate they are
        #: sent noted in ``estimates``)
        self.visitors = RecordedWatchers(
            lambda: self.centre, self._connections, self.clock, self.estimates, self._send
        )
        self._server: Server | None = None
        #: extra HTTP routes (path -> handler) that later features add (pages)
        self.http_routes: dict[str, HttpHandler] = {}
        #: routes for every path under a prefix ("/t/" -> the ticket status pages);
        #: the longest matching prefix wins, after the exact routes
        self.http_prefix_routes: dict[str, HttpHandler] = {}
        #: tells visitors who asked when it is nearly their turn (``[notifications]``;
        #: ``queue_server.notify``), or None when the centre does not
        self.notifier: Notifier | None = None
        bookings_api.install(self)

    # ------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 8765, ssl: Any = None) -> int:
        """End earlier days if need be, then listen; returns the port (for ``port=0``)."""
        await self.close_earlier_days()
        await self.load_visit_history()
        await self.estimates.load(self.centre.local_day(self.clock()))
        if self.notifier is not None:
            self.notifier.clock = self.clock
            self.notifier.status_url_template = lambda: self.status_url_template
            await self.notifier.start(self.centre.local_day(self.clock()))
        self._server = await serve(
            self._serve_connection,
            host,
            port,
            process_request=self._process_request,
            # visitors' pages post plain HTML forms (net/forms.py)
            create_connection=forms.create_connection,
            max_size=p.HARD_MAX_FRAME,
            # Frames are small JSON; per-connection deflate cost a third of the server's
            # CPU fanning a call out to 500 boards (docs/performance.md).
            compression=None,
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_TIMEOUT,
            close_timeout=CLOSE_TIMEOUT,
            ssl=ssl,
            # websockets logs every connection at INFO; ours stays about the queue
            # (and never a frame's content, a header's secret or a ticket's id)
            logger=wire_logger("walkin.connections"),
        )
        self._sweeper = asyncio.create_task(self._sweep_forever())
        self._spawn(self.roll_up_closed_days())
        await self.credentials.moved()  # where we start from
        self._credentials_watcher = asyncio.create_task(self._watch_credentials_forever())
        sock = next(iter(self._server.sockets))
        return int(sock.getsockname()[1])

    async def close(self) -> None:
        self._password_checks.shutdown(wait=False, cancel_futures=True)
        self.reports.close()
        for timer in (self._flush_timer, self._queue_timer):
            if timer is not None:
                timer.cancel()
        self._flush_timer = self._queue_timer = None
        for task in (self._sweeper, self._credentials_watcher):
            if task is not None:
                task.cancel()
        self._sweeper = self._credentials_watcher = None
        self.visitors.stop()
        if self.notifier is not None:
            await self.notifier.close()
        if self._server is not None:
            self._server.close()
            await self._wait_closed(self._server)
            self._server = None
        try:
            await self.estimates.close()
        except Exception:
            log.exception("could not write the last wait estimates")

    async def _wait_closed(self, server: Any) -> None:
        """Wait for websockets' server to close every connection, but not for ever: a
        connection that neither finishes its handshake nor its close within
        ``CLOSE_TIMEOUT`` and a margin is aborted (its socket closed under it), so a
        server stepping down or stopping never hangs on one client."""
        wait = CLOSE_TIMEOUT + 5
        try:
            await asyncio.wait_for(asyncio.shield(server.wait_closed()), wait)
        except TimeoutError:
            stuck = list(server.all_connections)
            log.warning(
                "%d connection(s) still open %.0f s after closing; aborting them", len(stuck), wait
            )
            for connection in stuck:
                connection.transport.abort()
            for task in list(server.handler_tasks):
                task.cancel()
            await asyncio.wait_for(asyncio.shield(server.wait_closed()), wait)

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # ------------------------------------------------------------ HTTP

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        return await http.process_request(self, connection, request)

    # ------------------------------------------------------------ websocket

    async def _serve_connection(self, ws: ServerConnection) -> None:
        # This coroutine lives as long as the connection, hundreds of them idle (boards,
        # status pages): it keeps nothing the connection no longer needs (issue 12's
        # 20 KB a connection; docs/performance.md section 2).
        # whose it is, for the sign-in limit, read before the headers are let go
        address = client_address(ws, self.trusted_proxies)
        _release_handshake(ws)
        try:
            identity = await self._join(ws, address)
            if identity is None:
                return
            while True:
                frame = await ws.recv()
                if ws not in self._connections:
                    # the server let go of it (a credential withdrawn, a session ended)
                    # and is closing it: nothing more is answered
                    await asyncio.wait({asyncio.ensure_future(ws.wait_closed())}, timeout=5)
                    break
                reply = await self._answer(identity, frame, ws)
                if reply is None:
                    self._flush()
                    break
                await ws.send(json.dumps(reply))
                self._flush()  # the pushes this request caused, after its reply
        except ConnectionClosed:
            pass
        finally:
            self._connections.pop(ws, None)
            self.visitors.forget(ws)

    async def _join(self, ws: ServerConnection, address: str) -> Identity | None:
        """The hello, the welcome and the first snapshot (or ticket status), with ``ws``
        joining the pushes; who it is, or None once refused. ``address``: whose
        connection it is (``client_address``). The snapshot is let go when this
        returns, not held for the connection's life."""
        generation = self.credentials.seen
        hello = await self._hello(ws, address)
        if hello is None:
            return None
        identity, welcome = hello
        await ws.send(
            json.dumps({"type": "welcome", "role": identity.role, "name": identity.name, **welcome})
        )
        # No await between taking the snapshot, joining the pushes and writing the
        # snapshot (send writes before it first yields): every change is either in
        # the snapshot or pushed after it, never lost and never ahead of it.
        now = self.clock()
        if identity.role == VISITOR:
            for oldest in self.visitors.too_many(identity.name):
                self._connections.pop(oldest, None)
                self._spawn(oldest.close(1008, "This ticket is open on too many pages."))
            first = self.visitors.status_for(ws, identity.name, now)
        else:
            first = views.snapshot(self.centre, now, identity.role)
        self._connections[ws] = identity
        if self.credentials.seen != generation and identity.role != VISITOR:
            # a credential was withdrawn while this hello was checked: the check
            # that followed may have run before this connection was in the list
            self._spawn(self.check_credentials())
        if first is not None:
            await ws.send(json.dumps(first))
        return identity

    async def _hello(
        self, ws: ServerConnection, address: str
    ) -> tuple[Identity, dict[str, Any]] | None:
        """Who is connecting, and what their welcome adds; None once refused."""
        request_id: Any = None
        try:
            frame = await asyncio.wait_for(ws.recv(), timeout=HELLO_TIMEOUT)
            raw = wire.parse_frame(frame)
            request_id = wire.request_id(raw)
            message = p.decode(raw)
            if not isinstance(message, p.Hello):
                raise NotAuthenticated("Say who you are first: the first message must be a hello.")
            return await self._identify(message, address)
        except TimeoutError:
            error: WalkinError = NotAuthenticated(f"No hello within {HELLO_TIMEOUT:g} seconds.")
        except ConnectionClosed:
            return None
        except WalkinError as exc:
            error = exc
        try:
            await ws.send(json.dumps(error_reply(request_id, error)))
            await ws.close(code=1008, reason=error.code)
        except ConnectionClosed:
            pass
        return None

    async def _identify(self, hello: p.Hello, address: str) -> tuple[Identity, dict[str, Any]]:
        if hello.ticket is not None:
            ticket_id = hello.ticket.strip()
            if not TICKET_ID.fullmatch(ticket_id) or ticket_id not in self.centre.tickets:
                raise NotAuthenticated(
                    "There is no such ticket here today. Check the address on your ticket."
                )
            return Identity(role=VISITOR, name=ticket_id), {}
        # Only password sign-ins are limited: device and session tokens are 256 random
        # bits, beyond guessing, and a hall of kiosks behind one address must not be
        # locked out by someone else's wrong passwords.
        now = self.clock()
        if hello.session:
            return await self.sessions.resume(hello.session, now)
        if not (hello.username and hello.password):
            identity = await asyncio.to_thread(
                authenticate, self.store, self.setup.centre_id, token=hello.token
            )
            if identity.role == bookings_api.INTEGRATION:
                raise NotAuthenticated(
                    "That token is a booking system's: it is for the bookings API over "
                    "HTTP (docs/bookings-api.md), not for a websocket."
                )
            return identity, {}
        self.limiter.begin(address, hello.username)
        ok = False
        try:
            # argon2 costs tens of MB and milliseconds a check: its own two threads,
            # so a burst of sign-ins queues there instead of holding up commits
            identity = await asyncio.get_running_loop().run_in_executor(
                self._password_checks,
                partial(
                    authenticate,
                    self.store,
                    self.setup.centre_id,
                    username=hello.username,
                    password=hello.password,
                ),
            )
            ok = True
        finally:
            self.limiter.end(address, hello.username, ok)
        return await self.sessions.start(identity, now, hello.client)

    # ------------------------------------------------------------ sessions

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background; its failure is logged, never raised."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("background work failed")

        task = asyncio.ensure_future(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _answer(
        self, identity: Identity, frame: str | bytes, ws: ServerConnection | None = None
    ) -> dict[str, Any] | None:
        """The reply to one frame, from any role: the one guarded path every frame
        takes after the hello. Whatever the frame holds, the answer is a reply (an
        ``error`` one for a bad frame) and the connection carries on; None only when
        the frame arrived after its staff session ended (``ws`` has then been told
        and closed)."""
        request_id: Any = None
        try:
            if identity.session is not None and ws is not None:
                now = self.clock()
                over = self.sessions.over(identity, now)
                if over is not None:
                    await self._end_session(identity, over, now, current=ws)
                    await close_with(ws, over[1])
                    return None
            raw = wire.parse_frame(frame)
            if identity.session is not None and not is_keepalive(raw):
                self._note_use(identity, self.clock())
            # echoed even when the message is refused, so the client can match the error
            request_id = wire.request_id(raw)
            message = p.decode(raw)
            result = await self._dispatch(identity, message)
            return p.ok_reply(request_id, result)
        except wire.DuplicateKey as exc:
            return error_reply(exc.request_id, exc)
        except WalkinError as exc:
            return error_reply(request_id, exc)
        except Exception:  # one bad request must never take down the connection
            log.exception("unexpected error answering %s", identity.actor)
            return error_reply(
                request_id,
                WalkinError(
                    "Something went wrong on the server; nothing was changed. Please try again."
                ),
            )

    # ------------------------------------------------------------ dispatch

    def _authorise(self, identity: Identity, message: p.Message) -> None:
        allowed = PERMISSIONS.get(type(message), frozenset())
        if identity.role not in allowed:
            words = REFUSALS.get(type(message)) or (
                f"A {identity.role} may not send {message.type!r}."  # type: ignore[attr-defined]
            )
            raise Forbidden(words, role=identity.role)
        if identity.role != COUNTER or isinstance(message, p.SignInCounter):
            return
        counter_name = getattr(message, "counter", None)
        if isinstance(message, p.Transfer) and (counter_name is None or message.ticket):
            # a named ticket could be one at another adviser's counter
            raise Forbidden(
                "Advisers transfer the ticket at their own counter: name your counter, "
                "not a ticket. A manager can transfer any ticket."
            )
        if counter_name is not None:
            counter = self.centre.counter(counter_name)
            if counter.staff != identity.name:
                raise Forbidden(
                    f"You are not signed in at {counter_called(counter_name)}. "
                    "Sign in there first.",
                    counter=counter_name,
                )

    async def _dispatch(self, identity: Identity, message: p.Message) -> dict[str, Any]:
        self._authorise(identity, message)
        actor = identity.actor
        now = self.clock()
        match message:
            case p.Ping():
                return {"server_time": now.isoformat()}
            case p.GetSnapshot():
                return {"snapshot": views.snapshot(self.centre, now, identity.role)}
            case p.Estimate(ticket=ref):
                ticket = find_ticket(self.centre, ref, now)
                estimate = estimate_wait(self.centre, ticket.id, now)
                self.estimates.given(ticket, estimate, now)
                return {"estimate": _estimate_view(estimate)}
            case p.DeviceStatus():
                await asyncio.to_thread(
                    self.store.record_device_status,
                    self.setup.centre_id,
                    identity.name,
                    message.component,
                    message.status,
                    message.detail,
                    now,
                    actor,
                )
                self._publish_to(
                    STAFF,
                    {
                        "type": "device_status",
                        "device": identity.name,
                        "component": message.component,
                        "status": message.status,
                        "detail": message.detail,
                        "at": now.isoformat(),
                    },
                )
                return {}
            case p.SignOut():
                if identity.session is not None:
                    await self._end_session(identity, SIGNED_OUT, now)
                return {}
            case p.Dashboard():
                return {
                    "dashboard": await figures.dashboard(self.store, self.setup, self.centre, now)
                }
            case p.Region():
                return {"region": await figures.region(self.store, self.setup, now)}
            case p.Report():
                return await figures.report(self.store, self.setup, message, now, self.reports)
            case p.FeedbackComments():
                return await figures.feedback_comments(self.setup, self.store, message, now)
            case p.StaffingAdvice():
                from queue_server.net.staffing import staffing_advice

                return await staffing_advice(self.store, self.setup, message, now)
            case p.ReprintTicket():
                return await self._reprint(identity, message, now)
            case p.ConfirmHere():
                return await self._confirm_here(identity, message)
            case p.HereForVisitor():
                return await self._here_for_visitor(identity, message, now)
            case p.UploadOffline():
                return await self._upload_offline(identity, message)
            case p.ChannelChoice():
                self.centre.service(message.service)  # NotFound for an unknown code
                await asyncio.to_thread(
                    self.store.record_channel_choice,
                    self.setup.centre_id,
                    identity.name,
                    message.service,
                    message.choice,
                    message.language,
                    now,
                    actor,
                )
                return {}
        command = to_command(self.centre, identity, message, now)
        issuing = isinstance(message, p.IssueTicket | p.IssueForVisitor | p.CheckIn)
        decision, estimate = await self.execute_and_estimate(command, estimate=issuing)
        if not issuing or decision.ticket is None:
            return self._result(identity, message, decision)
        if estimate is None:
            # an issue retried with its key (no events): shown again, an update if it moved
            at = self.clock()
            estimate = estimate_wait(self.centre, decision.ticket.id, at)
            ticket = self.centre.tickets.get(decision.ticket.id)
            if ticket is not None:
                self.estimates.given(ticket, estimate, at)
        result = self._result(identity, message, decision, estimate)
        if isinstance(message, p.IssueForVisitor) and message.print:
            result.update(await self._print_for_visitor(decision.ticket))
        return result

    async def _print_for_visitor(self, ticket: Ticket) -> dict[str, Any]:
        """Print a ticket staff issued at the console on a connected kiosk (any: the
        visitor is at the console, the kiosk is the centre's printer). The ticket is
        issued whatever becomes of the print: ``{"printed_on": kiosk}``, or
        ``{"not_printed": why}`` for the console to show the number instead."""
        try:
            kiosk, connection = choose_kiosk(self._connections, None, None)
            push = {
                "type": "print_ticket",
                "ticket": visitor_ticket(self.centre, ticket, self.status_url_template),
                "reprint": False,
            }
            await connection.send(json.dumps(push))
        except Unavailable as exc:
            return {"not_printed": exc.message}
        except ConnectionClosed:
            return {"not_printed": "The kiosk went away before it could print."}
        log.info("ticket %s issued at the console, printed on kiosk %s", ticket.number, kiosk)
        return {"printed_on": kiosk}

    async def _here_for_visitor(
        self, identity: Identity, message: p.HereForVisitor, now: datetime
    ) -> dict[str, Any]:
        """Staff say "I'm here" for a visitor who joined from a phone (``ConfirmHere``,
        audited as theirs): the ticket, and ``already`` when it had been said."""
        ticket = find_ticket(self.centre, message.ticket, now)
        if ticket.channel != Channel.REMOTE:
            raise NotRemote(
                f"Ticket {ticket.number} was not joined from a phone: it needs no "
                '"I\'m here" and is called in its turn.',
                ticket=ticket.number,
            )
        if ticket.state not in QUEUED_STATES:
            raise TicketEnded(
                f"Ticket {ticket.number} is no longer waiting (it is "
                f"{ticket.state.value.replace('_', ' ')}). If the visitor still needs to "
                "be seen, issue them a new ticket.",
                ticket=ticket.number,
                state=ticket.state.value,
            )
        decision = await self.execute(cmd.ConfirmHere(actor=identity.actor, ticket_id=ticket.id))
        ticket = decision.ticket or ticket
        return {
            "ticket": views.ticket_for_staff(self.centre, ticket),
            "already": not decision.events,
        }

    async def _upload_offline(self, identity: Identity, message: p.UploadOffline) -> dict[str, Any]:
        """A kiosk's offline tickets into the queue (``core.offline``): one transaction,
        and each ticket's fate in the reply, in the upload's order."""
        command, malformed = upload_command(identity, message)
        # what is stored of the days the tickets arrived on (an earlier day's ticket
        # is recorded into that day: docs/operations.md)
        days = days_to_read(self.centre, command, self.clock())
        command = await asyncio.to_thread(
            offline_rows.with_earlier_days, self.store, self.setup.centre_id, command, days
        )
        decision = await self.execute(command)
        judged = iter(decision.outcomes)
        for outcome in decision.outcomes:
            if outcome.dropped:
                log.warning("upload from %s: %s", identity.name, outcome.message)
        results = []
        for place, raw in enumerate(message.tickets):
            error = malformed.get(place)
            if error is None:
                results.append(_outcome_view(next(judged)))
                continue
            key, number = raw.get("idempotency_key"), raw.get("number")
            results.append(
                {
                    "idempotency_key": key if isinstance(key, str) else None,
                    "number": number if isinstance(number, str) else None,
                    "status": "refused",
                    "code": error.code,
                    "message": error.message,
                }
            )
        summary = offline_summary(self.centre, self.clock())
        if summary is not None and any(isinstance(e, OfflineRunRecorded) for e in decision.events):
            self._publish_to(EVERYONE, {"type": "offline", **summary})
        return {
            "tickets": results,
            **{
                status: sum(1 for r in results if r["status"] == status)
                for status in ("accepted", "already", "refused")
            },
        }

    async def _reprint(
        self, identity: Identity, message: p.ReprintTicket, now: datetime
    ) -> dict[str, Any]:
        """Print a ticket again (``queue_server.net.reprints``), audited before it is."""
        ticket = ticket_to_reprint(self.centre, identity, message, now)
        view = visitor_ticket(self.centre, ticket, self.status_url_template)
        if identity.role == KIOSK:
            kiosk, connection = identity.name, None
        else:
            issuer = None
            if message.kiosk is None:
                issuer = await asyncio.to_thread(
                    self.store.issuing_kiosk, self.setup.centre_id, ticket.id
                )
            kiosk, connection = choose_kiosk(self._connections, message.kiosk, issuer)
        await asyncio.to_thread(
            self.store.record_reprint,
            self.setup.centre_id,
            now,
            identity.actor,
            ticket.id,
            ticket.number,
            message.reason,
            kiosk,
        )
        if connection is None:
            return {"ticket": view, "reprint": True}
        push = {"type": "print_ticket", "ticket": view, "reprint": True}
        push["requested_by"] = identity.name
        try:
            await connection.send(json.dumps(push))
        except ConnectionClosed:
            raise Unavailable(
                f"Kiosk {kiosk!r} went away before it could print. Try again.", kiosk=kiosk
            ) from None
        return {"kiosk": kiosk}

    async def _confirm_here(self, identity: Identity, message: p.ConfirmHere) -> dict[str, Any]:
        """ "I'm here", scanned at a kiosk (``net.here``): the ticket, the people ahead
        of it now, and ``already`` when it had been said before (nothing changed)."""
        ticket = await ticket_to_confirm(self.centre, self.store, self.setup.centre_id, message)
        decision = await self.execute(cmd.ConfirmHere(actor=identity.actor, ticket_id=ticket.id))
        ticket = decision.ticket or ticket
        return {
            "ticket": visitor_ticket(self.centre, ticket, self.status_url_template),
            "estimate": _estimate_view(estimate_wait(self.centre, ticket.id, self.clock())),
            "already": not decision.events,
        }

    def _result(
        self,
        identity: Identity,
        message: p.Message,
        decision: Decision,
        estimate: WaitEstimate | None = None,
    ) -> dict[str, Any]:
        """The ``ok`` reply's content for a command; ``estimate``: the wait estimate an
        ``issue_ticket`` or ``check_in`` reply shows."""
        result: dict[str, Any] = {}
        ticket = decision.ticket
        if ticket is not None:
            if identity.role in STAFF:
                result["ticket"] = views.ticket_for_staff(self.centre, ticket)
            else:
                result["ticket"] = visitor_ticket(self.centre, ticket, self.status_url_template)
            if estimate is not None:
                result["estimate"] = _estimate_view(estimate)
                result["replayed"] = not decision.events
        if decision.counter is not None and identity.role in STAFF:
            result["counter"] = views.counter_for_staff(self.centre, decision.counter)
        if decision.block is not None:
            block = decision.block
            result["block"] = {
                "service": block.service,
                "day": block.day.isoformat(),
                "first": block.first,
                "last": block.last,
                "numbers": [
                    format_number(block.prefix, block.first),
                    format_number(block.prefix, block.last),
                ],
            }
        return result

    # ------------------------------------------------------------ execute

    async def execute(self, command: cmd.Command) -> Decision:
        """Decide, commit, apply, publish: one command at a time, all or nothing.

        The work runs as its own task so that a client hanging up mid-commit cannot
        leave a committed change unapplied.
        """
        decision, _ = await self.execute_and_estimate(command)
        return decision

    async def execute_and_estimate(
        self, command: cmd.Command, *, estimate: bool = False
    ) -> tuple[Decision, WaitEstimate | None]:
        """``execute``; with ``estimate``, also the wait estimate of the ticket the
        command makes (an issue, a check-in), stored in the same transaction as the
        ticket (None when the command changed nothing: a retried issue)."""
        return await asyncio.shield(asyncio.ensure_future(self._execute(command, estimate)))

    async def _execute(
        self, command: cmd.Command, estimate: bool = False
    ) -> tuple[Decision, WaitEstimate | None]:
        async with self._lock:
            await self._reload_if_stale()
            now = self.clock()
            if self.centre.needs_closing(now):
                await self._commit_and_apply(self._close_day(now), now)
            decision = self.centre.decide(command, now)
            if not decision.events:
                return decision, None
            given = row = None
            if estimate and decision.ticket is not None:
                # the ticket's estimate as it will be once applied (nothing awaits
                # inside: no one else sees the centre meanwhile)
                with self.centre.trying(decision.events):
                    given = estimate_wait(self.centre, decision.ticket.id, now)
                row = self.estimates.issue_row(decision.ticket, given, now)
            also = None if row is None else partial(insert_estimates, estimates=[row])
            await self._commit_and_apply(decision, now, also)
            if row is not None:
                self.estimates.issue_written(row)
            return decision, given

    def _close_day(self, now: datetime) -> Decision:
        day = self.centre.local_day(now)
        return self.centre.decide(cmd.CloseDay(actor="system:end_of_day", day=day), now)

    async def close_earlier_days(self) -> None:
        """End what is left of earlier days (``CloseDay``), if anything is."""
        async with self._lock:
            now = self.clock()
            if self.centre.needs_closing(now):
                await self._commit_and_apply(self._close_day(now), now)

    async def load_visit_history(self) -> None:
        """Read the last ``HISTORY_DAYS`` days' visit lengths (before today) for the
        wait estimate (``durations.VisitHistory``), in a worker thread; at start and
        once a day. A failure is logged and the estimate goes on with what it had."""
        today = self.centre.local_day(self.clock())
        try:
            visits = await asyncio.to_thread(
                self.store.visit_lengths,
                self.setup.centre_id,
                today - timedelta(days=HISTORY_DAYS),
                today - timedelta(days=1),
            )
        except Exception as exc:  # the database is away: try again at the next sweep
            log.warning("could not read earlier days' visit lengths: %s", exc)
            return
        self.visit_history = VisitHistory.of(visits, self.setup.tz)
        self.centre.visit_history = self.visit_history

    async def roll_up_closed_days(self) -> None:
        """Once a day: end what is left of earlier days, then roll up the last
        ``ROLL_UP_DAYS`` days that are over and not rolled up yet (their figures for
        reports over ranges: ``reporting.ranges``), in a worker thread, and erase the
        feedback comments past ``[feedback] comment_retention_days``. Called at start
        and by the periodic sweep, so a day is rolled up soon after midnight whether or
        not anyone comes; a failure is logged and tried again at the next sweep."""
        today = self.centre.local_day(self.clock())
        if self._rolled_up_before == today or self._rolling_up:
            return
        self._rolling_up = True
        try:
            await self.close_earlier_days()
            from queue_server.reporting import ranges, reports

            centres = {self.setup.centre_id: (self.setup.tz, reports.options_for(self.setup))}
            count = await asyncio.to_thread(
                ranges.ensure_rolled_up,
                self.store,
                centres,
                today - timedelta(days=ROLL_UP_DAYS),
                today - timedelta(days=1),
                now=self.clock(),
            )
            if count:
                log.info("rolled up the figures of %d closed day(s)", count)
            # visitors' comments past their retention, erased once a day (the answers stay)
            now = self.clock()
            erased = await asyncio.to_thread(
                self.store.erase_feedback_comments,
                self.setup.centre_id,
                now - self.setup.feedback.comment_retention,
                now,
            )
            if erased:
                log.info("erased %d feedback comment(s) past their retention", erased)
            # staff's notes on tickets issued at the console: for their day only
            erased = await asyncio.to_thread(
                self.store.erase_ticket_notes, self.setup.centre_id, today, now
            )
            if erased:
                log.info("erased the notes of %d ticket(s) of earlier days", erased)
            await self.load_visit_history()  # yesterday's visits join the history
            if self.notifier is not None:
                # visitors' numbers, addresses and push subscriptions: kept for their
                # ticket's day only (docs/notifications.md)
                erased = await self.notifier.erase_before(today, now)
                if erased:
                    log.info("erased the contact details of %d notification request(s)", erased)
            self._rolled_up_before = today
        finally:
            self._rolling_up = False

    async def _commit_and_apply(
        self,
        decision: Decision,
        now: datetime,
        also: Callable[[sa.Connection], None] | None = None,
    ) -> None:
        """Make the events durable (with what ``also`` writes, in one transaction),
        then apply and publish them; the caller holds the lock."""
        if not decision.events:
            return
        try:
            await asyncio.to_thread(self.store.commit, self.setup.centre_id, decision.events, also)
        except NotActive as exc:
            self.lease_lost(exc)  # another server took the centre: nothing was written
            raise
        except WalkinError:
            await self._reload_after_failure()
            raise
        except Exception as exc:
            await self._reload_after_failure()
            raise Unavailable(
                "The queue database could not save the change. Try again in a moment."
            ) from exc
        self.centre.apply(decision.events)
        self._publish(decision.events, now)

    def lease_lost(self, exc: NotActive) -> None:
        """Another server became the centre's active one (the store's fencing refused a
        write). Here nothing more; a ``ClaimedQueueServer`` stops."""

    #: the centre in memory may lack a commit whose reply was lost, and the database
    #: could not be read since: nothing is decided until it is (``_reload_if_stale``)
    _stale = False

    async def _reload_after_failure(self) -> None:
        # A failed commit may still have reached the database (a lost reply to
        # COMMIT): believe the database, not our memory.
        try:
            centre = await asyncio.to_thread(self.store.load_centre, self.setup, self.clock())
            centre.visit_history = self.visit_history
            self.centre = centre
        except Exception as exc:
            if not self._stale:
                log.warning("cannot reload the centre after a failed commit yet: %s", exc)
            self._stale = True
        else:
            self._stale = False

    async def _reload_if_stale(self) -> None:
        """Before deciding anything (the caller holds the lock): if a failed commit's
        reload failed too (a PostgreSQL failover, a cut network), reload now, or refuse
        (``Unavailable``: the kiosk retries with the same key). Deciding from a memory
        that lacks a ticket the database has would give its number again (refused by
        the database as a clash) or, for a retried issue, miss its key."""
        if self._stale:
            await self._reload_after_failure()
            if self._stale:
                raise Unavailable(
                    "The queue database is not answering; nothing was saved. Try again in a moment."
                )

    def use_rota(self, rota: tuple[CounterRota, ...]) -> None:
        """The centre's rota from now on (``serving.reload_rota``: the file read again):
        the wait estimate reads it from ``Centre.setup``; a reload of the centre after
        a failed commit keeps it (``load_centre`` is given ``self.setup``)."""
        self.setup = replace(self.setup, rota=rota)
        self.centre.setup = replace(self.centre.setup, rota=rota)

    # ------------------------------------------------------------ publish

    def _group(self, roles: frozenset[str]) -> list[ServerConnection]:
        return [ws for ws, who in self._connections.items() if who.role in roles]

    def _publish_to(
        self, roles: frozenset[str], message: dict[str, Any] | Callable[[], dict[str, Any]]
    ) -> None:
        """``message`` to every connection of ``roles`` open now, built now (once,
        shared by every connection; a callable is called only if anyone is to hear
        it) and written by the next ``_flush``."""
        connections = self._group(roles)
        if not connections:
            return
        if callable(message):
            message = message()
        self._outbox.append((connections, json.dumps(message)))
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Write the outbox shortly, if no request's reply does it first: a change
        that answers no request (a sweep, the end of a day) is still pushed."""
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(
                PUSH_GRACE_SECONDS, self._flush
            )

    def _flush(self) -> None:
        """Write every push waiting in the outbox, in the order they were made. Called
        just after a request's reply is written, so the person who pressed the button
        hears first and never waits behind the fan-out to hundreds of boards (issue 12);
        the lock is free meanwhile."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        outbox, self._outbox = self._outbox, []
        for item in outbox:
            if callable(item):
                item()
            else:
                self._send(*item)

    def _send(self, connections: list[ServerConnection], text: str) -> None:
        """Write ``text`` to ``connections`` (no waiting: websockets' ``broadcast``),
        dropping any that has more than ``SLOW_READER_BYTES`` still unsent: a board
        or page that cannot keep up is not buffered for without bound; it reconnects
        and starts again from a fresh snapshot (every client does, on a lost
        connection)."""
        keeping = []
        for ws in connections:
            transport = ws.transport
            backlog = transport.get_write_buffer_size() if transport is not None else 0
            if backlog > SLOW_READER_BYTES:
                who = self._connections.pop(ws, None)
                log.warning(
                    "dropped a %s connection that could not keep up (%d KB unsent); it "
                    "will reconnect for a fresh snapshot",
                    who.role if who else "closed",
                    backlog // 1024,
                )
                transport.abort()  # type: ignore[union-attr]
            else:
                keeping.append(ws)
        if keeping:
            broadcast(keeping, text)

    def _queue_changed(self, now: datetime) -> None:
        """The waiting counts changed: push them to every screen now if none went in
        the last ``QUEUE_PUSH_SECONDS``, else once at the end of that interval, built
        then (so it carries every change since). At 50 tickets a second to 20 kiosks
        and boards a push per ticket was a thousand writes a second of counts no one
        can read that fast; a call, a counter's change and the staff's events still go
        at once, each (issue 12)."""
        if self._queue_timer is not None:
            return  # the push held for the interval's end will carry this change
        loop = asyncio.get_running_loop()
        wait = self._queue_pushed_at + QUEUE_PUSH_SECONDS - loop.time()
        if wait <= 0:
            self._push_queue(now)
        else:
            self._queue_timer = loop.call_later(wait, self._push_held_queue)

    def _push_queue(self, now: datetime) -> None:
        self._queue_pushed_at = asyncio.get_running_loop().time()
        self._publish_to(EVERYONE, partial(views.queue_message, self.centre, now))

    def _push_held_queue(self) -> None:
        self._queue_timer = None
        self._push_queue(self.clock())

    def _publish(self, events: tuple[Event, ...], now: datetime) -> None:
        """The pushes of ``events``, built now (from the state they left, to the
        connections open now) and written by ``_flush``, after the reply to the
        request that caused them."""
        for event in events:
            self._publish_to(STAFF, partial(views.event_for_staff, self.centre, event))
            if isinstance(event, TicketCalled | TicketRecalled) and event.ticket is not None:
                self._publish_to(BOARD_KIOSK, partial(views.call_message, event.ticket))
        if any(e.ticket is not None for e in events):
            self._queue_changed(now)
        if any(e.counter is not None for e in events):
            self._publish_to(BOARD_KIOSK, partial(views.counters_message, self.centre))
        self._outbox.append(lambda: self.visitors.changed(events))
        if self.notifier is not None:
            notifier = self.notifier  # queues its messages: sent by its own tasks
            self._outbox.append(lambda: notifier.changed(self.centre, events, now))
        self._flush_soon()


def _release_handshake(ws: ServerConnection) -> None:
    """Let go of the opening handshake's headers, which websockets keeps for the
    connection's whole life (its parser holds the request): about 3 KB a board, more
    for a browser. Every use of them (``http.process_request``: the Origin check, the
    pages) is over by now; the request's path stays, for the logs."""
    if ws.request is not None:
        ws.request.headers.clear()
    ws.response = None


def _outcome_view(outcome: UploadOutcome) -> dict[str, Any]:
    """One uploaded ticket's fate as the ``upload_offline`` reply gives it (never the
    ticket's id: the kiosk printed it without one, and it is a visitor's secret)."""
    view: dict[str, Any] = {
        "idempotency_key": outcome.key,
        "number": outcome.number,
        "status": outcome.status,
    }
    if outcome.code is not None:
        view["code"], view["message"] = outcome.code, outcome.message
    if outcome.dropped:
        # accepted, without help the centre does not offer: the kiosk's journal
        # keeps the message, as it keeps a refusal's
        view["assistance_dropped"] = list(outcome.dropped)
        view["message"] = outcome.message
    return view


def _estimate_view(estimate: WaitEstimate) -> dict[str, Any]:
    """An estimate as the protocol gives it (docs/protocol.md, ``estimate``)."""
    view: dict[str, Any] = {"people_ahead": estimate.people_ahead, "minutes": estimate.minutes}
    if estimate.low is not None and estimate.high is not None:
        # where the estimate is uncertain: the range the visitor is shown
        view["minutes_low"], view["minutes_high"] = estimate.low, estimate.high
    return view
