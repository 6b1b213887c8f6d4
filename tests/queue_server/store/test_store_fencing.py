"""Issue 13, item 1: one writer per centre, enforced by the database. Each server that
becomes a centre's active one takes the next epoch (``Store.take_lease``), and every
write transaction it makes first checks the epoch is still its own: a server that lost
its centre while paused or cut off from the database can never commit after another
took over. On a SQLite file and a PostgreSQL database of the test's own."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import NotActive
from queue_server.net.serving import start_setup
from queue_server.store import Store
from queue_server.store.repository import CentreTaken, TakeoverBlocked

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def url(empty_url: str) -> str:
    store = Store(empty_url)
    store.migrate()
    store.close()
    return empty_url


def issue_events(store: Store, setup: Any, n: int) -> Any:
    centre = store.load_centre(setup, NOW)
    decision = centre.decide(
        cmd.IssueTicket(
            actor="kiosk:test", service="housing", ticket_id=f"t{n}", idempotency_key=f"k{n}"
        ),
        NOW,
    )
    return decision.events


def test_each_takeover_takes_the_next_epoch_and_the_old_writer_is_refused(
    url: str, setup: Any
) -> None:
    first, second = Store(url), Store(url)
    try:
        assert first.take_lease("demo", "host-a pid 1", NOW) == 1
        first.commit("demo", issue_events(first, setup, 1))  # its own epoch: written
        assert second.take_lease("demo", "host-b pid 2", NOW) == 2
        assert second.lease("demo")[:3] == (2, "host-b pid 2", NOW)
        with pytest.raises(NotActive, match=r"another server took over \(host-b pid 2\)"):
            first.commit("demo", issue_events(first, setup, 2))
        with pytest.raises(NotActive):  # any write of the old one, not only tickets
            first.record_device_status("demo", "kiosk", "printer", "ok", None, NOW, "kiosk:k")
        assert first.write_failure is None  # the database is fine: no "degraded"
        assert [t.id for t in second.tickets_for_day("demo", NOW.date())] == ["t1"]
        second.commit("demo", issue_events(second, setup, 3))  # the new one writes
        assert [t.id for t in second.tickets_for_day("demo", NOW.date())] == ["t1", "t3"]
        # another centre's lease is its own
        assert first.take_lease("north", "host-a pid 1", NOW) == 1
        assert second.take_lease("demo", "host-b pid 2", NOW) == 3
    finally:
        first.close()
        second.close()


def test_the_heartbeat_counts_and_a_takeover_from_a_hung_server_is_taken_once(
    url: str,
) -> None:
    """The active server beats (``beat_lease``) so a standby can see it is alive. A
    standby that saw the beat stand still takes over without the claim (the hung server
    still has it) and only if the epoch is still the one it saw stand still: of two
    standbys, one wins. The hung server, when it wakes, cannot beat any more."""
    hung, standby, other = Store(url), Store(url), Store(url)
    try:
        assert hung.take_lease("demo", "host-a pid 1", NOW) == 1
        assert (hung.beat_lease(NOW), hung.beat_lease(NOW)) == (1, 2)
        lease = hung.lease("demo")
        assert lease is not None
        assert (lease.epoch, lease.beat, lease.renewed, lease.claimed) == (1, 2, NOW, True)
        with pytest.raises(CentreTaken, match="Another server took centre 'demo' first"):
            standby.take_lease("demo", "host-b pid 2", NOW, claimed=False, replaces=7)
        assert standby.take_lease("demo", "host-b pid 2", NOW, claimed=False, replaces=1) == 2
        lease = standby.lease("demo")
        assert lease is not None
        assert (lease.epoch, lease.holder, lease.beat, lease.claimed) == (
            2,
            "host-b pid 2",
            0,
            False,
        )
        with pytest.raises(CentreTaken, match=r"\(host-b pid 2\)"):  # saw epoch 1 too: lost
            other.take_lease("demo", "host-c pid 3", NOW, claimed=False, replaces=1)
        with pytest.raises(NotActive, match=r"another server took over \(host-b pid 2\)"):
            hung.beat_lease(NOW)  # it woke up: refused, and stops
        assert standby.beat_lease(NOW, claimed=True) == 1  # the claim is its own now
        lease = standby.lease("demo")
        assert lease is not None and lease.claimed and lease.epoch == 2
    finally:
        for store in (hung, standby, other):
            store.close()


def test_an_unfenced_store_writes_as_before(url: str, setup: Any) -> None:
    """Tools that are not a centre's server (``walkin history generate``, enrolling a
    kiosk) write without a lease."""
    store = Store(url)
    try:
        store.commit("demo", issue_events(store, setup, 1))
        assert store.lease("demo") is None
    finally:
        store.close()


async def test_a_server_whose_centre_was_taken_over_refuses_the_write_and_stops(
    url: str, setup: Any
) -> None:
    """The server's claim on its centre went (its PostgreSQL connection dropped, say)
    and another server took the centre before this one noticed: its next issue is
    refused whole, nothing is stored, and it stops."""
    store = Store(url)
    token = store.enroll_device("demo", "kiosk", "Lobby kiosk")
    server, port = await start_setup(setup, store, host="127.0.0.1", port=0)
    stopped: list[bool] = []
    server.on_claim_lost = lambda: stopped.append(True)
    kiosk = await QueueClient(f"ws://127.0.0.1:{port}/ws", token=token, reconnect=False).connect()
    try:
        first = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        assert first["ticket"]["number"] == "H001"
        other = Store(url)
        assert other.take_lease("demo", "host-b pid 2") == 2  # the takeover
        other.close()
        with pytest.raises(RemoteError) as refused:
            await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
            )
        assert refused.value.code == "unavailable"
        assert "no longer the active server for centre 'demo'" in str(refused.value)
        for _ in range(200):
            if stopped:
                break
            await asyncio.sleep(0.01)
        assert stopped == [True]
        assert server.claim_lost is not None
        assert "This server stopped" in str(server.claim_lost)
        today = Centre(setup).local_day(datetime.now(UTC))
        assert [t.number for t in store.tickets_for_day("demo", today)] == ["H001"]
    finally:
        await kiosk.close()
        await server.close()
        store.close()


def test_a_takeover_blocked_by_a_hung_writer_says_so_and_its_sessions_can_be_ended(
    url: str,
) -> None:
    """A server that hung inside a write holds the lease row (PostgreSQL: its fence
    check's share lock) or the whole database (SQLite: the write lock). The takeover
    gives up after a few seconds with ``TakeoverBlocked`` (not after 30 s, and not
    with a traceback); on PostgreSQL the standby then ends the hung server's sessions
    (named after it) and takes over; on SQLite ``serving.end_hung_server`` kills the
    process (tested with real processes in test_store_standby.py)."""
    import sqlalchemy as sa

    hung, standby = Store(url), Store(url)
    try:
        assert hung.take_lease("demo", "queue-pc pid 999999", NOW) == 1
        name = "walkin queue-pc pid 999999"
        if hung.engine.dialect.name == "postgresql":
            engine = sa.create_engine(url, connect_args={"application_name": name})
        else:
            engine = sa.create_engine(url)
        held = engine.connect()
        held.exec_driver_sql(
            "BEGIN" if hung.engine.dialect.name == "postgresql" else "BEGIN IMMEDIATE"
        )
        if hung.engine.dialect.name == "postgresql":
            held.exec_driver_sql("SELECT epoch FROM centre_lease FOR SHARE")
        try:
            with pytest.raises(TakeoverBlocked, match="the database is locked"):
                standby.take_lease("demo", "queue-pc-2 pid 2", NOW, claimed=False, replaces=1)
            if hung.engine.dialect.name == "postgresql":
                assert standby.end_sessions_of("queue-pc pid 999999") == 1
                assert standby.end_sessions_of("queue-pc pid 999999") == 0
                assert (
                    standby.take_lease("demo", "queue-pc-2 pid 2", NOW, claimed=False, replaces=1)
                    == 2
                )
            else:
                assert standby.end_sessions_of("queue-pc pid 999999") == 0  # by its pid
        finally:
            with contextlib.suppress(Exception):
                held.close()
            engine.dispose()
        if hung.engine.dialect.name == "sqlite":  # the lock gone, the takeover goes on
            assert (
                standby.take_lease("demo", "queue-pc-2 pid 2", NOW, claimed=False, replaces=1) == 2
            )
    finally:
        hung.close()
        standby.close()


def test_a_call_has_the_same_id_on_the_server_that_takes_over(url: str, setup: Any) -> None:
    """Boards know a call by its id (number, time called, recalls): the server that
    takes over rebuilds the queue from the database, and its snapshot must name each
    call as the old server did, or a board (``display_board``) that moves to it would
    announce a call twice."""
    from queue_server import views

    store = Store(url)
    try:
        centre = store.load_centre(setup, NOW)
        for command in (
            cmd.IssueTicket(
                actor="kiosk:k", service="housing", ticket_id="t1", idempotency_key="k1"
            ),
            cmd.SignIn(actor="staff:alice", counter="Counter 1", staff="alice"),
            cmd.OpenCounter(actor="staff:alice", counter="Counter 1"),
            cmd.CallNext(actor="staff:alice", counter="Counter 1"),
        ):
            decision = centre.decide(command, NOW.replace(microsecond=123456))
            store.commit("demo", decision.events)
            centre.apply(decision.events)
        called = views.call_id(centre.tickets["t1"])
        other = Store(url)  # the standby's
        try:
            rebuilt = other.load_centre(setup, NOW)
        finally:
            other.close()
        assert views.call_id(rebuilt.tickets["t1"]) == called
        assert called.startswith("H001@2026-11-24T10:00:00.123456+00:00")
    finally:
        store.close()
