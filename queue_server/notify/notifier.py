"""When to tell a visitor, and the sending: off the request path, retried, recorded.

The server hands ``Notifier.changed`` the events of each commit (after the reply to
the request that caused them) and calls ``Notifier.sweep`` every few seconds. Neither
waits for anything: a message to send is put on a queue, and worker tasks send it
through its channel's gateway in a thread, retry with backoff (``retry_seconds``
doubling, ``attempts`` tries) and record each message and its status in the database.
A failure is logged (without the address) and recorded; it never reaches the server.

What is sent, for a ticket whose visitor asked (``opt_in``):

- ``ahead``: once, when ``people_ahead`` or fewer are ahead of it, or its estimate is
  ``minutes_before`` or less ("3 people ahead of you. Estimated wait: about 9 minutes.");
- ``called``: when it is called ("Please go to Counter 4 now."), and ``recalled`` at
  each recall (the same words again);
- ``feedback``: with ``feedback_link``, once the visit is completed, the feedback
  question and the link to the ticket's page where it is answered ("How satisfied were
  you with the service today? https://.../t/..."), if the centre asks for feedback.

A visitor's messages go one at a time, in the order they were due; an ``ahead`` still
waiting to go (or between tries) when a call is due is not sent (``superseded``).

The words are the status page's own (``views.ticket_status``, in the ticket's
language), so a text message and the page never disagree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from queue_server import views
from queue_server.core import Centre, estimate_waits
from queue_server.core.events import Event, TicketCalled, TicketCompleted, TicketRecalled
from queue_server.core.feedback import why_closed
from queue_server.core.model import QUEUED_STATES, Ticket
from queue_server.feedback_words import feedback_question
from queue_server.notify.configured import gateways_for
from queue_server.notify.gateways import (
    EMAIL,
    PUSH,
    SMS,
    Gateway,
    NotifyGateway,
    Outgoing,
    SendFailed,
)
from queue_server.store import notifications as records
from queue_server.store.repository import Store
from queue_server.store.tables import NotificationMessageRow, NotificationRequestRow

log = logging.getLogger("walkin.notify")

#: the waiting tickets that asked are estimated at most this often after changes (one
#: replay for all of them, about 2 ms for 200 waiting), not after every commit
AHEAD_CHECK_SECONDS = 1.0
#: a sent message's fate is asked of its gateway (GOV.UK Notify) at each sweep, for
#: this long after it was sent, at most this many at a time
DELIVERY_WATCH = timedelta(hours=24)
DELIVERY_CHECKS_PER_SWEEP = 100
#: workers sending at once (each send is a blocking HTTP call in a thread)
WORKERS = 2


@dataclass(frozen=True)
class Rules:
    """When to tell (``[notifications]``): ``people_ahead`` and ``minutes_before``
    (0: not on that), ``when_called``; the tries and the first retry's wait."""

    people_ahead: int = 3
    minutes_before: int = 0
    when_called: bool = True
    attempts: int = 4
    retry_seconds: float = 5.0
    #: opt-in forms posted from one network address per hour
    opt_ins_per_hour: int = 20
    #: once the visit is completed, send the feedback question with the link to the
    #: ticket's page (the centre's ``[feedback]`` must be open)
    feedback_link: bool = False


