"""Kiosks that issue through an outage (issue 13 item 4): blocks of numbers leased in
advance, and the tickets a kiosk issued from them while no server answered.

The rules, all here:

- **A block** is a run of one prefix's numbers for one day (``first``..``last``),
  granted to one kiosk for one service. Granting it moves the day's sequence past
  ``last`` in the same event (``NumbersLeased``), so the server's own numbering skips
  it and no two blocks ever overlap: the sequence only goes forwards, and one server
  writes for a centre at a time (the fencing number, issue 13 item 1).
- Numbers in a block look like any other (``H041``): the board calls them and the
  speech says them the same way, and a number is unique per prefix and day whoever
  printed it. A kiosk letter ("K1-H041") would have to be shown and spoken on every
  board and would read like another service's prefix; out-of-order numbers on the
  board are already normal (services, transfers, appointments).
- **An upload** brings a kiosk's offline tickets: each is put into the queue at its
  real arrival time (``Ticket.arrival_at``; the queue orders by arrival), exactly
  once (its idempotency key: a second upload of it is acknowledged with the ticket it
  made). Each ticket is judged alone: one refused (a number not from a block of this
  kiosk, an arrival in the future or more than ``UPLOAD_DAYS`` days back, a number
  already used) never stops the others, and each refusal says why.
- **A ticket of an earlier day** (issued before midnight, uploaded after it) is
  recorded into its own day as what it was: issued offline at its arrival, and ended
  by that day's close (cancelled at the first moment of the next day, as the close
  of day ends a ticket still waiting), never into today's queue. Nobody can call it
  now, and whether its visitor was seen by hand is not known. The database holds
  what such an upload needs of its day (``cmd.EarlierDays``: the kiosk's blocks and
  runs, the tickets already made), read by the server before deciding; its commit is
  a late write to that day (``store.rollups``), so the day's roll-up is rebuilt.
- **Help asked for** offline (``OfflineTicket.assistance``) is applied as at issue
  (``Centre.assisted``: the head start from the arrival, the needs). A code the centre
  does not offer (say, a category removed while the kiosk was offline) is dropped and
  the ticket kept: the visitor holds its paper, and losing their place for a word
  they ticked would be worse than the help missing. The drop is said in the
  outcome (``dropped``, ``message``) and in the event's ``reason`` (the audit row).
- **An offline run** records that the centre ran offline and for how long: what the
  kiosk says (when its link went down, when it came back), or else the first and
  last offline arrival; runs of one kiosk that overlap are one run. A run across
  midnight is recorded as a run on each day it touches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from . import commands as cmd
from . import events as ev
from .errors import Conflict, Forbidden, InvalidRequest, NotFound, WalkinError
from .model import NumberBlock, OfflineRun, Origin, Ticket, TicketState

if TYPE_CHECKING:
    from .centre import Centre, Decision

#: the most numbers one lease may ask for
MAX_BLOCK = 200
#: the most numbers a kiosk may hold unused per service and day (a runaway kiosk must
#: not eat the day's numbers)
MAX_UNUSED = 400
#: how many days back an upload's tickets are taken (a kiosk offline over a long
#: weekend, a kiosk switched off until the next week): older ones are refused, saying
#: so. A lease is for its own day only (``decide_lease``); this bounds what the server
#: reads back for an upload (``cmd.EarlierDays``) and the days it reopens
UPLOAD_DAYS = 7
#: an arrival up to this far ahead of the server's clock is a kiosk clock running a
#: little fast: the ticket is taken, arriving now; further ahead it is refused
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded ticket: ``status`` is ``accepted`` (a ticket made
    now), ``already`` (made by an earlier upload: ``ticket`` is that one) or
    ``refused`` (``code`` and ``message`` say why; nothing was made)."""

    key: str
    number: str
    status: str
    ticket: Ticket | None = None
    #: a refusal's error code and message (``errors.py``), as a reply gives them; for
    #: an accepted ticket, the message says which help was dropped, if any
    code: str | None = None
    message: str | None = None
    #: help codes the centre does not offer, dropped from an accepted ticket
    dropped: tuple[str, ...] = ()


def split_number(number: str) -> tuple[str, int] | None:
    """``H041`` -> (``H``, 41); None for anything that is not letters then digits."""
    text = number.strip().upper()
    prefix = text.rstrip("0123456789")
    digits = text[len(prefix) :]
    if not prefix or not digits or not prefix.isalpha() or not digits.isascii():
        return None
    return prefix, int(digits)


