"""Visitors who ask for assistance (issue 14 item 5) in the core: a head start in the
queue of their service, a counter with what they need, an adviser who speaks their
language; and "call next" offered a handful of tickets still chooses as from them all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import InvalidRequest
from queue_server.core.estimate import estimate_wait
from queue_server.core.model import AssistanceCategory, Counter, Policy
from queue_server.core.routing import choose_next

from .conftest import MONDAY_10AM, Desk, default_setup

WHEELCHAIR = AssistanceCategory(
    "wheelchair", "Wheelchair user", priority_minutes=0, needs=frozenset({"step_free"})
)
UNWELL = AssistanceCategory("unwell", "Feeling unwell", priority_minutes=15)
INTERPRETER = AssistanceCategory("interpreter", "Needs an interpreter", same_language=True)
HEARING = AssistanceCategory("hearing_loop", "Hearing loop", needs=frozenset({"loop"}))
CATEGORIES = (WHEELCHAIR, UNWELL, INTERPRETER, HEARING)

COUNTERS = (
    # both take housing; only counter 2 is step-free with a loop, only 3 speaks Urdu
    Counter("1", primary=frozenset({"HOU"}), secondary=frozenset({"CTX"})),
    Counter(
        "2",
        primary=frozenset({"CTX"}),
        secondary=frozenset({"HOU"}),
        features=frozenset({"step_free", "loop"}),
    ),
    Counter("3", primary=frozenset({"HOU", "BEN"}), languages=frozenset({"ur"})),
)


def assisted_desk(policy: Policy | None = None) -> Desk:
    setup = default_setup(assistance=CATEGORIES, counters=COUNTERS, policy=policy or Policy())
    return Desk(Centre(setup), MONDAY_10AM)


def test_an_unknown_category_is_refused_by_name(refuse) -> None:
    desk = assisted_desk()
    error = refuse(
        desk,
        cmd.IssueTicket(
            actor="kiosk:Lobby",
            service="HOU",
            ticket_id="t-x",
            idempotency_key="k-x",
            assistance=("jetpack",),
        ),
    )
    assert isinstance(error, InvalidRequest)
    assert error.details["field"] == "assistance" and "'jetpack'" in error.message


def test_the_ticket_carries_its_categories_head_start_and_needs() -> None:
    desk = assisted_desk()
    ticket = desk.issue("HOU", assistance=("unwell", "interpreter", "wheelchair"), language="ur")
    assert ticket.assistance == ("unwell", "interpreter", "wheelchair")
    assert ticket.head_start == timedelta(minutes=15)
    assert ticket.needs == frozenset({"step_free", "language:ur"})
    # an interpreter is no need for a visitor who chose English
    assert desk.issue("HOU", assistance=("interpreter",)).needs == frozenset()


def test_priority_is_a_head_start_within_the_service() -> None:
    desk = assisted_desk()
    desk.open("1")
    first = desk.issue("HOU")
    desk.advance(10)
    unwell = desk.issue("HOU", assistance=("unwell",))  # 10 minutes later, 15 ahead
    desk.advance(1)
    assert desk.call_next("1").id == unwell.id
    desk.serve("1")
    assert desk.call_next("1").id == first.id
    # the head start is a bound, not a jump over everyone: 20 minutes later, no
    desk.serve("1")
    early = desk.issue("HOU")
    desk.advance(20)
    late = desk.issue("HOU", assistance=("unwell",))
    assert desk.call_next("1").id == early.id
    assert desk.centre.tickets[late.id].arrival_at > desk.centre.tickets[early.id].arrival_at


def test_the_longest_wait_is_from_the_real_arrival_not_the_head_start() -> None:
    # issue 14: the board's and dashboard's "longest wait" was the first in the queue's
    # order's time, which for a priority visitor is their arrival less the head start
    desk = assisted_desk()
    unwell = desk.issue("HOU", assistance=("unwell",))  # 15 minutes' head start
    desk.advance(2)
    assert desk.centre.queued()[0].id == unwell.id
    count, oldest = desk.centre.waiting_by_service()["HOU"]
    assert (count, oldest) == (1, unwell.arrival_at)
    # a walk-in who came earlier but stands behind them: theirs is the longest wait
    desk.advance(1)
    earlier = desk.issue("CTX")
    desk.advance(5)
    late_unwell = desk.issue("CTX", assistance=("unwell",))
    assert [t.id for t in desk.centre.queued() if t.service == "CTX"] == [
        late_unwell.id,
        earlier.id,
    ]
    assert desk.centre.waiting_by_service()["CTX"] == (2, earlier.arrival_at)


def test_a_visitor_who_needs_something_waits_for_a_counter_that_has_it() -> None:
    desk = assisted_desk()
    desk.open("1")
    wheelchair = desk.issue("HOU", assistance=("wheelchair",))
    desk.advance(1)
    other = desk.issue("HOU")
    # counter 1 is not step-free: it passes over them to the next
    assert desk.call_next("1").id == other.id
    assert estimate_wait(desk.centre, wheelchair.id, desk.now).minutes is None
    desk.open("2")
    assert estimate_wait(desk.centre, wheelchair.id, desk.now).minutes == 0
    assert desk.call_next("2").id == wheelchair.id


def test_an_interpreter_is_an_adviser_who_speaks_the_language() -> None:
    desk = assisted_desk()
    desk.open("1")
    desk.open("3")
    urdu = desk.issue("HOU", assistance=("interpreter",), language="ur")
    polish = desk.issue("HOU", assistance=("interpreter",), language="pl")
    plain = desk.issue("HOU")
    assert desk.call_next("1").id == plain.id
    assert desk.call_next("3").id == urdu.id
    # nobody speaks Polish: no open counter can take it, and the estimate says so
    assert estimate_wait(desk.centre, polish.id, desk.now).minutes is None


def test_help_asked_at_check_in_fixes_the_needs_but_gives_no_head_start(refuse) -> None:
    """The same categories as at issue (``Centre.assisted``), but an appointment is
    already protected by its own 10-minute clock: a head start would only reorder it
    among other appointments, so it gets the counter it needs and nothing more."""
    desk = assisted_desk()
    desk.book("RB-1", "HOU", desk.now + timedelta(minutes=10))
    desk.book("RB-2", "HOU", desk.now + timedelta(minutes=10))
    error = refuse(
        desk,
        cmd.CheckIn(
            actor="kiosk:Lobby",
            ref="RB-1",
            ticket_id="t-x",
            idempotency_key="k-x",
            assistance=("wheelchair", "jetpack"),
        ),
    )
    assert isinstance(error, InvalidRequest)
    assert error.details["field"] == "assistance" and "'jetpack'" in error.message
    assert desk.centre.find_appointment("RB-1").status.value == "booked"  # not used up

    ticket = desk.check_in("rb-1", assistance=("unwell", "wheelchair", "interpreter"))
    assert ticket.origin.value == "appointment"
    assert ticket.assistance == ("unwell", "wheelchair", "interpreter")
    assert ticket.needs == frozenset({"step_free"})  # English: no interpreter needed
    assert ticket.head_start == timedelta()
    assert ticket.queued_since == ticket.arrival_at
    urdu = desk.check_in("RB-2", assistance=("interpreter",), language="ur")
    assert urdu.needs == frozenset({"language:ur"})


def test_a_checked_in_wheelchair_user_waits_for_a_step_free_counter() -> None:
    desk = assisted_desk()
    desk.book("RB-1", "HOU", desk.now)
    desk.open("1")
    booked = desk.check_in("RB-1", assistance=("wheelchair",))
    walk_in = desk.issue("HOU")
    # the appointment comes first on its clock, but counter 1 is not step-free
    assert desk.call_next("1").id == walk_in.id
    assert estimate_wait(desk.centre, booked.id, desk.now).minutes is None
    desk.open("2")
    assert desk.call_next("2").id == booked.id


def test_late_arrivals_keep_their_help() -> None:
    """Late but inside the late window: still an appointment (needs only). Too late
    to check in: a walk-in ticket with ``late_appointment_ref``, which is a walk-in
    like any other and gets the head start too."""
    desk = assisted_desk()
    desk.book("RB-LATE", "HOU", desk.now - timedelta(minutes=40))
    desk.book("RB-GONE", "HOU", desk.now - timedelta(minutes=90))
    late = desk.check_in("RB-LATE", assistance=("unwell", "wheelchair"))
    assert (late.origin.value, late.head_start) == ("appointment", timedelta())
    assert late.needs == frozenset({"step_free"})
    walk_in = desk.issue("HOU", late_appointment_ref="RB-GONE", assistance=("unwell",))
    assert (walk_in.origin.value, walk_in.head_start) == ("walk_in", timedelta(minutes=15))
    assert desk.centre.find_appointment("RB-GONE").status.value == "late"


ASSISTANCE = st.lists(st.sampled_from([c.code for c in CATEGORIES]), max_size=2, unique=True)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["HOU", "CTX", "BEN"]),
            ASSISTANCE,
            st.sampled_from(["en", "ur", "pl"]),
            st.integers(0, 12),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["rules", "fifo"]),
)
def test_call_next_chooses_from_the_offer_as_from_the_whole_queue(visitors, routing) -> None:
    desk = assisted_desk(Policy(routing=routing))
    for service, assistance, language, minutes in visitors:
        desk.issue(service, assistance=tuple(assistance), language=language)
        desk.advance(minutes)
    centre = desk.centre
    for name in ("1", "2", "3"):
        counter = replace(centre.counters[name])
        everyone = choose_next(counter, centre.queued(), centre.services, centre.policy, desk.now)
        offered = choose_next(
            counter, centre.offer(counter), centre.services, centre.policy, desk.now
        )
        assert offered == everyone
        if offered is not None:
            assert counter.equipped_for(offered)