class OptInRefused(Exception):
    """An opt-in the notifier will not take: ``code`` says why (the page words it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Job:
    request: NotificationRequestRow
    kind: str
    message: Outgoing
    #: its place among all the jobs queued (a later one of the same request supersedes
    #: an "ahead" not yet sent)
    seq: int = 0


class Notifier:
    """One centre's notifications. ``gateways``: channel -> gateway (``sms`` and
    ``email`` may share Notify's). ``await start()``, then ``await close()``."""

    def __init__(
        self,
        store: Store,
        centre_id: str,
        rules: Rules,
        gateways: Mapping[str, Gateway],
        *,
        push_public_key: str | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.centre_id = centre_id
        self.rules = rules
        self.gateways = dict(gateways)
        #: the VAPID public key the status page subscribes with (None: no Web Push)
        self.push_public_key = push_public_key
        self._sleep = sleep
        #: ticket id -> its active requests
        self._requests: dict[str, list[NotificationRequestRow]] = {}
        #: (channel, address) of opt-ins being written
        self._claiming: set[tuple[str, str]] = set()
        #: (request id, kind) already sent or being sent: "ahead" goes once
        self._told: set[tuple[int, str]] = set()
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._seq = itertools.count()
        #: request id -> the seq of its newest job
        self._newest: dict[int, int] = {}
        #: request id -> held while one of its messages is sent: a visitor's messages
        #: go one at a time, in order ("3 people ahead" never after "Please go to…")
        self._sending: dict[int, asyncio.Lock] = {}
        self._workers: list[asyncio.Task[None]] = []
        #: the server's clock (it sets its own); the centre last seen, for the check
        #: ``changed`` schedules
        self.clock: Callable[[], datetime] = _now
        #: the ticket pages' address ("https://.../t/{ticket_id}"), as the server has
        #: it when asked (it is set once the port is bound); the feedback link goes
        #: there (None: no link sent)
        self.status_url_template: Callable[[], str | None] = lambda: None
        self._centre: Centre | None = None
        self._check_pending: asyncio.TimerHandle | None = None
        #: messages put on the queue to send, and sends finished (sent, failed or
        #: superseded), for tests and the logs
        self.queued = 0
        self.finished = 0
        #: message id -> (channel, the gateway's id for it, when sent): sent messages
        #: whose fate the gateway has not reported yet
        self._awaiting: dict[int, tuple[str, str, datetime]] = {}
        self._polling: asyncio.Task[int] | None = None

    # ------------------------------------------------------------ what is offered

    def offers(self, channel: str, language: str = "en") -> bool:
        """Whether the status page offers ``channel`` to a visitor of ``language``: its
        gateway says it sends that (``Gateway.sends``), and for Web Push there is the
        public key a page subscribes with."""
        gateway = self.gateways.get(channel)
        if gateway is None or (channel == PUSH and self.push_public_key is None):
            return False
        try:
            return bool(gateway.sends(channel, language))
        except Exception:  # a plugged-in gateway's bug: not offered, the page still drawn
            log.exception("the %s gateway failed when asked about %r", channel, language)
            return False

    def through_notify(self, channel: str) -> bool:
        """Whether GOV.UK Notify sends ``channel``'s messages (the privacy notice names it)."""
        return isinstance(self.gateways.get(channel), NotifyGateway)

    def requests_of(self, ticket_id: str) -> list[NotificationRequestRow]:
        """A ticket's active requests (one a channel)."""
        return list(self._requests.get(ticket_id, []))

    # ------------------------------------------------------------ lifecycle

    async def start(self, today: date) -> None:
        """Take up today's active requests (a restarted server's) and start sending."""
        # a server that stopped with messages still to send: they are not sent late
        await asyncio.to_thread(records.abandon_queued, self.store, self.centre_id, _now())
        rows = await asyncio.to_thread(records.active_requests, self.store, self.centre_id, today)
        for row in rows:
            self._requests.setdefault(row.ticket_id, []).append(row)
        self._told |= await asyncio.to_thread(
            records.kinds_sent, self.store, [r.id for r in rows if r.id is not None]
        )
        reporting = [c for c, g in self.gateways.items() if hasattr(g, "delivery")]
        if reporting:
            unsettled = await asyncio.to_thread(
                records.sent_not_settled, self.store, self.centre_id, today, reporting
            )
            for m in unsettled:
                if m.id is not None and m.reference:
                    self._awaiting[m.id] = (m.channel, m.reference, m.updated_at)
        self._workers = [asyncio.create_task(self._work()) for _ in range(WORKERS)]
        offered = [
            f"{c} ({type(self.gateways[c]).__name__})" for c in (SMS, EMAIL, PUSH) if self.offers(c)
        ]
        # what is offered and through what, never a key or an address
        log.info(
            "notifications: %s; %d request(s) taken up for today",
            ", ".join(offered) or "nothing offered (no keys, templates or gateways)",
            len(rows),
        )

    async def close(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            self._polling = None
        if self._check_pending is not None:
            self._check_pending.cancel()
            self._check_pending = None
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._workers = []

    # ------------------------------------------------------------ opting in

    async def opt_in(
        self, centre: Centre, ticket: Ticket, channel: str, address: str, now: datetime
    ) -> None:
        """The visitor of ``ticket`` asks to be told on ``channel`` at ``address``
        (already checked and normalised by the page). ``OptInRefused``: "channel"
        (not offered), "finished" (the ticket is not waiting), "number_in_use" (the
        address follows another ticket still waiting at this centre today)."""
        if not self.offers(channel, ticket.language):
            raise OptInRefused("channel")
        if ticket.state not in QUEUED_STATES:
            raise OptInRefused("finished")
        claim = (channel, address)
        if channel != PUSH:
            if claim in self._claiming:  # the same number, being taken by another post
                raise OptInRefused("number_in_use")
            for other_id, rows in self._requests.items():
                other = centre.tickets.get(other_id)
                if (
                    other_id != ticket.id
                    and other is not None
                    and not other.is_final
                    and any(r.channel == channel and r.address == address for r in rows)
                ):
                    raise OptInRefused("number_in_use")
        row = NotificationRequestRow(
            centre=self.centre_id,
            day=ticket.day,
            ticket_id=ticket.id,
            channel=channel,
            address=address,
            language=ticket.language,
            created_at=now,
        )
        # held from the check to the write: two posts at once cannot both take a number
        self._claiming.add(claim)
        try:
            row.id = await asyncio.to_thread(records.add_request, self.store, row)
        finally:
            self._claiming.discard(claim)
        rows = [r for r in self._requests.get(ticket.id, []) if r.channel != channel]
        self._requests[ticket.id] = [*rows, row]
        self.check_ahead(centre, now, only={ticket.id})

    async def stop(self, ticket_id: str) -> None:
        """No more messages for this ticket (the visitor asked)."""
        self._requests.pop(ticket_id, None)
        await asyncio.to_thread(records.end_requests, self.store, ticket_id)

    # ------------------------------------------------------------ triggers

    def changed(self, centre: Centre, events: tuple[Event, ...], now: datetime) -> None:
        """After a commit: a call or recall of a ticket that asked is told at once; the
        tickets that moved up are checked against the rules within
        ``AHEAD_CHECK_SECONDS``. Never raises."""
        if not self._requests:
            return
        try:
            for event in events:
                ticket = event.ticket
                if ticket is None or ticket.id not in self._requests:
                    continue
                if isinstance(event, TicketCalled | TicketRecalled) and self.rules.when_called:
                    kind = "recalled" if isinstance(event, TicketRecalled) else "called"
                    self._tell(centre, ticket, kind, now, once=False)
                if isinstance(event, TicketCompleted) and self._asks_feedback(centre, ticket, now):
                    self._tell(centre, ticket, "feedback", now, once=True)
                if ticket.is_final:
                    self._requests.pop(ticket.id, None)
        except Exception:
            log.exception("could not work out the notifications of a change")
        self._centre = centre
        if self._check_pending is None and self._requests:
            self._check_pending = asyncio.get_running_loop().call_later(
                AHEAD_CHECK_SECONDS, self._check_now
            )

    def _asks_feedback(self, centre: Centre, ticket: Ticket, now: datetime) -> bool:
        """Whether to send the feedback link for this completed ticket: asked for in
        ``[notifications]``, the centre's feedback open, and a page to link to."""
        return (
            self.rules.feedback_link
            and self.status_url_template() is not None
            and why_closed(ticket, now, centre.setup.feedback) is None
        )

    def _check_now(self) -> None:
        self._check_pending = None
        if self._centre is None:
            return
        try:
            self.check_ahead(self._centre, self.clock())
        except Exception:
            log.exception("could not check the notifications' rules")

    def sweep(self, centre: Centre, now: datetime) -> None:
        """Every few seconds: estimates move with the clock (``minutes_before``), and
        finished tickets' requests are let go."""
        for ticket_id in list(self._requests):
            ticket = centre.tickets.get(ticket_id)
            if ticket is None or ticket.is_final:
                self._requests.pop(ticket_id, None)
        try:
            self.check_ahead(centre, now)
        except Exception:
            log.exception("could not check the notifications' rules")
        if self._awaiting and (self._polling is None or self._polling.done()):
            self._polling = asyncio.ensure_future(self._poll_guarded())

    async def _poll_guarded(self) -> int:
        try:
            return await self.poll_deliveries()
        except Exception:
            log.exception("could not ask what became of the messages sent")
            return 0

    async def poll_deliveries(self) -> int:
        """Ask the gateways what became of the messages sent and not settled yet
        (``DELIVERY_CHECKS_PER_SWEEP`` at most), recording each one now known
        ("delivered", or "undelivered" with the gateway's reason); how many were
        settled. A message unknown after ``DELIVERY_WATCH`` stays "sent"."""
        settled = 0
        now = _now()
        for message_id, (channel, reference, sent_at) in list(self._awaiting.items())[
            :DELIVERY_CHECKS_PER_SWEEP
        ]:
            gateway = self.gateways.get(channel)
            if gateway is None or now - sent_at > DELIVERY_WATCH:
                self._awaiting.pop(message_id, None)
                continue
            try:
                fate = await asyncio.to_thread(gateway.delivery, reference)  # type: ignore[attr-defined]
            except SendFailed as exc:
                log.info("could not ask after %s message %d: %s", channel, message_id, exc.reason)
                continue
            if fate is None:
                continue
            self._awaiting.pop(message_id, None)
            await asyncio.to_thread(
                records.mark_message,
                self.store,
                message_id,
                status="delivered" if fate.delivered else "undelivered",
                now=_now(),
                error=fate.reason or None,
            )
            settled += 1
        return settled

    def check_ahead(self, centre: Centre, now: datetime, only: set[str] | None = None) -> None:
        """Tell each waiting ticket that asked, once, when it is near its turn."""
        rules = self.rules
        if not (rules.people_ahead or rules.minutes_before):
            return
        waiting = {
            ticket_id
            for ticket_id in self._requests
            if (only is None or ticket_id in only)
            and ticket_id in centre.tickets
            and centre.tickets[ticket_id].state in QUEUED_STATES
            and any((r.id, "ahead") not in self._told for r in self._requests[ticket_id])
        }
        if not waiting:
            return
        estimates = estimate_waits(centre, waiting, now)
        for ticket_id in waiting:
            estimate = estimates.get(ticket_id)
            if estimate is None:
                continue
            near = (rules.people_ahead and estimate.people_ahead <= rules.people_ahead) or (
                rules.minutes_before
                and estimate.minutes is not None
                and estimate.minutes <= rules.minutes_before
            )
            if near:
                self._tell(
                    centre, centre.tickets[ticket_id], "ahead", now, once=True, estimate=estimate
                )

    def _tell(
        self,
        centre: Centre,
        ticket: Ticket,
        kind: str,
        now: datetime,
        *,
        once: bool,
        estimate: Any = None,
    ) -> None:
        status = views.ticket_status(centre, ticket, now, estimate)
        words = status["words"]
        if kind == "ahead":
            # the estimate when there is one; not "no counter is open" in a text message
            known = estimate is not None and estimate.minutes is not None
            text = " ".join(w for w in (words["headline"], words["detail"] if known else "") if w)
        elif kind == "feedback":
            template = self.status_url_template()
            assert template is not None
            question = feedback_question(ticket.language)
            link = template.replace("{ticket_id}", ticket.id)
            text = f"{question} {link}"
        else:
            text = words["call"]
        text = f"{ticket.number}: {text}"
        for request in self._requests.get(ticket.id, []):
            if once and (request.id, kind) in self._told:
                continue
            self._told.add((request.id, kind))  # type: ignore[arg-type]
            message = Outgoing(
                channel=request.channel,
                address=request.address or "",
                text=text,
                title=ticket.number,
                language=request.language,
            )
            job = _Job(request, kind, message, next(self._seq))
            self._newest[request.id or 0] = job.seq
            self._queue.put_nowait(job)
            self.queued += 1

    # ------------------------------------------------------------ sending

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._deliver(job)
            except Exception:
                log.exception("a notification could not be handled")
            finally:
                self.finished += 1
                self._queue.task_done()

    async def _deliver(self, job: _Job) -> None:
        key = job.request.id or 0
        lock = self._sending.setdefault(key, asyncio.Lock())
        async with lock:  # asyncio's locks are fair: in the order queued
            await self._deliver_in_turn(job)
        if not lock.locked() and self._newest.get(key) == job.seq:
            self._sending.pop(key, None)
            self._newest.pop(key, None)

    def _superseded(self, job: _Job) -> bool:
        """An "ahead" message with a newer message of its request queued (the visitor
        was called meanwhile): stale, not sent (or no more tries)."""
        return job.kind == "ahead" and self._newest.get(job.request.id or 0, job.seq) != job.seq

    async def _deliver_in_turn(self, job: _Job) -> None:
        request, now = job.request, _now()
        row = NotificationMessageRow(
            centre=self.centre_id,
            day=request.day,
            request_id=request.id or 0,
            ticket_id=request.ticket_id,
            channel=request.channel,
            kind=job.kind,
            status="queued",
            created_at=now,
            updated_at=now,
        )
        message_id = await asyncio.to_thread(records.add_message, self.store, row)
        message = dataclasses.replace(job.message, reference=f"walkin-{message_id}")
        gateway = self.gateways.get(request.channel)
        wait = self.rules.retry_seconds
        reason = "no gateway for this channel"
        for attempt in range(1, self.rules.attempts + 1):
            if gateway is None:
                break
            if self._superseded(job):
                why = "a newer message was due" + (f"; before: {reason}" if attempt > 1 else "")
                await self._record(message_id, "superseded", attempt - 1, error=why)
                return
            try:
                reference = await asyncio.to_thread(gateway.send, message)
            except SendFailed as exc:
                reason = exc.reason
                log.warning(
                    "%s message %d, try %d of %d, failed: %s",
                    request.channel,
                    message_id,
                    attempt,
                    self.rules.attempts,
                    exc.reason,
                )
                if not exc.retry or attempt == self.rules.attempts:
                    await self._record(message_id, "failed", attempt, error=reason)
                    return
                await self._sleep(wait)
                wait *= 2
                continue
            except Exception as exc:  # a gateway's bug: recorded, never retried
                reason = f"gateway error: {type(exc).__name__}"
                log.exception("%s gateway failed on message %d", request.channel, message_id)
                await self._record(message_id, "failed", attempt, error=reason)
                return
            await self._record(message_id, "sent", attempt, reference=reference)
            if reference and hasattr(gateway, "delivery"):
                self._awaiting[message_id] = (request.channel, reference, _now())
            return
        await self._record(message_id, "failed", 0, error=reason)

    async def _record(self, message_id: int, status: str, attempts: int, **more: Any) -> None:
        await asyncio.to_thread(
            records.update_message,
            self.store,
            message_id,
            status=status,
            attempts=attempts,
            now=_now(),
            **more,
        )

    # ------------------------------------------------------------ retention

    async def erase_before(self, day: date, now: datetime) -> int:
        """Erase the addresses of requests from days before ``day``; how many."""
        for ticket_id, rows in list(self._requests.items()):
            kept = [r for r in rows if r.day >= day]
            if kept:
                self._requests[ticket_id] = kept
            else:
                self._requests.pop(ticket_id)
        return await asyncio.to_thread(
            records.erase_addresses, self.store, self.centre_id, day, now
        )


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def notifier_for(config: Any, store: Store, centre_id: str) -> Notifier | None:
    """The notifier ``[notifications]`` (``NotificationsConfig``) asks for, or None
    when it is not open, with the gateways ``configured.gateways_for`` makes.
    ValueError (naming the setting, never a key) for a key that is not one or a
    gateway that cannot be made."""
    if config is None or not config.open:
        return None
    gateways, public_key = gateways_for(config)
    rules = Rules(
        people_ahead=config.people_ahead,
        minutes_before=config.minutes_before,
        when_called=config.when_called,
        attempts=config.attempts,
        retry_seconds=config.retry_seconds,
        opt_ins_per_hour=config.opt_ins_per_address_per_hour,
        feedback_link=config.feedback_link,
    )
    return Notifier(store, centre_id, rules, gateways, push_public_key=public_key)
