"""Issue 13, item 5: PostgreSQL failover. A primary and a synchronous streaming-
replication hot standby built on this machine (``pg_pair``: initdb, pg_basebackup -R,
ports of their own), a real ``walkin serve`` on the multi-host URL
(``postgresql://...@A,B/walkin?target_session_attrs=read-write``), twenty kiosks
issuing through it; the primary is killed (SIGKILL of all its processes) and the
standby promoted (``pg_ctl promote``). Every ticket a kiosk was given is in the
promoted database, no number is given twice, issuing carries on, and the server
holds its centre's advisory lock on the new primary. The time from the kill to the
next ticket is printed (measured over many kills in bench/bench_pg_failover.py).

Skipped only where Debian's PostgreSQL binaries are absent."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.client import (
    ConnectionLost,
    NotConnected,
    QueueClient,
    RemoteError,
    new_idempotency_key,
)
from queue_server.core.errors import InvalidRequest
from queue_server.store import Store
from queue_server.store.repository import make_engine, normalise_url
from queue_server.store.writer_lock import centre_lock_key

from .conftest import run_walkin, wait_for
from .pg_pair import PgPair, free_port, unavailable

needs_postgres = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")

KIOSKS = 20
SERVICES = ("housing", "council_tax", "parking", "planning")


@pytest.fixture
def pair() -> Iterator[PgPair]:
    made = PgPair(fsync=False)  # a process crash, not a power cut: fsync changes nothing
    try:
        made.build()
        yield made
    finally:
        made.close()


@dataclass
class Load:
    """What the kiosks were given: (idempotency key, ticket id, number, when)."""

    acknowledged: list[tuple[str, str, str, float]] = field(default_factory=list)
    #: requests sent again after a lost connection or no server, by reason
    retries: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def after(self, moment: float) -> list[tuple[str, str, str, float]]:
        return [row for row in self.acknowledged if row[3] > moment]


async def kiosk(url: str, token: str, n: int, load: Load) -> None:
    """Issue tickets one after another until told to stop; each with a key of its own,
    sent again (the same key) after any error that says nothing was done for sure."""
    client = QueueClient(url, token=token)
    await client.connect()
    try:
        while not load.stop.is_set():
            key = new_idempotency_key()
            service = SERVICES[n % len(SERVICES)]
            while not load.stop.is_set():  # unacknowledged if told to stop meanwhile
                try:
                    reply = await client.request(
                        "issue_ticket", service=service, idempotency_key=key, retry=True,
                        timeout=60,
                    )  # fmt: skip
                    break
                except RemoteError as exc:  # only "unavailable" is retried by the client
                    load.errors.append(f"{exc.code}: {exc.message}")
                    return
                except (ConnectionLost, NotConnected) as exc:
                    load.retries[f"{type(exc).__name__}: {exc}"] += 1
            else:
                return
            ticket = reply["ticket"]
            load.acknowledged.append((key, ticket["id"], ticket["number"], time.monotonic()))
            await asyncio.sleep(0.02)
    finally:
        await client.close()


def enrol_kiosks(url: str, n: int, centre: str | None = None) -> list[str]:
    """Kiosk tokens, enrolled in this process (what ``walkin enroll`` does)."""
    store = Store(url)
    try:
        centre = centre or store.only_centre()
        return [store.enroll_device(centre, "kiosk", f"kiosk {i}") for i in range(n)]
    finally:
        store.close()


def stored_tickets(url: str, centre: str) -> list[Any]:
    engine = sa.create_engine(url)
    query = "SELECT id, number, idempotency_key, day, issued_at FROM ticket WHERE centre = :c"
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query), {"c": centre}))
    finally:
        engine.dispose()


def lock_holder(url: str, centre_id: str) -> list[Any]:
    """The backends holding ``centre_id``'s advisory lock on the server at ``url``."""
    unsigned = centre_lock_key(centre_id) & 0xFFFF_FFFF_FFFF_FFFF
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                        " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                        " AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
                    ),
                    {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF},
                )
            )
    finally:
        engine.dispose()