def decide_lease(centre: Centre, c: cmd.LeaseNumbers, now: datetime) -> Decision:
    """A new block for ``c.kiosk`` (or the block its key already got)."""
    from .centre import Decision, format_number

    held = centre.blocks.get(c.key)
    if held is not None:
        if held.kiosk != c.kiosk:
            raise Conflict("That lease key belongs to another kiosk.", key=c.key)
        return Decision((), block=held)
    service = centre.service(c.service)
    today = centre.local_day(now)
    if c.day != today:
        raise InvalidRequest(
            f"Numbers are leased for today ({today.isoformat()}) only, not {c.day.isoformat()}.",
            field="day",
        )
    if not 1 <= c.size <= MAX_BLOCK:
        raise InvalidRequest(f"A block is 1 to {MAX_BLOCK} numbers, not {c.size}.", field="size")
    unused = unused_numbers(centre, c.kiosk, service.code, today)
    if unused + c.size > MAX_UNUSED:
        raise Conflict(
            f"This kiosk already holds {unused} unused {service.name} numbers for today; "
            "upload its offline tickets before asking for more.",
            unused=unused,
        )
    first = centre.sequences.get((service.prefix, today), 0) + 1
    block = NumberBlock(
        kiosk=c.kiosk,
        service=service.code,
        prefix=service.prefix,
        day=today,
        first=first,
        last=first + c.size - 1,
        granted_at=now,
        key=c.key,
    )
    reason = f"{format_number(block.prefix, block.first)}-{format_number(block.prefix, block.last)}"
    return Decision(
        (ev.NumbersLeased(at=now, actor=c.actor, block=block, reason=reason),), block=block
    )


def unused_numbers(centre: Centre, kiosk: str, service: str, day: date) -> int:
    """How many numbers of ``kiosk``'s blocks for ``service`` on ``day`` no ticket has."""
    from .centre import format_number

    count = 0
    for block in centre.blocks.values():
        if block.kiosk == kiosk and block.service == service and block.day == day:
            count += sum(
                1
                for seq in range(block.first, block.last + 1)
                if (format_number(block.prefix, seq), day) not in centre.numbers
            )
    return count


def days_to_read(centre: Centre, c: cmd.UploadOffline, now: datetime) -> list[date]:
    """The days whose stored blocks, runs and tickets deciding ``c`` needs
    (``cmd.EarlierDays``): the days its tickets arrived on, within ``UPLOAD_DAYS``.
    Today is among them, so that an upload decided just after midnight still finds
    what it was read for."""
    today = centre.local_day(now)
    oldest = today - timedelta(days=UPLOAD_DAYS)
    days = {today}
    for entry in c.tickets:
        if entry.arrival_at.tzinfo is not None:
            day = centre.local_day(min(entry.arrival_at, now))
            if oldest <= day:
                days.add(day)
    return sorted(days)


def decide_upload(centre: Centre, c: cmd.UploadOffline, now: datetime) -> Decision:
    """A ticket for each uploaded one not refused and not already made, and the runs."""
    from .centre import Decision

    today = centre.local_day(now)
    events: list[ev.Event] = []
    outcomes: list[UploadOutcome] = []
    made: dict[str, Ticket] = {}  # by key, this upload's
    taken: set[tuple[str, date]] = set()  # (number, day) this upload gave
    stored = {t.idempotency_key: t for t in c.earlier.tickets if t.idempotency_key}
    for entry in c.tickets:
        existing = (
            made.get(entry.idempotency_key)
            or centre.ticket_by_key(entry.idempotency_key)
            or stored.get(entry.idempotency_key)
        )
        if existing is not None:
            if existing.number == entry.number.strip().upper():
                outcomes.append(
                    UploadOutcome(entry.idempotency_key, entry.number, "already", existing)
                )
            else:
                outcomes.append(
                    _refused(
                        entry,
                        Conflict(
                            f"The key of {entry.number} was already used for ticket "
                            f"{existing.number}.",
                            number=entry.number,
                        ),
                    )
                )
            continue
        dropped = tuple(code for code in entry.assistance if code not in centre.assistance)
        try:
            ticket = _offline_ticket(centre, c, entry, now, today, taken)
        except WalkinError as error:
            outcomes.append(_refused(entry, error))
            continue
        made[entry.idempotency_key] = ticket
        taken.add((ticket.number, ticket.day))
        why = _dropped_help(ticket.number, dropped) if dropped else None
        audit = why
        if ticket.day < today:
            late = _late(ticket)
            audit = f"{late} {why}" if why else late
        events.append(ev.TicketUploaded(at=now, actor=c.actor, ticket=ticket, reason=audit))
        outcomes.append(
            UploadOutcome(
                entry.idempotency_key,
                ticket.number,
                "accepted",
                ticket,
                message=why,
                dropped=dropped,
            )
        )
    for run in _runs(centre, c, now, today, list(made.values())):
        events.append(
            ev.OfflineRunRecorded(
                at=now,
                actor=c.actor,
                run=run,
                reason=f"{run.since.isoformat()} to {run.until.isoformat()}",
            )
        )
    return Decision(tuple(events), outcomes=tuple(outcomes))


