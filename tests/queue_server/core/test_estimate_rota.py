"""The wait estimate with the centre's rota (``CentreSetup.rota``, docs/rota.md): a
counter's adviser goes on a break once the visit in hand ends and is back after its
length, goes home at the end of a shift, and a paused counter on a rota break is back
when that break ends. Every service's typical visit is 8 minutes; counter 1 takes
Housing, counter 2 Council Tax then Housing; the centre is in London (BST in June,
so 10:00 local is 09:00 UTC)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from queue_server.config import ConfigError, parse_config
from queue_server.core import Centre, estimate_wait
from queue_server.core import commands as cmd
from queue_server.core.model import CounterRota

from .conftest import MONDAY_10AM, Desk, default_setup

STAFF = "staff:jsmith"
CENTRE = (Path(__file__).parents[3] / "examples" / "centre.toml").read_text(encoding="utf-8")


def minutes(desk: Desk, ticket_id: str) -> int | None:
    return estimate_wait(desk.centre, ticket_id, desk.now).minutes


def desk_with(*rota: CounterRota, now: datetime = MONDAY_10AM) -> Desk:
    return Desk(Centre(default_setup(rota=rota)), now)


def one_busy_counter(desk: Desk) -> str:
    """Counter 1 open and serving a Housing visitor from now; a second one waits."""
    desk.open("1")
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    return desk.issue("HOU").id


def test_a_break_due_is_taken_after_the_visit_in_hand():
    """Counter 1's 30-minute break is due at 10:05 (local): the visitor waiting is
    called after the visit in hand (8 minutes) and the break, 38 minutes; without the
    rota, 8. A break due later than the visitor's call changes nothing."""
    plain = desk_with()
    assert minutes(plain, one_busy_counter(plain)) == 8
    soon = desk_with(
        CounterRota("1", ((time(9), time(17)),), ((time(10, 5), timedelta(minutes=30)),))
    )
    assert minutes(soon, one_busy_counter(soon)) == 38
    later = desk_with(
        CounterRota("1", ((time(9), time(17)),), ((time(10, 9), timedelta(minutes=30)),))
    )
    assert minutes(later, one_busy_counter(later)) == 8
    # a break already over by the plan (09:00-09:30) is taken to have been taken
    over = desk_with(CounterRota("1", ((time(9), time(17)),), ((time(9), timedelta(minutes=30)),)))
    assert minutes(over, one_busy_counter(over)) == 8


def test_the_end_of_a_shift_and_the_next_one():
    """Counter 1's shift ends at 10:05: the visitor waiting is not reached today
    (unknown minutes) unless a later shift brings the counter back (at 11:00 local, so
    60 minutes from now)."""
    home = desk_with(CounterRota("1", ((time(9), time(10, 5)),)))
    assert minutes(home, one_busy_counter(home)) is None
    split = desk_with(CounterRota("1", ((time(9), time(10, 5)), (time(11), time(17)))))
    assert minutes(split, one_busy_counter(split)) == 60


def paused_then_three_waiting(desk: Desk, paused_for: float) -> str:
    """Counter 2 paused at 10:00; ``paused_for`` minutes later counter 1 starts a
    Housing visit (8 minutes) and three Council Tax visitors come (both counters take
    it): the third's ticket id."""
    desk.open("1")
    desk.open("2")
    desk.run(cmd.PauseCounter(actor=STAFF, counter="2"))
    desk.advance(paused_for)
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    return [desk.issue("CTX") for _ in range(3)][-1].id


def test_a_paused_counter_on_a_rota_break_is_back_when_it_ends():
    """Counter 2 paused at 10:00 for its 30-minute break due then; at 10:10 the third
    Council Tax visitor waits for counter 1 (free 10:18) to take the first and for the
    second to go first to counter 2, back at 10:30 by the rota: 10:18 first, 10:26
    second (counter 1 again), 10:30 third, 20 minutes. Without the rota counter 2 is
    taken to be back 15 minutes from now (10:25): 10:18, 10:25, 10:26, 16 minutes."""
    rota = CounterRota("2", ((time(9), time(17)),), ((time(10), timedelta(minutes=30)),))
    planned = desk_with(rota)
    assert minutes(planned, paused_then_three_waiting(planned, 10)) == 20
    plain = desk_with()
    assert minutes(plain, paused_then_three_waiting(plain, 10)) == 16


