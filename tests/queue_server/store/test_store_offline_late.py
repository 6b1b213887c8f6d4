"""Offline uploads across midnight, as a property (docs/operations.md, "Offline tickets
uploaded after their day"), on a SQLite file and on PostgreSQL: two kiosks issue from
their blocks of two days through an outage over midnight; their journals are uploaded
in any order, in any chunks, again and again, with restarts of the server (the centre
rebuilt from the database) and reports read between. The server's own steps are taken
for each upload: the close of earlier days first, what is stored of the tickets' days
read (``store.offline.with_earlier_days``), decide, commit, apply.

Whatever the sequence: every uploaded ticket is stored once, in the day it arrived,
never in today's queue if that day is over; nothing else is stored; and each day's
range report (from roll-ups, rebuilt after late writes) equals its figures from the
rows.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.centre import format_number
from queue_server.core.model import CentreSetup
from queue_server.core.offline import days_to_read
from queue_server.reporting import ranges
from queue_server.reporting.reports import Figures, load_and_build, options_for
from queue_server.store import Store
from queue_server.store.offline import with_earlier_days

#: a Tuesday (Greenwich time: the centre's day is the UTC day)
DAY = date(2027, 3, 2)
NEXT = DAY + timedelta(days=1)
START = datetime(2027, 3, 2, 22, 0, tzinfo=UTC)
MIDNIGHT = datetime(2027, 3, 3, 0, 0, tzinfo=UTC)
KIOSKS = ("K1", "K2")
BLOCK = 6


class Server:
    """The server's steps for a command (``QueueServer._execute``), without sockets."""

    def __init__(self, store: Store, setup: CentreSetup, now: datetime) -> None:
        self.store, self.setup = store, setup
        store.register_centre(setup, now)
        self.centre = store.load_centre(setup, now)

    def restart(self, now: datetime) -> None:
        self.centre = self.store.load_centre(self.setup, now)

    def execute(self, command: cmd.Command, now: datetime) -> Any:
        centre = self.centre
        if centre.needs_closing(now):
            close = centre.decide(cmd.CloseDay(actor="system", day=centre.local_day(now)), now)
            self.store.commit(self.setup.centre_id, close.events)
            centre.apply(close.events)
        decision = centre.decide(command, now)
        self.store.commit(self.setup.centre_id, decision.events)
        centre.apply(decision.events)
        return decision

    def upload(self, command: cmd.UploadOffline, now: datetime) -> Any:
        days = days_to_read(self.centre, command, now)
        command = with_earlier_days(self.store, self.setup.centre_id, command, days)
        return self.execute(command, now)


def journal_of(
    centre: Centre, kiosk: str, minutes: list[int], blocks: dict[date, int]
) -> list[tuple[str, datetime, str]]:
    """The kiosk's offline tickets: (number, arrival, key), numbered in turn from its
    block of each arrival's day (``blocks``: that block's first number)."""
    used: dict[date, int] = {}
    journal = []
    for minute in sorted(minutes):
        arrival = START + timedelta(minutes=minute)
        day = centre.local_day(arrival)
        n = used.get(day, 0)
        if n >= BLOCK:
            continue
        used[day] = n + 1
        number = format_number("H", blocks[day] + n)
        journal.append((number, arrival, f"{kiosk}-{number}-{day.isoformat()}"))
    return journal


def figures_differ(ranged: Figures, exact: Figures) -> dict[str, Any]:
    loose = {"wait_p50_seconds", "wait_p90_seconds"}
    return {
        f.name: (getattr(ranged, f.name), getattr(exact, f.name))
        for f in dataclasses.fields(Figures)
        if f.name not in loose and getattr(ranged, f.name) != getattr(exact, f.name)
    }