def check_tickets(load: Load, url: str, centre: str) -> list[Any]:
    """Every acknowledged ticket stored as acknowledged; no number, key or id twice."""
    rows = stored_tickets(url, centre)
    by_id = {row.id: row for row in rows}
    lost = [a for a in load.acknowledged if a[1] not in by_id]
    assert not lost, f"{len(lost)} acknowledged tickets not in the promoted database: {lost[:5]}"
    for key, ticket_id, number, _ in load.acknowledged:
        assert (by_id[ticket_id].number, by_id[ticket_id].idempotency_key) == (number, key)
    numbers = [(row.day, row.number) for row in rows]
    assert len(numbers) == len(set(numbers)), "a number given twice"
    keys = [a[0] for a in load.acknowledged]
    assert len(keys) == len(set(keys))
    ids = [a[1] for a in load.acknowledged]
    assert len(ids) == len(set(ids)), "two acknowledgements of one ticket"
    return rows


@needs_postgres
def test_the_server_carries_on_when_the_primary_dies_and_the_standby_is_promoted(
    pair: PgPair, centre_file: Callable[[str], Path], serve: Any
) -> None:
    centre = "pgfail"
    config = centre_file(centre)
    url = pair.url()  # postgresql://postgres@127.0.0.1:A,127.0.0.1:B/walkin?target_...
    server = serve(config, url)
    assert server.wait_ready()["role"] == "active"
    tokens = enrol_kiosks(url, KIOSKS)

    async def run() -> tuple[Load, float, float, float]:
        load = Load()
        kiosks = [
            asyncio.create_task(kiosk(server.url, token, n, load)) for n, token in enumerate(tokens)
        ]
        try:
            while len(load.acknowledged) < 100 and not load.errors:
                await asyncio.sleep(0.02)
            killed = time.monotonic()
            await asyncio.to_thread(pair.kill_primary)
            dead = time.time()  # no process of the old primary left
            await asyncio.to_thread(pair.promote)
            promoted = time.monotonic()
            while len(load.after(promoted)) < 100 and not load.errors:
                await asyncio.sleep(0.02)
                assert all(not task.done() for task in kiosks), "a kiosk stopped"
        finally:
            load.stop.set()
            await asyncio.gather(*kiosks, return_exceptions=True)
        return load, killed, dead, promoted

    load, killed, dead, promoted = asyncio.run(asyncio.wait_for(run(), 120))
    assert not load.errors, load.errors[:5]
    rows = check_tickets(load, pair.node_url(pair.primary), centre)
    # the next ticket: the first decided once the old primary was gone (a reply to one
    # committed just before the kill can arrive after it)
    issued = {row.id: row.issued_at.timestamp() for row in rows}
    first_after = min(a[3] for a in load.acknowledged if issued[a[1]] > dead)
    print(
        f"\n{len(load.acknowledged)} tickets acknowledged ({len(rows)} stored), "
        f"{len(load.after(promoted))} after the promotion; kill to promoted "
        f"{promoted - killed:.2f} s, kill to the next ticket {first_after - killed:.2f} s; "
        f"requests sent again: {dict(load.retries) or 'none'}"
    )
    # the server carries on: still running, active, and holding its centre on the new
    # primary (the claim connection reconnected and took the advisory lock again)
    assert server.process.poll() is None, server.logged
    assert server.wait_ready()["role"] == "active"
    holders = wait_for(
        lambda: lock_holder(pair.node_url(pair.primary), centre), "the lock retaken", 30, 0.1
    )
    assert f"pid {server.process.pid}" in holders[0].application_name
    assert "Traceback" not in server.logged, server.logged
    # the other commands on the same URL find the new primary by themselves
    for command in (("db", "check"), ("report",)):
        done = run_walkin(*command, "--db", url)
        assert done.returncode == 0, done.stderr
    assert f'"issued": {len(rows)}' in run_walkin("report", "--db", url).stdout


