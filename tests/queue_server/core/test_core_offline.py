"""Blocks of numbers leased to kiosks, and the tickets they issued offline (issue 13
item 4): ``queue_server/core/offline.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_server.core import commands as cmd
from queue_server.core import events as ev
from queue_server.core.errors import Conflict, InvalidRequest
from queue_server.core.model import AssistanceCategory, Counter
from queue_server.core.offline import MAX_BLOCK, offline_summary

from .conftest import MONDAY_10AM


def lease(desk, kiosk="Lobby 1", service="HOU", size=5, key=None, day=None):
    key = key or f"lease-{kiosk}-{service}-{desk.now.isoformat()}-{size}"
    return desk.run(
        cmd.LeaseNumbers(
            actor=f"kiosk:{kiosk}",
            kiosk=kiosk,
            service=service,
            day=day or desk.centre.local_day(desk.now),
            size=size,
            key=key,
        )
    ).block


def offline(number, arrival, key, service="HOU", ticket_id=None, assistance=(), language="en"):
    return cmd.OfflineTicket(
        number=number,
        service=service,
        arrival_at=arrival,
        idempotency_key=key,
        ticket_id=ticket_id or f"id-{key}",
        assistance=assistance,
        language=language,
    )


def upload(desk, kiosk, *tickets, since=None, back=None):
    return desk.run(
        cmd.UploadOffline(
            actor=f"kiosk:{kiosk}",
            kiosk=kiosk,
            tickets=tuple(tickets),
            offline_since=since,
            back_at=back,
        )
    )


def test_a_block_moves_the_days_numbers_past_it_and_two_never_overlap(make_desk):
    desk = make_desk()
    first = desk.issue("HOU")
    a = lease(desk, "Lobby 1", size=5)
    b = lease(desk, "Lobby 2", size=3)
    after = desk.issue("HOU")
    assert first.number == "H001"
    assert (a.first, a.last) == (2, 6) and (b.first, b.last) == (7, 9)
    assert after.number == "H010"
    # the same key again: the same block, no event
    again = desk.centre.decide(
        cmd.LeaseNumbers(
            actor="kiosk:Lobby 1",
            kiosk="Lobby 1",
            service="HOU",
            day=a.day,
            size=5,
            key=a.key,
        ),
        desk.now,
    )
    assert again.events == () and again.block == a


def test_a_lease_is_for_today_only_and_of_a_sensible_size(make_desk):
    desk = make_desk()
    with pytest.raises(InvalidRequest, match="today"):
        lease(desk, day=desk.centre.local_day(desk.now) + timedelta(days=1))
    with pytest.raises(InvalidRequest, match="1 to"):
        lease(desk, size=MAX_BLOCK + 1)
    with pytest.raises(InvalidRequest, match="1 to"):
        lease(desk, size=0)
    for n in range(2):
        lease(desk, size=MAX_BLOCK, key=f"k{n}")
    with pytest.raises(Conflict, match="unused"):
        lease(desk, size=1, key="one more")


def test_an_upload_puts_each_ticket_at_its_arrival_and_only_once(make_desk):
    desk = make_desk()
    desk.open("1")
    block = lease(desk, size=5)
    desk.issue("HOU")  # H006, online at 10:00
    t0 = desk.now
    desk.advance(minutes=10)
    desk.issue("HOU")  # H007, online at 10:10
    # offline meanwhile: H001 at 09:58 would be before the lease; these at 10:05, 10:06
    desk.advance(minutes=5)
    decision = upload(
        desk,
        "Lobby 1",
        offline("H002", t0 + timedelta(minutes=6), "a2"),
        offline("H001", t0 + timedelta(minutes=5), "a1"),
        since=t0 + timedelta(minutes=4),
        back=t0 + timedelta(minutes=15),
    )
    assert [o.status for o in decision.outcomes] == ["accepted", "accepted"]
    assert block.first == 1
    order = [t.number for t in desk.centre.queued()]
    assert order == ["H006", "H001", "H002", "H007"]
    assert desk.call_next("1").number == "H006"
    kinds = [e.kind for e in decision.events]
    assert kinds == ["ticket_uploaded", "ticket_uploaded", "offline_run"]
    # the same upload again: acknowledged with the same tickets, nothing new
    again = upload(
        desk,
        "Lobby 1",
        offline("H002", t0 + timedelta(minutes=6), "a2", ticket_id="other-id"),
        offline("H001", t0 + timedelta(minutes=5), "a1"),
        since=t0 + timedelta(minutes=4),
        back=t0 + timedelta(minutes=15),
    )
    assert again.events == ()
    assert [o.status for o in again.outcomes] == ["already", "already"]
    assert again.outcomes[0].ticket.id == "id-a2"
    summary = offline_summary(desk.centre, desk.now)
    assert summary["seconds"] == 11 * 60 and summary["tickets"] == 2


def test_bad_tickets_are_refused_one_by_one_and_lose_nothing_else(make_desk):
    desk = make_desk()
    lease(desk, "Lobby 1", size=3)  # H001-H003
    lease(desk, "Lobby 2", size=3)  # H004-H006
    desk.issue("HOU")  # H007
    now = desk.advance(minutes=5)
    earlier = now - timedelta(minutes=1)
    decision = upload(
        desk,
        "Lobby 1",
        offline("H001", earlier, "ok1"),
        offline("H004", earlier, "theirs"),  # Lobby 2's block
        offline("H007", earlier, "online"),  # not a block number at all
        offline("H002", now + timedelta(hours=1), "future"),
        offline("H002", now - timedelta(days=1), "yesterday"),
        offline("C001", earlier, "wrong prefix"),
        offline("H002", earlier, "ok2", service="ZZZ"),
        offline("H001", earlier, "twice"),  # H001 given above
        offline("H003", now + timedelta(seconds=30), "a fast clock"),
        offline("H002", earlier, "ok2"),
    )
    statuses = {o.key: (o.status, o.code) for o in decision.outcomes}
    assert statuses == {
        "ok1": ("accepted", None),
        "theirs": ("refused", "forbidden"),
        "online": ("refused", "forbidden"),
        "future": ("refused", "invalid_request"),
        # its day's blocks were not this kiosk's (an earlier day's ticket is taken into
        # that day only from that day's block)
        "yesterday": ("refused", "forbidden"),
        "wrong prefix": ("refused", "invalid_request"),
        "ok2": ("accepted", None),
        "twice": ("refused", "conflict"),
        "a fast clock": ("accepted", None),
    }
    fast = desk.centre.ticket_by_key("a fast clock")
    assert fast.arrival_at == now  # a little ahead: arrives now
    numbers = sorted(t.number for t in desk.centre.tickets.values())
    assert numbers == ["H001", "H002", "H003", "H007"]


def test_runs_of_several_kiosks_that_overlap_are_one_span(make_desk):
    desk = make_desk()
    lease(desk, "Lobby 1")
    lease(desk, "Lobby 2")
    t0 = desk.now
    desk.advance(minutes=30)
    upload(desk, "Lobby 1", since=t0 + timedelta(minutes=1), back=t0 + timedelta(minutes=3))
    upload(desk, "Lobby 2", since=t0 + timedelta(minutes=2), back=t0 + timedelta(minutes=4))
    upload(desk, "Lobby 2", since=t0 + timedelta(minutes=10), back=t0 + timedelta(minutes=11))
    summary = offline_summary(desk.centre, desk.now)
    assert summary["seconds"] == 4 * 60
    assert len(summary["spans"]) == 2
    assert summary["kiosks"] == ["Lobby 1", "Lobby 2"]


def test_events_replayed_rebuild_the_blocks_and_runs(make_desk):
    desk = make_desk(now=MONDAY_10AM)
    log = []
    for command in (
        cmd.LeaseNumbers(
            actor="k",
            kiosk="K",
            service="HOU",
            day=desk.centre.local_day(desk.now),
            size=4,
            key="L1",
        ),
    ):
        decision = desk.run(command)
        log.extend(decision.events)
    desk.advance(minutes=2)
    decision = upload(desk, "K", offline("H002", desk.now - timedelta(minutes=1), "x"))
    log.extend(decision.events)
    assert any(isinstance(e, ev.OfflineRunRecorded) for e in log)
    from queue_server.core import Centre

    rebuilt = Centre(desk.centre.setup)
    rebuilt.apply(log)
    assert rebuilt.blocks == desk.centre.blocks
    assert rebuilt.offline_runs == desk.centre.offline_runs
    assert rebuilt.sequences == desk.centre.sequences
    assert rebuilt.numbers == desk.centre.numbers


def test_help_asked_offline_is_applied_as_at_issue_and_an_unknown_code_is_dropped(make_desk):
    """Head start from the real arrival and the needs, as ``issue_ticket`` gives them;
    a code the centre does not offer is dropped with a reason, never the ticket."""
    desk = make_desk(
        assistance=(
            AssistanceCategory("unwell", "Unwell", priority_minutes=15),
            AssistanceCategory("wheelchair", "Wheelchair", needs=frozenset({"step_free"})),
            AssistanceCategory("interpreter", "Interpreter", same_language=True),
        ),
        counters=(Counter("1", primary=frozenset({"HOU"}), features=frozenset({"step_free"})),),
    )
    block = lease(desk, size=3)
    arrival = desk.now
    desk.advance(5)
    decision = upload(
        desk,
        "Lobby 1",
        offline("H001", arrival, "off-1", assistance=("unwell", "interpreter"), language="pl"),
        offline("H002", arrival, "off-2", assistance=("wheelchair", "lift", "ramp")),
        offline("H003", arrival, "off-3", assistance=("lift",)),
    )
    assert block.first == 1
    first, second, third = decision.outcomes
    assert [o.status for o in decision.outcomes] == ["accepted"] * 3
    ticket = first.ticket
    assert ticket.assistance == ("unwell", "interpreter")
    assert ticket.head_start == timedelta(minutes=15)
    assert ticket.queued_since == arrival - timedelta(minutes=15)  # from the real arrival
    assert ticket.needs == frozenset({"language:pl"})
    assert (first.dropped, first.message) == ((), None)

    assert second.ticket.assistance == ("wheelchair",)
    assert second.ticket.needs == frozenset({"step_free"})
    assert second.dropped == ("lift", "ramp")
    assert "H002" in second.message and "'lift', 'ramp'" in second.message
    assert third.ticket.assistance == () and third.ticket.needs == frozenset()
    assert third.dropped == ("lift",)
    # the audit row says why: the event's reason
    uploaded = {e.ticket.number: e for e in decision.events if isinstance(e, ev.TicketUploaded)}
    assert uploaded["H001"].reason is None
    assert uploaded["H002"].reason == second.message
    assert uploaded["H003"].reason == third.message

    # the same tickets again: "already", nothing dropped twice
    again = upload(desk, "Lobby 1", offline("H002", arrival, "off-2", assistance=("lift",)))
    assert [(o.status, o.dropped) for o in again.outcomes] == [("already", ())]
