"""The websocket queue server: authenticate, decode, authorise, call the core, commit,
reply, broadcast. A thin layer: every decision is the core's.

One request, end to end: ``_serve_connection`` reads a frame -> ``wire.parse_frame``
and ``protocol.decode`` -> ``_authorise`` -> ``to_commands.to_command`` -> ``execute``
(under one lock: ``decide``, ``store.commit`` in a worker thread, ``apply``) -> the
reply -> ``_publish`` pushes the events to everyone else. HTTP on the same port
(``/healthz``, the pages of ``queue_server.web``) is answered in ``_process_request``
before the websocket handshake. Beside it: ``staff_sessions`` (staff pages' sessions),
``visitors`` (ticket status pages), ``figures`` (the manager's figures).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from queue_server import figures, views, wire
from queue_server import protocol as p
from queue_server.auth import BOARD, COUNTER, KIOSK, MANAGER, VISITOR, Identity, authenticate
from queue_server.core import Centre, Decision, estimate_wait
from queue_server.core import commands as cmd
from queue_server.core.errors import (
    Forbidden,
    NotAuthenticated,
    Unavailable,
    WalkinError,
)
from queue_server.core.events import Event, TicketCalled, TicketRecalled
from queue_server.core.model import CentreSetup, CounterState
from queue_server.ratelimit import SignInLimiter
from queue_server.staff_sessions import (
    SIGNED_OUT,
    Ending,
    SessionKeeper,
    close_with,
    is_keepalive,
)
from queue_server.store import Store
from queue_server.to_commands import TICKET_ID, find_ticket, to_command
from queue_server.visitors import TicketWatchers
from queue_server.wire import error_reply, json_response

log = logging.getLogger("walkin.server")

HELLO_TIMEOUT = 10.0
WS_PATHS = ("/", "/ws")
#: how often sessions are checked for expiry and visitors' estimates refreshed
SWEEP_SECONDS = 30.0


HttpHandler = Callable[[ServerConnection, Request], Response | None]


STAFF = frozenset({COUNTER, MANAGER})
EVERYONE = frozenset({KIOSK, BOARD, COUNTER, MANAGER})

#: which roles may send which message (counters are further limited to their own desk)
PERMISSIONS: dict[type[p.Message], frozenset[str]] = {
    p.Ping: EVERYONE | {VISITOR},
    p.GetSnapshot: EVERYONE,
    p.IssueTicket: frozenset({KIOSK, MANAGER}),
    p.CheckIn: frozenset({KIOSK, MANAGER}),
    p.Estimate: frozenset({KIOSK, COUNTER, MANAGER}),
    p.DeviceStatus: frozenset({KIOSK, BOARD}),
    p.ChannelChoice: frozenset({KIOSK}),
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
    p.Report: frozenset({MANAGER}),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class QueueServer:
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
        #: staff sessions: one ends after ``session_idle`` without a person's message
        #: from its page, or ``session_lifetime`` after its sign-in
        self.sessions = SessionKeeper(store, setup.centre_id, session_idle, session_lifetime)
        self.limiter = limiter or SignInLimiter()
        self._password_checks = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="walkin-passwords"
        )
        self._sweeper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.centre: Centre = store.load_centre(setup, clock())
        self._lock = asyncio.Lock()
        self._connections: dict[ServerConnection, Identity] = {}
        #: the visitors' ticket status pages, kept up to date
        self.visitors = TicketWatchers(lambda: self.centre, self._connections, self.clock)
        self._server: Server | None = None
        #: extra HTTP routes (path -> handler) that later features add (pages)
        self.http_routes: dict[str, HttpHandler] = {}
        #: routes for every path under a prefix ("/t/" -> the ticket status pages);
        #: the longest matching prefix wins, after the exact routes
        self.http_prefix_routes: dict[str, HttpHandler] = {}

    # ------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 8765, ssl: Any = None) -> int:
        """End earlier days if need be, then listen; returns the port (for ``port=0``)."""
        await self.close_earlier_days()
        self._server = await serve(
            self._serve_connection,
            host,
            port,
            process_request=self._process_request,
            max_size=p.HARD_MAX_FRAME,
            # Frames are small JSON; per-connection deflate cost a third of the server's
            # CPU fanning a call out to 500 boards (docs/performance.md).
            compression=None,
            ssl=ssl,
            # websockets logs every connection at INFO; ours stays about the queue
            logger=logging.getLogger("walkin.connections"),
        )
        self._sweeper = asyncio.create_task(self._sweep_forever())
        sock = next(iter(self._server.sockets))
        return int(sock.getsockname()[1])

    async def close(self) -> None:
        self._password_checks.shutdown(wait=False, cancel_futures=True)
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.visitors.stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

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
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return await self._health(connection)
        if path in WS_PATHS and request.headers.get("Upgrade", "").lower() == "websocket":
            return wire.foreign_origin(connection, request)
        route = self.http_routes.get(path) or self._prefix_route(path)
        if route is not None:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return json_response(
                    connection,
                    HTTPStatus.BAD_REQUEST,
                    {"error": "not_websocket", "message": f"{path} is a page; use /ws."},
                )
            return route(connection, request)
        if path in WS_PATHS:
            return json_response(
                connection,
                HTTPStatus.UPGRADE_REQUIRED,
                {
                    "error": "upgrade_required",
                    "message": "This address is for websocket clients; see docs/protocol.md.",
                },
            )
        return json_response(
            connection,
            HTTPStatus.NOT_FOUND,
            {"error": "not_found", "message": f"Nothing at {path}."},
        )

    def _prefix_route(self, path: str) -> HttpHandler | None:
        matches = [prefix for prefix in self.http_prefix_routes if path.startswith(prefix)]
        return self.http_prefix_routes[max(matches, key=len)] if matches else None

    async def _health(self, connection: ServerConnection) -> Response:
        database = "ok"
        try:
            await asyncio.wait_for(asyncio.to_thread(self.store.ping), timeout=3)
        except Exception as exc:  # any failure means unhealthy; say which
            database = f"error: {type(exc).__name__}"
        now = self.clock()
        body = {
            "status": "ok" if database == "ok" else "degraded",
            "centre": self.setup.centre_id,
            "time": now.isoformat(),
            "database": database,
            "connections": len(self._connections),
            "waiting": len(self.centre.queued()),
            "open": self.centre.is_open(now),
        }
        status = HTTPStatus.OK if database == "ok" else HTTPStatus.SERVICE_UNAVAILABLE
        return json_response(connection, status, body)

    # ------------------------------------------------------------ websocket

    async def _serve_connection(self, ws: ServerConnection) -> None:
        hello = await self._hello(ws)
        if hello is None:
            return
        identity, welcome = hello
        try:
            await ws.send(
                json.dumps(
                    {"type": "welcome", "role": identity.role, "name": identity.name, **welcome}
                )
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
            if first is not None:
                await ws.send(json.dumps(first))
            async for frame in ws:
                if identity.session is not None:
                    now = self.clock()
                    over = self.sessions.over(identity, now)
                    if over is not None:
                        await self._end_session(identity, over, now, current=ws)
                        await close_with(ws, over[1])
                        break
                    if not is_keepalive(frame):
                        self._note_use(identity, now)
                reply = await self._answer(identity, frame)
                await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            self._connections.pop(ws, None)
            self.visitors.forget(ws)

    async def _hello(self, ws: ServerConnection) -> tuple[Identity, dict[str, Any]] | None:
        """Who is connecting, and what their welcome adds; None once refused."""
        request_id: Any = None
        try:
            frame = await asyncio.wait_for(ws.recv(), timeout=HELLO_TIMEOUT)
            raw = wire.parse_frame(frame)
            request_id = wire.request_id(raw)
            message = p.decode(raw)
            if not isinstance(message, p.Hello):
                raise NotAuthenticated("Say who you are first: the first message must be a hello.")
            return await self._identify(message, wire.peer_address(ws))
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

    def _note_use(self, identity: Identity, now: datetime) -> None:
        work = self.sessions.note_use(identity, now)
        if work is not None:
            self._spawn(work)

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
        await self.sessions.end(identity, kind, now)
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
        those whose account was disabled or changed role since they signed in."""
        now = self.clock()
        connected = {
            who.session: who for who in self._connections.values() if who.session is not None
        }
        changed = await self.sessions.no_longer_valid(set(connected))
        for key, identity in connected.items():
            if key in changed:
                over: Ending | None = (
                    "account_changed",
                    "Your account was changed or disabled. Please sign in again.",
                )
            else:
                over = self.sessions.over(identity, now)
            if over is not None:
                await self._end_session(identity, over, now)
        self.sessions.prune(now, set(connected))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep_sessions()
                await self.visitors.push_all()
            except Exception:
                log.exception("the periodic sweep failed")

    async def _answer(self, identity: Identity, frame: str | bytes) -> dict[str, Any]:
        request_id: Any = None
        try:
            raw = wire.parse_frame(frame)
            # echoed even when the message is refused, so the client can match the error
            request_id = wire.request_id(raw)
            message = p.decode(raw)
            result = await self._dispatch(identity, message)
            return {"type": "ok", "re": request_id, **result}
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
            raise Forbidden(
                f"A {identity.role} may not send {message.type!r}.",  # type: ignore[attr-defined]
                role=identity.role,
            )
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
                    f"You are not signed in at counter {counter_name}. Sign in there first.",
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
                return {"estimate": self._estimate(ticket.id, now)}
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
            case p.Report():
                return await figures.report(self.store, self.setup, message, now)
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
        decision = await self.execute(command)
        return self._result(identity, message, decision)

    def _estimate(self, ticket_id: str, now: datetime) -> dict[str, Any]:
        estimate = estimate_wait(self.centre, ticket_id, now)
        return {"people_ahead": estimate.people_ahead, "minutes": estimate.minutes}

    def _result(self, identity: Identity, message: p.Message, decision: Decision) -> dict[str, Any]:
        result: dict[str, Any] = {}
        ticket = decision.ticket
        if ticket is not None:
            if identity.role in STAFF:
                result["ticket"] = views.ticket_for_staff(self.centre, ticket)
            else:
                result["ticket"] = views.ticket_for_visitor(self.centre, ticket)
                if self.status_url_template:
                    result["ticket"]["status_url"] = self.status_url_template.replace(
                        "{ticket_id}", ticket.id
                    )
            if isinstance(message, p.IssueTicket | p.CheckIn):
                result["estimate"] = self._estimate(ticket.id, self.clock())
                result["replayed"] = not decision.events
        if decision.counter is not None and identity.role in STAFF:
            result["counter"] = views.counter_for_staff(self.centre, decision.counter)
        return result

    # ------------------------------------------------------------ execute

    async def execute(self, command: cmd.Command) -> Decision:
        """Decide, commit, apply, publish: one command at a time, all or nothing.

        The work runs as its own task so that a client hanging up mid-commit cannot
        leave a committed change unapplied.
        """
        return await asyncio.shield(asyncio.ensure_future(self._execute(command)))

    async def _execute(self, command: cmd.Command) -> Decision:
        async with self._lock:
            now = self.clock()
            if self.centre.needs_closing(now):
                await self._commit_and_apply(self._close_day(now), now)
            decision = self.centre.decide(command, now)
            if not decision.events:
                return decision
            await self._commit_and_apply(decision, now)
            return decision

    def _close_day(self, now: datetime) -> Decision:
        day = self.centre.local_day(now)
        return self.centre.decide(cmd.CloseDay(actor="system:end_of_day", day=day), now)

    async def close_earlier_days(self) -> None:
        """End what is left of earlier days (``CloseDay``), if anything is."""
        async with self._lock:
            now = self.clock()
            if self.centre.needs_closing(now):
                await self._commit_and_apply(self._close_day(now), now)

    async def _commit_and_apply(self, decision: Decision, now: datetime) -> None:
        """Make the events durable, then apply and publish them; the caller holds
        the lock."""
        if not decision.events:
            return
        try:
            await asyncio.to_thread(self.store.commit, self.setup.centre_id, decision.events)
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

    async def _reload_after_failure(self) -> None:
        # A failed commit may still have reached the database (a lost reply to
        # COMMIT): believe the database, not our memory.
        try:
            self.centre = await asyncio.to_thread(self.store.load_centre, self.setup, self.clock())
        except Exception:
            log.exception("could not reload the centre after a failed commit")

    # ------------------------------------------------------------ publish

    def _group(self, roles: frozenset[str]) -> list[ServerConnection]:
        return [ws for ws, who in self._connections.items() if who.role in roles]

    def _publish_to(self, roles: frozenset[str], message: dict[str, Any]) -> None:
        connections = self._group(roles)
        if connections:
            broadcast(connections, json.dumps(message))

    def _publish(self, events: tuple[Event, ...], now: datetime) -> None:
        for event in events:
            self._publish_to(STAFF, views.event_for_staff(self.centre, event))
            if isinstance(event, TicketCalled | TicketRecalled) and event.ticket is not None:
                self._publish_to(frozenset({BOARD, KIOSK}), views.call_message(event.ticket))
        if any(e.ticket is not None for e in events):
            self._publish_to(EVERYONE, views.queue_message(self.centre, now))
        if any(e.counter is not None for e in events):
            self._publish_to(frozenset({BOARD, KIOSK}), views.counters_message(self.centre))
        self.visitors.changed(events)
