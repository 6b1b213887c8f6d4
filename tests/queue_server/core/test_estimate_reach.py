"""A ticket the estimate's replay cannot reach within its horizon is found without
the replay (``estimate.PRUNE``, issue 12: an estimate's cost must not grow with the
queue): its minutes must be exactly what the whole replay says, for any queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.core import Centre, estimate, estimate_waits
from queue_server.core import commands as cmd
from queue_server.core.model import Counter, Policy, Service

from .conftest import Desk, default_setup

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CODES = ("HOU", "CTX", "BEN")


@st.composite
def centres(draw: st.DrawFn) -> Desk:
    """Three services of random typical visits, three counters of random skills (some
    open, one maybe on a break), a random routing policy, maybe a morning's visits and
    walk-outs already learned, and up to 160 walk-ins waiting."""
    services = tuple(
        Service(
            code,
            code.title(),
            code[0],
            target_wait=timedelta(minutes=draw(st.sampled_from([10, 20, 45]))),
            typical_duration=timedelta(minutes=draw(st.integers(1, 40))),
        )
        for code in CODES
    )
    counters = []
    for name in ("1", "2", "3"):
        skills = draw(st.sets(st.sampled_from(CODES), min_size=1, max_size=3))
        primary = frozenset(draw(st.sets(st.sampled_from(sorted(skills)), min_size=1)))
        counters.append(Counter(name, primary=primary, secondary=frozenset(skills) - primary))
    policy = Policy(routing=draw(st.sampled_from(["rules", "fifo", "standards"])))
    setup = default_setup(services=services, counters=tuple(counters), policy=policy)
    desk = Desk(Centre(setup), NOW)
    opened = draw(st.sets(st.sampled_from(["1", "2", "3"]), min_size=1))
    for name in sorted(opened):
        desk.open(name)
    if draw(st.booleans()):
        # a morning gone by: enough walk-ins called, some of them gone, that patience
        # is learned and the replay shortens the visits of those who waited long
        for _ in range(30):
            desk.issue(draw(st.sampled_from(CODES)))
        desk.advance(minutes=draw(st.integers(1, 120)))
        gone_one_in = draw(st.sampled_from([2, 4, 15, 30]))
        for _ in range(30):
            for name in sorted(opened):
                counter = desk.centre.counters[name]
                if not desk.centre.offer(counter):
                    continue
                desk.call_next(name)
                if draw(st.integers(1, gone_one_in)) == 1:
                    desk.advance(minutes=draw(st.integers(0, 3)))
                    desk.run(cmd.MarkNoShow(actor="staff", counter=name))
                else:
                    desk.start(name)
                    desk.advance(minutes=draw(st.integers(1, 40)))
                    desk.complete(name)
    for _ in range(draw(st.integers(0, 160))):
        desk.issue(draw(st.sampled_from(CODES)))
        desk.advance(seconds=draw(st.integers(0, 90)))
    for _ in range(draw(st.integers(0, 6))):
        counter = draw(st.sampled_from(sorted(opened)))
        if desk.centre.counters[counter].current_ticket is None:
            if any(True for _ in desk.centre.offer(desk.centre.counters[counter])):
                try:
                    desk.call_next(counter)
                except Exception:  # noqa: BLE001 - nothing it may call yet
                    continue
                desk.advance(minutes=draw(st.integers(1, 30)))
                desk.serve(counter)
    if draw(st.booleans()):
        name = sorted(opened)[0]
        if desk.centre.counters[name].current_ticket is None:
            desk.run(cmd.PauseCounter(actor="staff", counter=name))
    return desk


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(centres())
def test_out_of_reach_is_what_the_whole_replay_says(desk: Desk) -> None:
    centre = desk.centre
    wanted = [t.id for t in centre.queued()]
    pruned = estimate_waits(centre, wanted, desk.now)
    with patch.object(estimate, "PRUNE", False):
        replayed = estimate_waits(centre, wanted, desk.now)
    for ticket_id in wanted:
        assert pruned[ticket_id].minutes == replayed[ticket_id].minutes, ticket_id
        if pruned[ticket_id] != replayed[ticket_id]:  # pruned: people by arrival
            assert pruned[ticket_id].minutes is None
            assert 0 <= pruned[ticket_id].people_ahead < len(wanted)


def test_a_long_queue_is_out_of_reach_without_replaying_it() -> None:
    """One counter, 8-minute visits, 100 waiting: the horizon (4 hours) holds 31 calls,
    so the 32nd ticket on is unknown at once, people ahead counted by arrival."""
    setup = default_setup(
        services=(
            Service("HOU", "Housing", "H", target_wait=timedelta(minutes=20)),
            Service("CTX", "Council tax", "C", target_wait=timedelta(minutes=10)),
            Service("BEN", "Benefits", "B", target_wait=timedelta(minutes=15)),
        ),
    )
    setup = replace(setup, counters=setup.counters[:1])
    desk = Desk(Centre(setup), NOW)
    desk.open("1")
    tickets = [desk.issue("HOU") for _ in range(100)]
    desk.advance(seconds=1)
    ids = [t.id for t in tickets]
    replays = []
    real = estimate.choose_next

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        replays.append(1)
        return real(*args, **kwargs)

    # (the replay's own choice, ``estimate.FAST``, off: every step then asks choose_next)
    with patch.object(estimate, "FAST", False), patch.object(estimate, "choose_next", counted):
        last = estimate.estimate_wait(desk.centre, ids[-1], desk.now)
    assert last.minutes is None and last.people_ahead == 99
    assert replays == []  # found without a single step of the replay
    found = estimate_waits(desk.centre, ids, desk.now)
    known = [i for i in ids if found[i].minutes is not None]
    assert len(known) == 31  # called at 0, 8, ..., 240 minutes
    assert found[ids[30]].minutes == 240


def test_walk_outs_learned_bring_more_of_the_queue_within_reach() -> None:
    """With walk-outs learned, the replay takes a long waiter's visit as shorter (they
    may have gone), so it reaches further than the mean visit would: the bound must
    use the shorter time, or it would call out of reach a ticket the replay estimates."""
    setup = default_setup()
    setup = replace(setup, counters=setup.counters[:1])
    desk = Desk(Centre(setup), NOW)
    desk.open("1")
    for _ in range(24):
        desk.issue("HOU")
    desk.advance(minutes=60)
    for n in range(24):  # every other one gone when called, after two minutes' calling
        desk.call_next("1")
        if n % 2:
            desk.advance(minutes=2)
            desk.run(cmd.MarkNoShow(actor="staff", counter="1"))
        else:
            desk.start("1")
            desk.advance(minutes=20)
            desk.complete("1")
    learned = estimate.learn(desk.centre, desk.now)
    assert learned.patience is not None and learned.visit("HOU") == timedelta(minutes=20)
    ids = [desk.issue("HOU").id for _ in range(30)]
    pruned = estimate_waits(desk.centre, ids, desk.now)
    with patch.object(estimate, "PRUNE", False):
        replayed = estimate_waits(desk.centre, ids, desk.now)
    assert [pruned[i].minutes for i in ids] == [replayed[i].minutes for i in ids]
    reached = sum(1 for i in ids if replayed[i].minutes is not None)
    # at the mean visit, 4 hours hold 13 calls; the replay reaches further
    assert 13 < reached < 30
