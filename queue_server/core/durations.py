"""What the wait estimate learns from the day so far (docs/routing.md, "Wait estimates").

::

    learn(centre, now) -> Learned
    learned.visit(service) -> timedelta               expected length of a visit
    learned.remaining(service, elapsed) -> timedelta  how much longer one under way lasts
    learned.remaining_spread(service, elapsed)        the ways it may go on (their mean:
                                                      ``remaining``)
    learned.gone_by(waited) -> float                  share of walk-ins gone by then
    learned.absent                                    what a visitor who is gone costs
    learned.shows                                     share of bookings that check in
    learned.early                                     how long before their slot they come

Visit lengths: the mean of each service's recent visits (``Centre.recent_durations``,
the last ``Policy.recent_visits``), each first cut down to ``CLIP`` times their median,
so one 60-minute visit among twenty 10-minute ones moves the mean by a minute and a
half, not two and a half. Once fewer than ``CLIP_FROM`` visits are known, the plain
mean (``Centre.mean_duration``); with none, the service's typical duration. A mean,
not a median or a trimmed mean: visit lengths have a long tail, and the median of such
a service runs short of the time its visits take in all (measured in the simulator:
docs/simulation.md, "Wait estimates").

Walk-outs: a walk-in who has waited ``w`` minutes is taken to have gone with
probability ``1 - exp(-w / patience)``, ``patience`` fitted from today's called
walk-ins: the minutes all of them waited over those who were not there (no-shows).
With fewer than ``WALK_OUTS_FROM`` called, or none gone, nobody is assumed to leave.

Bookings: the share that checked in among today's whose check-in window has closed,
starting from ``SHOWS_PRIOR`` as if ``SHOWS_PRIOR_WEIGHT`` bookings had been seen;
how early visitors come, the median of today's checked-in appointments (0 before any).

Earlier days (``VisitHistory``, ``Centre.visit_history``): each service's visits of the
last ``HISTORY_DAYS`` days, by the hour of the day they began, each hour's figure cut
down and averaged as today's are, once it has ``HISTORY_FROM`` visits. While today has
fewer than ``CLIP_FROM`` visits of a service, its length is their mean with the
history's figure for the hour (else for the whole day) counted as the visits still
missing: the first visit of the morning is told what mornings take, not the configured
typical duration, and a service seen once today is not judged by that one visit. With
no history, as before: the plain mean of today's, or the typical duration.

Pure: no I/O, no clock; reads only the centre's ``TicketStats`` (kept as tickets
change, so no pass over the day's tickets), bookings, recent visits and the history
the server reads from the database (``Store.visit_lengths``) when it starts and once a
day.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from .model import Origin, Ticket, TicketState

if TYPE_CHECKING:
    from .centre import Centre

#: each recent visit counts for at most this many times the service's median
CLIP = 3.0
#: cut long visits down once a service has this many recent visits; fewer: plain mean
CLIP_FROM = 5
#: learn walk-outs once this many walk-ins have been called today
WALK_OUTS_FROM = 20
#: how long a counter is taken to lose on a visitor who is not there, until learned
#: (a recall, then the no-show)
ABSENT = timedelta(minutes=2)
#: bookings' show rate before any check-in window has closed today, and how many
#: bookings that prior counts as
SHOWS_PRIOR, SHOWS_PRIOR_WEIGHT = 0.9, 5
#: how many earlier days' visits the history reads, and how many visits a service (in
#: an hour, or in all) needs before its history counts
HISTORY_DAYS = 28
HISTORY_FROM = 5


@dataclass(frozen=True)
class VisitHistory:
    """Visit lengths of earlier days: by service and the local hour a visit began, and
    by service over the whole day; each the mean of the visits cut down to ``CLIP``
    times their median, and only where there were ``HISTORY_FROM`` or more."""

    by_hour: dict[str, dict[int, timedelta]] = field(default_factory=dict)
    overall: dict[str, timedelta] = field(default_factory=dict)
    #: the visits it was learned from
    visits: int = 0

    def prior(self, service: str, hour: int | None) -> timedelta | None:
        """What a visit of ``service`` beginning in ``hour`` took on earlier days:
        that hour's figure, else the whole day's; None if the history has neither."""
        if hour is not None:
            found = self.by_hour.get(service, {}).get(hour)
            if found is not None:
                return found
        return self.overall.get(service)

    @classmethod
    def of(cls, visits: Iterable[tuple[str, datetime, timedelta]], tz: tzinfo) -> VisitHistory:
        """From (service, when the visit began, how long it lasted) of earlier days;
        visits of no length (or less) are left out."""
        hours: dict[str, dict[int, list[timedelta]]] = {}
        count = 0
        for service, began, length in visits:
            if length <= timedelta():
                continue
            count += 1
            hour = began.astimezone(tz).hour
            hours.setdefault(service, {}).setdefault(hour, []).append(length)
        by_hour: dict[str, dict[int, timedelta]] = {}
        overall: dict[str, timedelta] = {}
        for service, lengths in hours.items():
            every = [d for kept in lengths.values() for d in kept]
            if len(every) >= HISTORY_FROM:
                overall[service] = _robust_mean(every)
            kept_hours = {
                hour: _robust_mean(kept)
                for hour, kept in lengths.items()
                if len(kept) >= HISTORY_FROM
            }
            if kept_hours:
                by_hour[service] = kept_hours
        return cls(by_hour, overall, count)


def _robust_mean(values: list[timedelta]) -> timedelta:
    """The mean of ``values`` each cut down to ``CLIP`` times their median."""
    cap = _median(values) * CLIP
    return sum((min(d, cap) for d in values), timedelta()) / len(values)


@dataclass(frozen=True)
class Learned:
    """What ``learn`` found; see the module docstring."""

    centre: Centre
    #: each service's recent visits, cut down to ``CLIP`` times their median
    clipped: dict[str, list[timedelta]] = field(default_factory=dict)
    #: mean minutes of patience (an exponential); None: nobody is assumed to leave
    patience: float | None = None
    absent: timedelta = ABSENT
    shows: float = SHOWS_PRIOR
    early: timedelta = timedelta()
    #: when it was learned (the hour the history's figures are taken for)
    now: datetime | None = None

    def visit(self, service: str) -> timedelta:
        """How long a visit of ``service`` should take."""
        kept = self.clipped.get(service)
        if not kept:
            return self.centre.mean_duration(service, self.now)
        return sum(kept, timedelta()) / len(kept)

    def remaining(self, service: str, elapsed: timedelta) -> timedelta:
        """How much longer a visit that has lasted ``elapsed`` should go on: as
        ``Centre.expected_remaining``, over the clipped visits."""
        kept = self.clipped.get(service)
        if not kept:
            return self.centre.expected_remaining(service, elapsed, self.now)
        mean = self.visit(service)
        if elapsed <= timedelta():
            return mean
        longer = [d for d in kept if d > elapsed]
        if len(longer) >= 3:
            return sum(longer, timedelta()) / len(longer) - elapsed
        return max(mean - elapsed, mean / 4)

    def remaining_spread(self, service: str, elapsed: timedelta) -> list[timedelta]:
        """The ways a visit that has lasted ``elapsed`` may go on, equally likely: each
        recent visit (cut down) longer than it, less ``elapsed``, where ``remaining``
        takes their mean (all the recent visits for one just begun); otherwise
        ``remaining`` alone. Their mean is ``remaining(service, elapsed)``."""
        kept = self.clipped.get(service)
        if kept and elapsed <= timedelta():
            return list(kept)
        if kept:
            longer = [d - elapsed for d in kept if d > elapsed]
            if len(longer) >= 3:
                return longer
        return [self.remaining(service, elapsed)]

    def gone_by(self, waited: timedelta) -> float:
        """The chance a walk-in who has waited ``waited`` has left."""
        if self.patience is None or waited <= timedelta():
            return 0.0
        return 1 - math.exp(-(waited / timedelta(minutes=1)) / self.patience)

    def busy_for(self, ticket_origin: str, service: str, waited: timedelta) -> timedelta:
        """How long a counter should be taken by a visitor of ``service`` called after
        waiting ``waited``: their visit, or for a walk-in who may have gone, the
        visit and ``absent`` weighed by the chance of each."""
        length = self.visit(service)
        if ticket_origin != Origin.WALK_IN:
            return length
        gone = self.gone_by(waited)
        return length * (1 - gone) + self.absent * gone


class TicketStats:
    """What ``learn`` needs from the tickets, kept as they change (``Centre`` calls
    ``remove`` with a ticket as it was and ``add`` with it as it is), so an estimate
    does not pass over the whole day (issue 12): walk-ins called (how many, their
    waits in all), those who were not there (how many, the time each cost), and how
    long before their slot appointments checked in (in order, for the median). Sums
    are of whole microseconds, so a sum kept this way equals one made afresh."""

    def __init__(self) -> None:
        self.called = 0
        self.waited = timedelta()
        self.gone = 0
        self.absent = timedelta()
        self.absent_count = 0
        self.early: list[timedelta] = []

    def add(self, ticket: Ticket) -> None:
        self._count(ticket, 1)

    def remove(self, ticket: Ticket) -> None:
        self._count(ticket, -1)

    def _count(self, t: Ticket, sign: int) -> None:
        if t.appointment_at is not None and t.origin == Origin.APPOINTMENT:
            if sign > 0:
                insort(self.early, t.appointment_at - t.arrival_at)
            else:
                del self.early[bisect_left(self.early, t.appointment_at - t.arrival_at)]
        if t.first_called_at is None or t.origin != Origin.WALK_IN:
            return
        self.called += sign
        self.waited += max(t.first_called_at - t.arrival_at, timedelta()) * sign
        if t.state == TicketState.NO_SHOW:
            self.gone += sign
            if t.finished_at is not None:
                self.absent += (t.finished_at - t.first_called_at) * sign
                self.absent_count += sign


def learn(centre: Centre, now: datetime) -> Learned:
    """Visit lengths, walk-outs and bookings' show rate from ``centre``'s day so far."""
    clipped = {}
    for code, recent in centre.recent_durations.items():
        if len(recent) >= CLIP_FROM:
            cap = _median(list(recent)) * CLIP
            clipped[code] = [min(d, cap) for d in recent]
    stats = centre.ticket_stats
    called, gone = stats.called, stats.gone
    waited = stats.waited / timedelta(minutes=1)
    patience = waited / gone if called >= WALK_OUTS_FROM and gone else None
    # the bookings whose check-in has closed, and how many of them came
    due, came = centre.shows_by(now - centre.policy.checkin_closes)
    return Learned(
        centre,
        clipped,
        patience,
        stats.absent / stats.absent_count if stats.absent_count else ABSENT,
        (came + SHOWS_PRIOR * SHOWS_PRIOR_WEIGHT) / (due + SHOWS_PRIOR_WEIGHT),
        _median(stats.early, presorted=True) if stats.early else timedelta(),
        now,
    )


def _median(values: list[timedelta], presorted: bool = False) -> timedelta:
    """The median of ``values`` (at least one; ``presorted``: already in order)."""
    ordered = values if presorted else sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