@needs_postgres
def test_a_promotion_slower_than_the_takeover_timeout_is_waited_out(
    pair: PgPair, centre_file: Callable[[str], Path], serve: Any
) -> None:
    """The primary dies and the standby is promoted only 8 s later (by a person, not
    at once): the server cannot beat on its lease for ``--takeover-after`` (5 s), so
    it steps down (its clients told to move: kiosks with a journal would issue offline
    meanwhile) and stands by. As soon as the promoted standby answers, it takes its
    own centre back: the lease, replicated with everything else, still holds its epoch,
    so nobody else took over. Every acknowledged ticket is there, none twice."""
    centre = "pgslow"
    config = centre_file(centre)
    url = pair.url()
    # a port of its own: standing by, and active again, on the address it served on
    server = serve(config, url, "--port", str(free_port()))
    assert server.wait_ready()["role"] == "active"
    tokens = enrol_kiosks(url, 6)

    async def run() -> tuple[Load, float, float]:
        load = Load()
        kiosks = [
            asyncio.create_task(kiosk(server.url, token, n, load)) for n, token in enumerate(tokens)
        ]
        try:
            while len(load.acknowledged) < 60 and not load.errors:
                await asyncio.sleep(0.02)
            killed = time.monotonic()
            await asyncio.to_thread(pair.kill_primary)
            await asyncio.to_thread(
                wait_for, lambda: "This server stepped down" in server.logged, "step-down", 30
            )
            await asyncio.sleep(max(0.0, killed + 8 - time.monotonic()))
            await asyncio.to_thread(pair.promote)
            promoted = time.monotonic()
            while len(load.after(promoted)) < 60 and not load.errors:
                await asyncio.sleep(0.02)
                assert all(not task.done() for task in kiosks), "a kiosk stopped"
                assert time.monotonic() - promoted < 90, f"kiosks stuck: {load.retries}"
        finally:
            load.stop.set()
            await asyncio.gather(*kiosks, return_exceptions=True)
        return load, killed, promoted

    load, killed, promoted = asyncio.run(asyncio.wait_for(run(), 180))
    assert not load.errors, load.errors[:5]
    check_tickets(load, pair.node_url(pair.primary), centre)
    assert server.process.poll() is None, server.logged
    assert server.wait_ready()["role"] == "active"
    assert "no other server took" in server.logged, server.logged
    store = Store(url)
    try:
        lease = store.lease(centre)
    finally:
        store.close()
    assert lease is not None and lease.epoch == 2 and f"pid {server.process.pid}" in lease.holder
    assert "Traceback" not in server.logged, server.logged
    first_after = min(a[3] for a in load.after(promoted))
    print(
        f"\n{len(load.acknowledged)} tickets acknowledged; promoted {promoted - killed:.1f} s "
        f"after the kill, the next ticket {first_after - promoted:.2f} s after the promotion; "
        f"requests sent again: {dict(load.retries) or 'none'}"
    )


def test_a_url_with_several_hosts_becomes_sqlalchemys() -> None:
    given = "postgresql://walkin:pw@db1:5432,db2:5433/walkin?target_session_attrs=read-write"
    assert normalise_url(given) == (
        "postgresql+psycopg://walkin:pw@/walkin?host=db1:5432&host=db2:5433"
        "&target_session_attrs=read-write"
    )
    assert normalise_url("postgres://db1,db2:6/w?target_session_attrs=primary") == (
        "postgresql+psycopg:///w?host=db1:5432&host=db2:6&target_session_attrs=primary"
    )
    single = "postgresql+psycopg://walkin@db1:5432/walkin"
    assert normalise_url(single) == single
    with pytest.raises(InvalidRequest, match="target_session_attrs=read-write"):
        make_engine("postgresql://walkin@db1,db2/walkin")
    with pytest.raises(InvalidRequest, match="name:port,name:port"):
        normalise_url("postgresql://walkin@db1,,db2/walkin?target_session_attrs=read-write")


def test_a_url_with_several_hosts_and_no_target_session_attrs_is_refused(
    walkin: Callable[..., Any], centre_file: Callable[[str], Path]
) -> None:
    result = walkin(
        "serve", "--config", str(centre_file("hosts")), "--port", "0", "--db",
        "postgresql://walkin@127.0.0.1:1,127.0.0.1:2/walkin",
    )  # fmt: skip
    assert result.returncode == 2
    assert "target_session_attrs=read-write" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_no_primary_in_the_host_list_is_said_plainly(
    walkin: Callable[..., Any], centre_file: Callable[[str], Path]
) -> None:
    closed = [free_port(), free_port()]
    result = walkin(
        "serve", "--config", str(centre_file("hosts")), "--port", "0", "--db",
        f"postgresql://walkin@127.0.0.1:{closed[0]},127.0.0.1:{closed[1]}/walkin"
        "?target_session_attrs=read-write",
    )  # fmt: skip
    assert result.returncode != 0
    assert "no server in the URL took a read-write session" in result.stderr, result.stderr
    for port in closed:
        assert f"127.0.0.1:{port} Connection refused" in result.stderr
    assert "Traceback" not in result.stderr
