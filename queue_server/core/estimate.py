"""Wait estimates: how many people are ahead of a ticket, and roughly how long.

Method (docs/routing.md, "Wait estimates"; measured in docs/simulation.md): replay the
routing policy forward in time, with what ``durations.learn`` found in the day so far.
Each open counter becomes free at a predicted moment — now if idle; if it has a ticket,
when that visit should end by the service's recent visits (``Learned.remaining``: never
sooner than a quarter of the mean from now, since a visit over its mean is likely to run
on a while). With several counters busy, whichever visit ends first frees its counter
sooner than any one visit's expected end says, so they are freed in turn at the expected
first, second... end among their visits (``_free_in_turn``). A paused counter whose
adviser is still signed in (a break) comes back ``PAUSE_BACK_IN`` from now; a closed one
does not. With the centre's rota (``CentreSetup.rota``, ``_rota_today``) a counter whose
break is due goes on it once free and is back after its length, leaves at the end of its
shift, a paused one on a rota break is back when that break ends, and a closed one opens
at the start of its next shift. Repeatedly the earliest-free counter "calls next" with
the real ``choose_next`` at that moment, so under the centre's configured routing policy
(``Policy.routing``: ``"rules"``, ``"fifo"``...), and stays busy for the called visit:
the service's learned mean (long visits cut down), less for a walk-in who has waited
long enough that they may have left (``Learned.busy_for``). Bookings not checked in yet
whose slot is still to come within the horizon are in the replay as tickets arriving at
their usual time before the slot, each visit weighed by the share of bookings that come;
they are not counted among the people ahead. The moment a ticket is called in this
replay is its estimate; the people ahead of it are the queued tickets called before it
at open counters that could have taken it. If no open counter can take the ticket, the
minutes are unknown (None) and the people ahead are the tickets of the same service that
arrived earlier. The replay looks ``HORIZON`` (4 hours) ahead at most; a ticket not
called by then has unknown minutes, and its people ahead are those called in the replay
plus those of its service still before it. A ticket the replay cannot reach by then is
found without it (``_out_of_reach``, O(counters)): unknown minutes, the same as the
replay's, and as people ahead those queued before it for the services its counters take.

What it cannot see: breaks still to come, and walk-ins still to come who will be
called first (later arrivals go first under "rules" and "standards"); both make it run
short on busy days, by half a minute to a minute on average with four advisers, most
of it a few visitors who wait 20 minutes or more longer than told (docs/simulation.md,
"Counters freed in turn").
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from .durations import Learned, learn
from .model import (
    QUEUED_STATES,
    Counter,
    CounterState,
    Origin,
    Ticket,
    TicketState,
)
from .queue_index import Key
from .replay_queue import ReplayQueue
from .routing import (
    Desk,
    Floor,
    appointment_deadline,
    choose_next,
    eligible_at,
    looks_ahead,
    may_take,
    queue_order,
)

if TYPE_CHECKING:
    from .centre import Centre

#: bound on the replay so one estimate can never hold up the server
MAX_STEPS = 2000
#: how far ahead the replay looks. Past it the minutes are unknown (None): a wait of
#: more than four hours is not an estimate worth printing, and the bound keeps each
#: estimate's cost independent of the queue's length (docs/performance.md).
HORIZON = timedelta(hours=4)
#: whether to skip the replay for a ticket that cannot be reached within ``HORIZON``
#: (``_out_of_reach``): its minutes are unknown either way, found in O(counters)
#: instead of replaying the whole horizon (tests turn it off to compare)
PRUNE = True
#: a paused counter (its adviser still signed in: a break) is taken to be back this long
#: from now, however long it has been paused; 15 minutes measured best of 8, 15 and 22
#: against the simulator's 15- and 30-minute breaks (docs/simulation.md, "Wait
#: estimates"). Counting from when the pause began (``Counter.state_since``) was tried
#: and not kept: a little lower MAE, the bias further from the target ("Counters freed
#: in turn").
PAUSE_BACK_IN = timedelta(minutes=15)
#: whether the replay's "call next" goes through ``ReplayQueue.choose`` (the same
#: choice, without building a candidate for each service's oldest ticket at each step)
#: where it knows the policy; tests turn it off to compare
FAST = True


@dataclass(frozen=True)
class WaitEstimate:
    people_ahead: int
    #: minutes until called, rounded up; None when no open counter can take the ticket
    minutes: int | None
    #: where the estimate is uncertain (``wait_range``), the range the visitor is shown
    #: ("about 15-25 minutes"); None for a short or unknown wait
    low: int | None = None
    high: int | None = None


#: from this many minutes an estimate is shown as a range (below: one number)
RANGE_FROM = 10


def wait_range(minutes: int | None) -> tuple[int, int] | None:
    """The range to show for an estimate of ``minutes``, in whole 5 minutes, or None
    (under ``RANGE_FROM``, or unknown). From the estimate's errors over 40 simulated
    days of each shipped profile and staffing (docs/simulation.md, "Wait estimates"):
    of the estimates of 10 minutes or more, the actual wait fell within it 75-93 % of
    the time, depending on the policy and staffing (75 % under "standards" with four
    advisers, busy or ordinary). It widens with the minutes, since the
    error does: from half the estimate less 2 minutes to the estimate plus 4 minutes
    and half again (at most 20 more), each end to the nearest 5, the estimate always
    inside."""
    if minutes is None or minutes < RANGE_FROM:
        return None
    low = max(5, 5 * round((minutes / 2 - 2) / 5))
    high = 5 * round((minutes + min(4 + minutes / 2, 20)) / 5)
    low = min(low, 5 * (minutes // 5))
    high = max(high, 5 * -(-minutes // 5))
    return low, high if high > low else low + 5


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
    # the rota: breaks and shift ends to come, paused counters' returns, and closed
    # counters whose shift starts within the horizon (they join the replay then)
    away, back, arrive = _rota_today(centre, now)
    arriving = [centre.counters[name] for name, at in arrive.items() if at <= now + HORIZON]
    #: the tickets to replay for, and the names of the counters that could take each
    targets: dict[str, frozenset[str]] = {}
    index = centre.queue_index
    for ticket_id in ticket_ids:
        target = centre.ticket(ticket_id)
        if target.state not in QUEUED_STATES:
            results[ticket_id] = WaitEstimate(0, 0)
            continue
        able = frozenset(c.name for c in (*counters, *arriving) if may_take(c, target))
        if not able:
            # the tickets of its service that came before it (by arrival, then number)
            results[ticket_id] = WaitEstimate(index.earlier(target), None)
        else:
            targets[ticket_id] = able
    if not targets:
        return results

    learned = learn(centre, now)
    free_at: list[tuple[datetime, str]] = []
    in_turn = _free_in_turn(centre, learned, counters, now)
    for counter in counters:
        at = in_turn.get(counter.name) or _free_at(centre, learned, counter, now)
        heapq.heappush(free_at, (at, counter.name))
    # a paused counter whose adviser is still signed in comes back from their break:
    # at the end of the rota's break it is on, or ``PAUSE_BACK_IN`` from now
    for counter in centre.counters.values():
        if counter.state == CounterState.PAUSED and counter.staff is not None:
            heapq.heappush(free_at, (back.get(counter.name, now + PAUSE_BACK_IN), counter.name))
    # a closed counter opens at the start of its shift in the rota
    for counter in arriving:
        heapq.heappush(free_at, (arrive[counter.name], counter.name))
    durations = {code: learned.visit(code) for code in centre.services}
    if PRUNE:
        for ticket_id in _out_of_reach(centre, learned, free_at, targets, now):
            able = targets.pop(ticket_id)
            results[ticket_id] = WaitEstimate(_ahead_by_arrival(centre, ticket_id, able), None)
        if not targets:
            return results
    plans = looks_ahead(centre.policy)  # only then does the policy read a Floor

    # bookings still to check in, as tickets that will arrive (not people ahead)
    expected = _expected_appointments(centre, learned, now)
    queue = ReplayQueue.of_centre(centre, expected.values())
    # each counter's calls in the replay so far, by time (the replay runs forward, so
    # each list is sorted and "called before t" is a bisection)
    calls_at: dict[str, list[datetime]] = {}
    #: each service's real tickets called in the replay, by their queue keys
    called: dict[str, list[Key]] = {}
    pending = dict(targets)
    fast = FAST and queue.chooses
    # "standards": the policy's own answer without a Floor while no appointment is in
    # view (``ReplayQueue.choose_planned``)
    planned = FAST and queue.chooses_planned
    # how long a call keeps a desk busy, by (origin, service), while it does not depend
    # on the wait (nobody is taken to walk out: ``Learned.gone_by`` is 0 for any wait)
    busy: dict[tuple[str, str], timedelta] | None = {} if learned.patience is None else None
    limit = now + HORIZON
    for _ in range(MAX_STEPS):
        when, name = heapq.heappop(free_at)
        if when > limit:
            break
        rota_next = away.get(name)
        if rota_next and rota_next[0][0] <= when:
            # the rota takes the counter away once its visit in hand has ended: a break
            # (back after its length) or the end of a shift (back at the next, if any)
            _due, gone_for, returns = rota_next.pop(0)
            if gone_for is not None:
                heapq.heappush(free_at, (when + gone_for, name))
            elif returns is not None:
                # (a visit that ran into the next shift: back at once)
                heapq.heappush(free_at, (max(returns, when), name))
            elif not free_at:
                break
            continue
        counter = centre.counters[name]
        if fast:
            chosen = queue.choose(counter, when)
        elif planned:
            chosen = queue.choose_planned(counter, when, free_at, durations)
        else:
            floor = (
                Floor(
                    desks=[Desk(centre.counters[other], at) for at, other in free_at],
                    durations=durations,
                )
                if plans
                else None
            )
            offered = queue.offer(counter, when)
            if plans:  # (a policy that plans sees a booking only an hour ahead)
                offered = [t for t in offered if queue.visible(t, when)]
            chosen = choose_next(counter, offered, centre.services, centre.policy, when, floor)
        if chosen is None:
            # Nothing callable yet here: jump to the next moment something becomes
            # eligible (a booked slot, under "rules"; "fifo" has no slots, so it finds
            # none), or retire the counter if nothing ever will.
            upcoming = [
                eligible_at(t)
                for t in queue.offer(counter)
                if may_take(counter, t) and eligible_at(t) > when
            ]
            upcoming.extend(queue.holds_end(counter, when))  # transferred away from it
            if rota_next:  # idle when the rota takes it away: it goes then
                upcoming.append(rota_next[0][0])
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
            whole = int(-(-minutes // 1))
            band = wait_range(whole)
            results[chosen.id] = WaitEstimate(
                ahead, whole, *(band if band is not None else (None, None))
            )
            if not pending:
                return results
        queue.remove(chosen)
        if chosen.id in expected:
            # a booking that may not come: its visit weighed by the chance it does
            length = durations[chosen.service] * learned.shows
        else:
            called.setdefault(chosen.service, []).append(queue_order(chosen))
            calls_at.setdefault(name, []).append(when)
            if busy is None:
                length = learned.busy_for(chosen.origin, chosen.service, when - chosen.arrival_at)
            else:
                kind = (chosen.origin, chosen.service)
                known = busy.get(kind)
                if known is None:
                    known = busy[kind] = learned.busy_for(*kind, timedelta())
                length = known
        heapq.heappush(free_at, (when + length, name))
    # Not reached within the horizon: those called so far (at counters that could take
    # it), and those of the same service still ahead of it, are ahead; how long is
    # unknown.
    if not pending:
        return results
    for ticket_id in pending:
        able = targets[ticket_id]
        target = centre.tickets[ticket_id]
        place = queue_order(target)
        # of its service, queued before it and not called in the replay
        still_ahead = index.before(target) - sum(
            1 for key in called.get(target.service, ()) if key < place
        )
        rivals = sum(len(calls_at.get(desk, [])) for desk in able)
        results[ticket_id] = WaitEstimate(rivals + still_ahead, None)
    return results


#: a pause that began this long before a break in the rota was due, or up to this long
#: after it should have ended, is taken to be that break
BREAK_SLACK = timedelta(minutes=30)

#: (due, how long, back at): a break (how long it lasts once it begins) or the end of
#: a shift (back at the next shift's start, or None: not again today)
_Away = tuple[datetime, timedelta | None, datetime | None]


def _rota_today(
    centre: Centre, now: datetime
) -> tuple[dict[str, list[_Away]], dict[str, datetime], dict[str, datetime]]:
    """What the centre's rota (``CentreSetup.rota``) says of today, for the replay:
    each working counter's absences still to come, in order, when each paused
    counter on a rota break is back, and when each closed counter whose next shift is
    still to start opens (its adviser signs in at the shift's start: it joins the
    replay then, and its breaks and shift ends from then on apply).

    A break still to come: one not yet over by the plan (due + length after now) that
    the counter is not on and has not taken (``Centre.pauses``: a pause that ended,
    begun within ``BREAK_SLACK`` of the break's time and at least half its length: a
    break cut short or taken early counts, a two-minute pause before lunch does not).
    A paused counter is on the break whose
    due time is nearest its pause's start, within ``BREAK_SLACK``: back that long after
    the pause began (or now, if the break is overrunning). A working counter leaves at
    the end of each of its shifts still to end (after the visit in hand) and comes back
    at the next one's start; it may be working outside its shifts (opened early), and
    is taken to work on until the end of the next. A closed counter whose shift has
    begun already is not brought in (its adviser is late, or away today). Without a
    rota: nothing ({}, {}, {})."""
    rota = centre.setup.rota
    if not rota:
        return {}, {}, {}
    tz = centre.setup.tz
    today = now.astimezone(tz).date()

    def at(clock: time) -> datetime:
        return datetime.combine(today, clock, tzinfo=tz)

    away: dict[str, list[_Away]] = {}
    back: dict[str, datetime] = {}
    arrive: dict[str, datetime] = {}
    for planned in rota:
        counter = centre.counters.get(planned.counter)
        if counter is None:
            continue
        starts = None
        if counter.state == CounterState.CLOSED:
            starts = min(
                (at(start) for start, _end in planned.shifts if at(start) > now), default=None
            )
            if starts is None:
                continue
            arrive[planned.counter] = starts
        breaks = [(at(due), length) for due, length in planned.breaks]
        if starts is not None:
            breaks = [(due, length) for due, length in breaks if due >= starts]
        on_break = None
        if counter.state == CounterState.PAUSED and counter.state_since is not None:
            since = counter.state_since
            near = [
                (abs(since - due), due, length)
                for due, length in breaks
                if due - BREAK_SLACK <= since <= due + length + BREAK_SLACK
            ]
            if near:
                _gap, due, length = min(near)
                on_break = due
                back[planned.counter] = max(since + length, now)
        taken = centre.pauses.get(planned.counter, ())
        items: list[_Away] = [
            (due, length, None)
            for due, length in breaks
            if due != on_break
            and due + length > now
            and not any(
                abs(began - due) <= BREAK_SLACK and ended - began >= length / 2
                for began, ended in taken
            )
        ]
        shifts = sorted((at(start), at(end)) for start, end in planned.shifts)
        for number, (_start, end) in enumerate(shifts):
            if end > now:
                after = shifts[number + 1][0] if number + 1 < len(shifts) else None
                items.append((end, None, after))
        if items:
            items.sort(key=lambda item: item[0])
            away[planned.counter] = items
    return away, back, arrive


def _out_of_reach(
    centre: Centre,
    learned: Learned,
    free_at: Sequence[tuple[datetime, str]],
    targets: Mapping[str, frozenset[str]],
    now: datetime,
) -> list[str]:
    """The targets the replay cannot call within ``HORIZON``, found without it: a
    plain ticket (not pinned, not on the appointment clock) is offered only once every
    plain ticket of its service before it has been called, and between two calls of
    that service a desk is busy at least the shortest time the replay gives one of its
    visits (its learned mean, or less for a walk-in who may have gone). So a desk
    free at ``f`` makes at most ``(now + HORIZON - f) // shortest + 1`` such calls by the horizon
    (``shortest``: the mean, or a walk-in's ``busy_for`` after the longest wait any of
    them can have by then, whichever is less: ``busy_for`` moves one way with the wait);
    if all the desks that can take the service together cannot make one more than
    the tickets before it, it is out of reach. O(counters) a ticket, the queue's
    length aside (one bisection); whatever the policy chooses otherwise only delays it."""
    index = centre.queue_index
    limit = now + HORIZON
    out = []
    for ticket_id in targets:
        ticket = centre.tickets[ticket_id]
        if ticket.pinned_counter is not None or appointment_deadline(ticket, centre.policy):
            continue
        code = ticket.service
        plain = index.plain().get(code, ())
        if not plain:
            continue
        # the visits shorten (or lengthen) steadily with the wait, so the shortest is
        # at no wait or at the longest any of them can have had by the horizon
        longest_wait = limit - plain[0][0]
        shortest = min(learned.visit(code), learned.busy_for(Origin.WALK_IN, code, longest_wait))
        if shortest <= timedelta():
            continue
        before = bisect_left(plain, queue_order(ticket))
        calls = sum(
            (limit - free) // shortest + 1
            for free, name in free_at
            if free <= limit and centre.counters[name].skilled_for(code)
        )
        if calls <= before:
            out.append(ticket_id)
    return out


def _ahead_by_arrival(centre: Centre, ticket_id: str, able: frozenset[str]) -> int:
    """People ahead of a ticket out of the replay's reach: those queued before it (by
    arrival, number, id) for any service one of the counters that could take it
    serves."""
    ticket = centre.tickets[ticket_id]
    key = queue_order(ticket)
    services = {
        code
        for name in able
        for code in centre.services
        if code == ticket.service or centre.counters[name].skilled_for(code)
    }
    return sum(centre.queue_index.queued_before(code, key) for code in services)


def _free_at(centre: Centre, learned: Learned, counter: Counter, now: datetime) -> datetime:
    """When ``counter`` should be free (``Centre.expected_free_at`` with the learned
    visit lengths)."""
    if counter.current_ticket is None:
        return now
    service, elapsed = _under_way(centre, counter, now)
    return now + learned.remaining(service, elapsed)


def _under_way(centre: Centre, counter: Counter, now: datetime) -> tuple[str, timedelta]:
    """The service of the visit at ``counter`` (it has one) and how long it has lasted."""
    assert counter.current_ticket is not None
    current = centre.tickets[counter.current_ticket]
    if current.state == TicketState.SERVING:
        started = current.service_started_at or now
    else:
        started = current.called_at or now
    return current.service, max(now - started, timedelta())


def _free_in_turn(
    centre: Centre, learned: Learned, counters: Sequence[Counter], now: datetime
) -> dict[str, datetime]:
    """When each counter busy at ``now`` should be free, taking the visits under way
    together: each visit may end in any of the ways its service's recent visits went
    (``Learned.remaining_spread``), and whichever ends first frees its counter sooner
    than the expected end of any one of them (two 8-minute visits that take 4 or 12
    minutes, as likely: the first ends after 6 minutes on average, the second after
    10). So the busy counters are free at the expected first, second... end among the
    visits (``expected_ends``), the one whose visit should end soonest first. The times
    add up to the same as each visit's own expected end: only their spread changes.
    Fewer than two busy: {} (``_free_at`` says)."""
    minute = timedelta(minutes=1)
    busy: list[tuple[timedelta, str, list[float]]] = []
    for counter in counters:
        if counter.current_ticket is None:
            continue
        service, elapsed = _under_way(centre, counter, now)
        spread = [way / minute for way in learned.remaining_spread(service, elapsed)]
        busy.append((learned.remaining(service, elapsed), counter.name, spread))
    if len(busy) < 2:
        return {}
    busy.sort(key=lambda b: (b[0], b[1]))
    ends = expected_ends([spread for _, _, spread in busy])
    return {name: now + end * minute for (_, name, _), end in zip(busy, ends, strict=True)}


def expected_ends(spreads: Sequence[Sequence[float]]) -> list[float]:
    """The expected first, second... last end among independent visits, the k-th the
    mean of the k-th smallest when each visit ends at one of its ``spreads`` (each
    value equally likely; at least one, all positive). Exactly: the integral over time
    of the chance that fewer than k have ended, a step function whose steps are the
    values. Their sum is the sum of the spreads' means.

    The chance that exactly m have ended is kept from step to step, each visit whose
    chance of having ended moves taken out of it and put back with its new chance, so
    the cost is O(values x visits): under a millisecond with twelve counters busy and
    twenty recent visits each (docs/simulation.md, "Counters freed in turn")."""
    n = len(spreads)
    # (value, visit): each step moves one visit's chance of having ended by 1/len
    moves = sorted((value, i) for i, spread in enumerate(spreads) for value in spread)
    sizes = [len(spread) for spread in spreads]
    passed = [0] * n
    ended = [1.0] + [0.0] * n  # the chance that exactly m of them have ended
    ends = [0.0] * n
    last = 0.0
    for value, i in moves:
        if value > last:
            fewer = 0.0
            for k in range(n):
                fewer += ended[k]
                ends[k] += (value - last) * fewer
            last = value
        before = passed[i] / sizes[i]
        passed[i] += 1
        _swap_chance(ended, before, passed[i] / sizes[i])
    return ends


def _swap_chance(ended: list[float], before: float, after: float) -> None:
    """In ``ended`` (the chances that exactly m of some independent visits have ended),
    one visit's chance of having ended goes from ``before`` to ``after``: divided out
    in the stable direction (from the bottom while it is at most a half), then
    multiplied back in."""
    size = len(ended)
    without = [0.0] * size
    if before <= 0.5:
        stay = 1 - before
        carry = 0.0
        for m in range(size - 1):
            carry = without[m] = (ended[m] - carry * before) / stay
    else:
        carry = 0.0
        for m in range(size - 1, 0, -1):
            carry = without[m - 1] = (ended[m] - carry * (1 - before)) / before
    ended[0] = without[0] * (1 - after)
    for m in range(1, size):
        ended[m] = without[m] * (1 - after) + without[m - 1] * after


def _expected_appointments(centre: Centre, learned: Learned, now: datetime) -> dict[str, Ticket]:
    """The bookings not checked in yet whose slot is still to come within the horizon,
    as tickets that will arrive ``learned.early`` before it (never before ``now``), by
    id. Ids and numbers are no real ticket's."""
    found = {}
    # the bookings within the horizon, in (time, ref) order, from the centre's index
    # of bookings still only booked: not a sort of every booking held (weeks ahead)
    for n, (at, ref, service) in enumerate(centre.booked_between(now, now + HORIZON)):
        if at == now or service not in centre.services:  # (a slot at ``now`` is not to come)
            continue
        arrival = max(now, at - learned.early)
        found[f"expected:{ref}"] = Ticket(
            id=f"expected:{ref}",
            number="",
            seq=10**9 + n,
            service=service,
            day=centre.local_day(at),
            origin=Origin.APPOINTMENT,
            issued_at=arrival,
            arrival_at=arrival,
            state=TicketState.WAITING,
            state_since=arrival,
            appointment_ref=ref,
            appointment_at=at,
        )
    return found