def _late(ticket: Ticket) -> str:
    """The audit's words for a ticket recorded into its own, earlier day."""
    return (
        f"{ticket.number} was issued offline on {ticket.day.isoformat()} and uploaded "
        "after that day was over: recorded into that day, ended by its close (whether "
        "the visitor was seen is not known)."
    )


def _dropped_help(number: str, dropped: tuple[str, ...]) -> str:
    codes = ", ".join(repr(code) for code in dropped)
    return (
        f"{number} was taken without the help {codes}: the centre has no such assistance "
        "category (any other help asked for is on the ticket)."
    )


def _refused(entry: cmd.OfflineTicket, error: WalkinError) -> UploadOutcome:
    return UploadOutcome(
        entry.idempotency_key, entry.number, "refused", code=error.code, message=error.message
    )


def _offline_ticket(
    centre: Centre,
    c: cmd.UploadOffline,
    entry: cmd.OfflineTicket,
    now: datetime,
    today: date,
    taken: set[tuple[str, date]],
) -> Ticket:
    """The ticket ``entry`` makes, or the ``WalkinError`` saying why it makes none:
    waiting in today's queue, or, of an earlier day, ended by that day's close."""
    from .centre import format_number

    service = centre.services.get(entry.service)
    if service is None:
        raise NotFound(f"No service with code {entry.service!r}.", service=entry.service)
    parts = split_number(entry.number)
    if parts is None or parts[0] != service.prefix:
        raise InvalidRequest(
            f"{entry.number!r} is not a {service.name} number (they start {service.prefix}).",
            number=entry.number,
        )
    prefix, seq = parts
    number = format_number(prefix, seq)
    if entry.arrival_at.tzinfo is None:
        raise InvalidRequest("An arrival time needs its time zone.", number=number)
    arrival = entry.arrival_at
    if arrival > now + CLOCK_SKEW:
        raise InvalidRequest(
            f"{number} arrives at {arrival.isoformat()}, in the future: check the kiosk's clock.",
            number=number,
        )
    arrival = min(arrival, now)
    day = centre.local_day(arrival)
    oldest = today - timedelta(days=UPLOAD_DAYS)
    if day < oldest:
        raise InvalidRequest(
            f"{number} arrived on {day.isoformat()}, more than {UPLOAD_DAYS} days ago: "
            f"offline tickets are taken up to {UPLOAD_DAYS} days after their day. Add the "
            "visit to that day's records by hand; the kiosk's journal keeps the ticket.",
            number=number,
        )
    on = "today" if day == today else f"on {day.isoformat()}"
    block = next(
        (
            b
            for b in (*centre.blocks.values(), *c.earlier.blocks)
            if b.kiosk == c.kiosk
            and b.prefix == prefix
            and b.day == day
            and b.first <= seq <= b.last
        ),
        None,
    )
    if block is None:
        raise Forbidden(
            f"{number} is not from a block of numbers granted to this kiosk {on}.",
            number=number,
        )
    used = (number, day) in centre.numbers or (number, day) in taken
    used = used or any(t.number == number and t.day == day for t in c.earlier.tickets)
    if used:
        raise Conflict(f"{number} has already been given to another ticket {on}.", number=number)
    if entry.ticket_id in centre.tickets:
        raise Conflict("That ticket id is already taken.", number=number)
    ticket = Ticket(
        id=entry.ticket_id,
        number=number,
        seq=seq,
        service=service.code,
        day=day,
        origin=Origin.WALK_IN,
        issued_at=arrival,
        arrival_at=arrival,
        state=TicketState.WAITING,
        state_since=arrival,
        language=entry.language,
        idempotency_key=entry.idempotency_key,
        target_wait=service.target_wait,
        # as at issue; codes not offered here were dropped (``decide_upload``)
        **centre.assisted(
            tuple(code for code in entry.assistance if code in centre.assistance),
            entry.language,
        ),
    )
    if day < today:
        # that day is over (its close ran before this upload: ``CloseDay``): the
        # ticket ends as one still waiting at the close did, when the day ended
        closed = min(centre.start_of_day(day + timedelta(days=1)), now)
        ticket = replace(
            ticket, state=TicketState.CANCELLED, state_since=closed, finished_at=closed
        )
    return ticket