#: a step after the outage: upload some of a kiosk's journal (indices, repeats allowed),
#: restart the server, or read the day's report (rolled up if it is not)
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("upload"),
            st.sampled_from(KIOSKS),
            st.lists(st.integers(0, 40), min_size=1, max_size=8),
        ),
        st.tuples(st.just("restart")),
        st.tuples(st.just("report")),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    arrivals=st.fixed_dictionaries(
        {k: st.lists(st.integers(1, 239), max_size=10, unique=True) for k in KIOSKS}
    ),
    before_midnight=st.lists(st.integers(0, 40), max_size=4),
    steps=steps,
    upload_hour=st.integers(1, 9),
)
def test_uploads_across_midnight_lose_nothing_and_make_nothing_twice(
    db: Store,
    setup: CentreSetup,
    arrivals: dict[str, list[int]],
    before_midnight: list[int],
    steps: list[tuple[Any, ...]],
    upload_hour: int,
) -> None:
    setup = dataclasses.replace(setup, centre_id=f"p{secrets.token_hex(4)}")
    server = Server(db, setup, START)
    # each day's blocks: K1's first (001-006), then K2's (007-012)
    blocks = {k: {DAY: 1 + i * BLOCK, NEXT: 1 + i * BLOCK} for i, k in enumerate(KIOSKS)}
    journals = {k: journal_of(server.centre, k, arrivals[k], blocks[k]) for k in KIOSKS}

    def lease(day: date, at: datetime) -> None:
        for kiosk in KIOSKS:
            lease = cmd.LeaseNumbers(
                actor=f"kiosk:{kiosk}",
                kiosk=kiosk,
                service="housing",
                day=day,
                size=BLOCK,
                key=f"lease-{kiosk}-{day}",
            )
            assert server.execute(lease, at).block.first == blocks[kiosk][day]

    uploaded: set[str] = set()

    def upload(kiosk: str, picks: list[int], now: datetime) -> None:
        journal = [e for e in journals[kiosk] if e[1] <= now]
        if not journal:
            return
        chosen = [journal[i % len(journal)] for i in picks]
        command = cmd.UploadOffline(
            actor=f"kiosk:{kiosk}",
            kiosk=kiosk,
            tickets=tuple(
                cmd.OfflineTicket(
                    number=number,
                    service="housing",
                    arrival_at=arrival,
                    idempotency_key=key,
                    ticket_id=secrets.token_urlsafe(16),
                )
                for number, arrival, key in chosen
            ),
        )
        decision = server.upload(command, now)
        for (_, _, key), outcome in zip(chosen, decision.outcomes, strict=True):
            assert outcome.status in ("accepted", "already"), outcome.message
            assert (outcome.status == "accepted") == (key not in uploaded)
            uploaded.add(key)

    lease(DAY, START)
    # one kiosk's link comes back for a moment before midnight
    if before_midnight:
        upload(KIOSKS[0], before_midnight, MIDNIGHT - timedelta(minutes=1))
    lease(NEXT, MIDNIGHT + timedelta(seconds=30))  # the first command: the close of DAY
    now = MIDNIGHT + timedelta(hours=upload_hour)
    for step in steps:
        now += timedelta(minutes=7)
        if step[0] == "upload":
            upload(step[1], step[2], now)
        elif step[0] == "restart":
            server.restart(now)
        else:
            ranges.range_report(
                db,
                DAY,
                DAY,
                setup.centre_id,
                "day",
                now,
                centres={setup.centre_id: (setup.tz, options_for(setup))},
            )

    # every ticket uploaded is stored once, in the day it arrived
    expected = {
        key: (number, arrival)
        for kiosk in KIOSKS
        for number, arrival, key in journals[kiosk]
        if key in uploaded
    }
    rows = [*db.tickets_for_day(setup.centre_id, DAY), *db.tickets_for_day(setup.centre_id, NEXT)]
    stored = {r.idempotency_key: r for r in rows}
    assert len(stored) == len(rows), "a ticket stored twice"
    assert set(stored) == set(expected)
    for key, (number, arrival) in expected.items():
        row = stored[key]
        assert row.number == number
        assert row.arrival_at.replace(tzinfo=UTC) == arrival
        assert row.day == server.centre.local_day(arrival)
        if row.day == DAY:
            assert row.state == "cancelled"  # ended by its day's close, never queued today
    assert all(t.day == NEXT for t in server.centre.queued())
    # each day's report from its roll-up equals its figures from the rows
    later = now + timedelta(hours=1)
    centres = {setup.centre_id: (setup.tz, options_for(setup))}
    for day in (DAY,):
        exact = load_and_build(db, day, setup.centre_id, later, **options_for(setup)).overall
        assert exact.issued == sum(1 for r in rows if r.day == day)
        ranged = ranges.range_report(
            db, day, day, setup.centre_id, "day", later, centres=centres
        ).overall
        assert figures_differ(ranged, exact) == {}