def test_an_overrunning_break_is_over_any_moment():
    """Still paused at 10:40, ten minutes after the break should have ended: counter 2
    is taken to be back now (first visitor now, third at 10:48, 8 minutes), not 15
    minutes from now (16)."""
    rota = CounterRota("2", ((time(9), time(17)),), ((time(10), timedelta(minutes=30)),))
    planned = desk_with(rota)
    assert minutes(planned, paused_then_three_waiting(planned, 40)) == 8
    plain = desk_with()
    assert minutes(plain, paused_then_three_waiting(plain, 40)) == 16


def test_a_pause_far_from_any_break_is_not_one():
    """Paused at 10:00 with the rota's only break at 13:00: an unplanned pause, back in
    ``PAUSE_BACK_IN`` (15 minutes) as without a rota."""
    rota = CounterRota("2", ((time(9), time(17)),), ((time(13), timedelta(minutes=30)),))
    planned = desk_with(rota)
    assert minutes(planned, paused_then_three_waiting(planned, 10)) == 16


def test_the_rota_comes_from_the_centres_file():
    """``[[rota]]`` in the centre's file is the core's rota, in order, and a counter
    the file does not have, or a break outside the shifts, is refused by name."""
    config = parse_config(
        CENTRE
        + """
[[rota]]
counter = "Counter 2"
shifts = ["13:00-17:00", "08:55-12:00"]
breaks = [{ start = "15:00", minutes = 15 }, { start = "10:30", minutes = 15 }]
"""
    )
    assert config.to_setup().rota == (
        CounterRota(
            "Counter 2",
            ((time(8, 55), time(12)), (time(13), time(17))),
            ((time(10, 30), timedelta(minutes=15)), (time(15), timedelta(minutes=15))),
        ),
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(
            CENTRE
            + """
[[rota]]
counter = "Countr 2"
shifts = ["08:55-12:00"]
breaks = [{ start = "12:30", minutes = 15 }]
""",
            "centre.toml",
        )
    assert str(refused.value).splitlines() == [
        'centre.toml: rota[0].counter: "Countr 2" is not a counter; did you mean "Counter 2"?',
        "centre.toml: rota[0].breaks[0]: 12:30-12:45 is not within one of the shifts"
        ' ("08:55-12:00"); move the break inside a shift or shorten it',
    ]


def test_back_to_back_shifts_are_one_working_day():
    """A counter handed over at 10:05 (one shift ends as the next begins) keeps
    working through it: the same estimates as one shift all day, never a visitor
    called at a desk still busy."""
    one = desk_with(CounterRota("1", ((time(9), time(17)),)))
    handover = desk_with(CounterRota("1", ((time(9), time(10, 5)), (time(10, 5), time(17)))))
    found = []
    for desk in (one, handover):
        desk.open("1")
        desk.issue("HOU")
        desk.call_next("1")
        desk.start("1")
        queue = [desk.issue("HOU") for _ in range(3)]
        found.append([minutes(desk, t.id) for t in queue])
    assert found[0] == found[1] == [8, 16, 24]


def test_every_shift_still_to_end_ends():
    """Shifts 09:00-10:05 and 10:10-10:20: the counter goes at 10:05 (after its visit,
    at 10:08), is back at 10:10 and goes again at 10:20, so the fourth visitor is not
    reached today. A counter opened before its shift (10:30-10:50, at 10:00) works
    until that shift ends."""
    split = desk_with(CounterRota("1", ((time(9), time(10, 5)), (time(10, 10), time(10, 20)))))
    split.open("1")
    split.issue("HOU")
    split.call_next("1")
    split.start("1")
    queue = [split.issue("HOU") for _ in range(4)]
    assert [minutes(split, t.id) for t in queue] == [10, 18, None, None]
    early = desk_with(CounterRota("1", ((time(10, 30), time(10, 50)),)))
    early.open("1")
    queue = [early.issue("HOU") for _ in range(8)]
    assert [minutes(early, t.id) for t in queue] == [0, 8, 16, 24, 32, 40, 48, None]


def test_a_break_taken_is_not_taken_again():
    """The 10:00 break (30 minutes) cut short: paused 10:00-10:20, so at 10:21 it is
    over, and the visitor waiting goes next (8 minutes, the visit in hand). Taken
    early (09:40-10:10) it is over too. A two-minute pause at 09:50 is not the break:
    still due, the visitor waits for it (8 + 30)."""
    rota = CounterRota("1", ((time(9), time(17)),), ((time(10), timedelta(minutes=30)),))
    for paused_at, paused_for, expected in ((0, 20, 8), (-20, 30, 8), (-10, 2, 38)):
        desk = desk_with(rota, now=MONDAY_10AM + timedelta(minutes=paused_at))
        desk.open("1")
        desk.run(cmd.PauseCounter(actor=STAFF, counter="1"))
        desk.advance(paused_for)
        desk.run(cmd.ResumeCounter(actor=STAFF, counter="1"))
        desk.at(max(desk.now, MONDAY_10AM + timedelta(minutes=21)))
        assert minutes(desk, one_busy_counter_open(desk)) == expected, (paused_at, paused_for)


def one_busy_counter_open(desk: Desk) -> str:
    """Counter 1, already open, starts a Housing visit; a second visitor waits."""
    desk.issue("HOU")
    desk.call_next("1")
    desk.start("1")
    return desk.issue("HOU").id


def test_a_closed_counter_opens_at_the_start_of_its_shift():
    """Counter 3 (Benefits only) is closed, its adviser's shift starting at 10:30: a
    Benefits visitor is estimated from then (30 minutes) instead of not at all, while
    a second Housing visitor waits for counter 1's visit in hand (8 minutes). With
    counter 2 (Council Tax, then Housing) starting at 10:03, that Housing visitor goes
    to counter 2 then: 3 minutes."""
    plain = desk_with()
    housing = one_busy_counter(plain)
    benefits = plain.issue("BEN").id
    assert (minutes(plain, housing), minutes(plain, benefits)) == (8, None)
    later = desk_with(CounterRota("3", ((time(10, 30), time(17)),)))
    housing = one_busy_counter(later)
    benefits = later.issue("BEN").id
    assert (minutes(later, housing), minutes(later, benefits)) == (8, 30)
    soon = desk_with(CounterRota("2", ((time(10, 3), time(17)),)))
    assert minutes(soon, one_busy_counter(soon)) == 3


def test_a_closed_counter_whose_shift_has_begun_is_not_brought_in():
    """Counter 3's shift began at 09:00 and it is still closed at 10:00 (its adviser
    is late, or away today): nothing is expected of it, unless it has a later shift
    today, from whose start it is (11:00 local: 60 minutes); a break due before that
    start is not its."""
    late = desk_with(CounterRota("3", ((time(9), time(17)),)))
    one_busy_counter(late)
    assert minutes(late, late.issue("BEN").id) is None
    split = desk_with(
        CounterRota(
            "3",
            ((time(9), time(10)), (time(11), time(17))),
            ((time(10, 30), timedelta(minutes=30)), (time(11, 1), timedelta(minutes=20))),
        )
    )
    one_busy_counter(split)
    first, second = split.issue("BEN").id, split.issue("BEN").id
    # 11:00 the first; its visit (8 minutes) ends 11:08, then the 11:01 break (20
    # minutes, due once the visit is over): the second at 11:28
    assert (minutes(split, first), minutes(split, second)) == (60, 88)