def _runs(
    centre: Centre,
    c: cmd.UploadOffline,
    now: datetime,
    today: date,
    made: list[Ticket],
) -> list[OfflineRun]:
    """The offline runs this upload records, one for each day the outage touched
    (within ``UPLOAD_DAYS``), each merged with one of the kiosk's on that day it
    overlaps; none that says nothing new."""
    arrivals = [t.arrival_at for t in made]
    since = c.offline_since or (min(arrivals) if arrivals else None)
    until = c.back_at or (max(arrivals) if arrivals else None)
    if since is None or until is None:
        return []
    if arrivals:
        since, until = min(since, *arrivals), max(until, *arrivals)
    since, until = min(since, now), min(until, now)
    if since > until:
        since, until = until, since
    since = max(since, centre.start_of_day(today - timedelta(days=UPLOAD_DAYS)))
    if since > until:
        return []
    known = {(r.kiosk, r.since): r for r in (*c.earlier.runs, *centre.offline_runs.values())}
    runs = []
    day, last = centre.local_day(since), centre.local_day(until)
    while day <= last:
        start = max(since, centre.start_of_day(day))
        end = min(until, centre.start_of_day(day + timedelta(days=1)))
        tickets = sum(1 for t in made if t.day == day)
        if start < end or tickets or since == until:
            run = _merged(known.values(), c.kiosk, day, start, end, tickets)
            if run is not None:
                runs.append(run)
        day += timedelta(days=1)
    return runs


def _merged(
    known: Iterable[OfflineRun],
    kiosk: str,
    day: date,
    since: datetime,
    until: datetime,
    tickets: int,
) -> OfflineRun | None:
    """A run of ``kiosk`` on ``day`` from ``since`` to ``until`` with ``tickets`` more,
    merged with one of its ``known`` runs it overlaps; None if that one covers it."""
    for run in known:
        if run.kiosk == kiosk and run.day == day and run.since <= until and since <= run.until:
            merged = replace(
                run,
                since=min(run.since, since),
                until=max(run.until, until),
                tickets=run.tickets + tickets,
            )
            return None if merged == run else merged
    return OfflineRun(kiosk=kiosk, day=day, since=since, until=until, tickets=tickets)


def runs_today(centre: Centre, now: datetime) -> list[OfflineRun]:
    """Today's offline runs of every kiosk, earliest first."""
    today = centre.local_day(now)
    return sorted(
        (r for r in centre.offline_runs.values() if r.day == today), key=lambda r: r.since
    )


def offline_summary(centre: Centre, now: datetime) -> dict[str, object] | None:
    """What the board and the dashboard show of today's outages: the spans when any
    kiosk ran offline (overlapping runs of several kiosks are one span), how long in
    all, and how many tickets were issued offline; None if the centre never did."""
    runs = runs_today(centre, now)
    if not runs:
        return None
    spans: list[list[datetime]] = []
    for run in runs:
        if spans and run.since <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], run.until)
        else:
            spans.append([run.since, run.until])
    seconds = sum(int((end - start).total_seconds()) for start, end in spans)
    return {
        "spans": [{"since": s.isoformat(), "until": e.isoformat()} for s, e in spans],
        "seconds": seconds,
        "tickets": sum(r.tickets for r in runs),
        "kiosks": sorted({r.kiosk for r in runs}),
    }
