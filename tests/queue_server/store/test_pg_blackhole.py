"""Issue 13: a server cut off from PostgreSQL by a pulled cable, not by resets. A TCP
proxy of the test's own (``tcp_proxy.LoopbackProxy``: asyncio, loopback) stands between a
real ``walkin serve`` and the test PostgreSQL server; its ``blackhole()`` stops
forwarding in both directions without closing a socket, so what the server sends is
never answered and nothing tells it the connection is gone (the machine's own TCP
still acknowledges: what the server sees is a database that went silent, which is also
what a hung database host looks like), until its ``restore()`` lets the
held bytes through again.

What is right (docs/running-for-a-council.md, the failure table): the cut-off server
notices within the takeover timeout (``--takeover-after``, 5 s) because its beats on
the lease get no answer, and steps down: it writes nothing more, closes its clients'
connections saying why (1012), answers /healthz 503 with role standby and stands by.
A standby elsewhere, which still reaches the database, takes the centre; the clients,
given both addresses, go to it. Alone, the cut-off server takes its own centre back
once the database answers again (nobody took it meanwhile).

Every row any session commits is logged by a trigger of the test's own database (the
session's ``application_name`` names the server process), so "the old server commits
nothing after losing the lease" is read from the database, not assumed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.client import QueueClient, new_idempotency_key
from queue_server.net.serving import STEP_DOWN_CLOSE
from queue_server.store import Store

from .conftest import ENV as SERVE_ENV
from .conftest import wait_for
from .pg_pair import free_port
from .tcp_proxy import LoopbackProxy, proxy_to
from .test_pg_failover import Load, check_tickets, kiosk

#: kiosks issuing through the cut (fewer than the other failover tests' 20: the
#: machine is shared, and what is tested is the move, not the load)
KIOSKS = 6
#: ``walkin serve --takeover-after``'s default
TAKEOVER_AFTER = 5.0


#: every row committed in the test's database, with the session that wrote it
WRITE_LOG = """
CREATE TABLE walkin_test_writes (
    id bigserial PRIMARY KEY, at timestamptz NOT NULL, app text NOT NULL,
    tbl text NOT NULL, op text NOT NULL
);
CREATE FUNCTION walkin_test_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO walkin_test_writes (at, app, tbl, op)
    VALUES (clock_timestamp(), current_setting('application_name'), TG_TABLE_NAME, TG_OP);
    RETURN NULL;
END $$;
"""


@contextlib.contextmanager
def own_database(beside: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``beside`` (a URL), dropped after."""
    name = f"walkin_blackhole_{secrets.token_hex(4)}"
    admin = sa.create_engine(beside, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield (
                sa.engine.make_url(beside).set(database=name).render_as_string(hide_password=False)
            )
        finally:
            with admin.connect() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                    ),
                    {"n": name},
                )
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.dispose()


@pytest.fixture
def logged_database(pg_url: str) -> Iterator[str]:
    """A migrated database of the test's own (dropped afterwards) whose every table
    logs each row written, and by which session, in ``walkin_test_writes``."""
    with own_database(pg_url) as url:
        store = Store(url)
        store.migrate()
        store.close()
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(WRITE_LOG)
                tables = conn.execute(
                    sa.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename NOT IN ('walkin_test_writes', 'alembic_version')"
                    )
                ).scalars()
                for table in list(tables):
                    conn.exec_driver_sql(
                        "CREATE TRIGGER walkin_test_log AFTER INSERT OR UPDATE OR DELETE"
                        f' ON "{table}" FOR EACH ROW EXECUTE FUNCTION walkin_test_log()'
                    )
        finally:
            engine.dispose()
        yield url


@pytest.fixture
def proxy(pg_url: str) -> Iterator[LoopbackProxy]:
    made = proxy_to(pg_url)
    try:
        yield made
    finally:
        made.close()


def health(port: int, timeout: float = 0.5) -> tuple[int, dict[str, Any]]:
    """(status, body) of a server's /healthz; (0, {}) while nothing answers in time
    (an active server asks its database first, for up to 3 s)."""
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)
    except OSError:
        return 0, {}


def writes(url: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT * FROM walkin_test_writes ORDER BY id")))
    finally:
        engine.dispose()


def lease_of(url: str, centre: str) -> Any:
    store = Store(url)
    try:
        return store.lease(centre)
    finally:
        store.close()


def stepped_down_at(server: Any) -> float:
    """When the server logged that it stepped down (the clock of this machine)."""
    for line in server.logged.splitlines():
        if "This server stepped down" in line and " ERROR " in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone()
            return stamp.timestamp()
    pytest.fail(f"it did not step down:\n{server.logged}")


def session_of(pid: int) -> Callable[[Any], bool]:
    """Whether a logged write came from a session of the server process ``pid`` (its
    sessions are named ``walkin <host> pid <pid>``)."""
    return lambda row: row.app.endswith(f" pid {pid}")


def test_a_server_cut_off_by_a_pulled_cable_steps_down_and_its_clients_move(
    logged_database: str, proxy: LoopbackProxy, centre_file: Callable[[str], Path], serve: Any
) -> None:
    url = logged_database
    centre = "blackhole"
    config = centre_file(centre)
    # ports of their own: the cut-off server stands by on the address it served on
    first = serve(config, proxy.url(url), "--port", str(free_port()))
    assert first.wait_ready()["role"] == "active"
    second = serve(config, url, "--port", str(free_port()))
    wait_for(lambda: "standby for centre" in second.logged, "the second is standby", 60, 0.05)
    wait_for(second.listening, "the standby listens", 30, 0.05)
    store = Store(url)
    tokens = [store.enroll_device(centre, "kiosk", f"kiosk {n}") for n in range(KIOSKS + 1)]
    store.close()
    both = f"{first.url},{second.url}"
    epoch_before = lease_of(url, centre).epoch

    async def run() -> dict[str, Any]:
        load = Load()
        kiosks = [asyncio.create_task(kiosk(both, t, n, load)) for n, t in enumerate(tokens[1:])]
        watcher = QueueClient(both, token=tokens[0])
        await watcher.connect()
        seen: dict[str, Any] = {"watcher_on": watcher.url}
        try:
            while len(load.acknowledged) < 60 and not load.errors:
                await asyncio.sleep(0.02)
            cut, seen["cut_wall"] = time.monotonic(), time.time()
            await asyncio.to_thread(proxy.blackhole)
            # the cut-off server notices by itself and says so on /healthz
            await asyncio.to_thread(
                wait_for,
                lambda: health(first.port)[1].get("role") == "standby",
                "the cut-off server steps down",
                TAKEOVER_AFTER + 10,
                0.05,
            )
            seen["standby_503"] = time.monotonic() - cut
            await asyncio.to_thread(
                wait_for,
                lambda: health(second.port)[0] == 200,
                "the standby takes over",
                60,
                0.05,
            )
            seen["taken_over"] = time.monotonic() - cut
            # a real client given both addresses is on the other server, and issues
            reply = await watcher.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key(),
                retry=True, timeout=60,
            )  # fmt: skip
            seen["watcher_ticket"] = reply["ticket"]
            seen["watcher_after"] = time.monotonic() - cut
            seen["watcher_on"], seen["watcher_close"] = watcher.url, watcher.last_close
            while len(load.after(cut + seen["taken_over"])) < 60 and not load.errors:
                await asyncio.sleep(0.02)
                assert all(not task.done() for task in kiosks), "a kiosk stopped"
                assert time.monotonic() - cut < 120, f"kiosks stuck: {load.retries}"
        finally:
            load.stop.set()
            await asyncio.gather(*kiosks, return_exceptions=True)
            await watcher.close()
        seen["load"], seen["cut"] = load, cut
        return seen

    seen = asyncio.run(asyncio.wait_for(run(), 180))
    load = seen["load"]
    assert not load.errors, load.errors[:5]
    rows = check_tickets(load, url, centre)
    assert seen["watcher_ticket"]["id"] in {row.id for row in rows}
    # it noticed within the takeover timeout (from its last good beat, sent before
    # the cut), told its clients why, and the client went to the other server
    seen["stepped_down"] = stepped_down_at(first) - seen["cut_wall"]
    assert seen["stepped_down"] <= TAKEOVER_AFTER + 0.5, seen
    assert seen["watcher_on"] == second.url, seen
    assert seen["watcher_close"] == STEP_DOWN_CLOSE, seen
    assert "This server stepped down" in first.logged, first.logged
    # the cut-off server stands by (it did not exit); the other holds the next epoch
    assert first.process.poll() is None, first.logged
    status, body = health(first.port)
    assert (status, body["role"]) == (503, "standby"), body
    lease = lease_of(url, centre)
    assert lease.epoch == epoch_before + 1 and f"pid {second.process.pid}" in lease.holder

    # the database's own record: the old server's last commit came before the new
    # one's lease; nothing of its after, not even once the network is back
    def check_writes() -> None:
        logged = writes(url)
        taken = min(r.at for r in logged if session_of(second.process.pid)(r))
        old = [r for r in logged if session_of(first.process.pid)(r)]
        assert old, "the first server's writes were not logged"
        late = [r for r in old if r.at >= taken]
        assert not late, f"the cut-off server committed after the takeover: {late[:5]}"
        assert any(r.tbl == "ticket" for r in old)

    check_writes()
    proxy.restore()
    time.sleep(TAKEOVER_AFTER + 2)  # time for anything held back to be delivered
    check_writes()
    assert health(first.port)[1]["role"] == "standby"
    assert health(second.port)[0] == 200
    assert first.process.poll() is None and second.process.poll() is None
    for server in (first, second):
        assert "Traceback" not in server.logged, server.logged
    print(
        f"\n{len(load.acknowledged)} tickets acknowledged ({len(rows)} stored); blackhole "
        f"to step-down {seen['stepped_down']:.2f} s, to /healthz 503 standby "
        f"{seen['standby_503']:.2f} s, to the takeover "
        f"{seen['taken_over']:.2f} s, to the watching client's ticket through the other "
        f"server {seen['watcher_after']:.2f} s; requests sent again: "
        f"{dict(load.retries) or 'none'}"
    )


class NotifySocket:
    """A datagram socket standing in for systemd's ``$NOTIFY_SOCKET``: every message
    a server sends it, as ``{key: value}``, in order."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)

    def messages(self) -> list[dict[str, str]]:
        found = []
        with contextlib.suppress(TimeoutError):
            while True:
                lines = self.sock.recv(4096).decode().splitlines()
                found.append(dict(line.split("=", 1) for line in lines))
        return found


def test_a_server_alone_notices_a_silent_database_and_takes_its_centre_back(
    logged_database: str,
    proxy: LoopbackProxy,
    centre_file: Callable[[str], Path],
    serve: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No standby: the server notices the silent database within the takeover
    timeout (before, it waited on the blackholed socket for as long as the cut
    lasted: TCP gets no reset) and stands by; once the database answers again it
    takes its own centre back at once (the lease still has its epoch) and issues.
    Under systemd it stays one running service throughout: no STOPPING=1."""
    url = logged_database
    centre = "alone"
    config = centre_file(centre)
    systemd = NotifySocket(tmp_path / "notify")
    monkeypatch.setitem(SERVE_ENV, "NOTIFY_SOCKET", systemd.path)
    server = serve(config, proxy.url(url), "--port", str(free_port()))
    assert server.wait_ready()["role"] == "active"
    store = Store(url)
    token = store.enroll_device(centre, "kiosk", "kiosk")
    store.close()
    epoch_before = lease_of(url, centre).epoch

    async def issue() -> dict[str, Any]:
        async with QueueClient(server.url, token=token) as client:
            reply = await client.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key(),
                retry=True, timeout=60,
            )  # fmt: skip
            return dict(reply["ticket"])

    asyncio.run(issue())
    cut, cut_wall = time.monotonic(), time.time()
    proxy.blackhole()
    wait_for(
        lambda: health(server.port)[1].get("role") == "standby",
        "the server notices the silent database",
        TAKEOVER_AFTER + 10,
        0.05,
    )
    standby_503 = time.monotonic() - cut
    noticed = stepped_down_at(server) - cut_wall
    assert noticed <= TAKEOVER_AFTER + 0.5, noticed
    time.sleep(2)  # standing by while the database stays silent
    assert health(server.port)[1].get("role") == "standby"
    restored = time.monotonic()
    proxy.restore()
    wait_for(lambda: health(server.port)[0] == 200, "active again", 60, 0.05)
    back = time.monotonic() - restored
    ticket = asyncio.run(issue())
    lease = lease_of(url, centre)
    assert lease.epoch == epoch_before + 1 and f"pid {server.process.pid}" in lease.holder
    assert ticket["id"] in {r.id for r in check_tickets(Load(), url, centre)}
    assert "no other server took" in server.logged, server.logged
    assert "Traceback" not in server.logged, server.logged
    messages = systemd.messages()
    assert not [m for m in messages if "STOPPING" in m], messages
    said = [m["STATUS"] for m in messages if "STATUS" in m]
    assert [m.split(" for centre")[0].split(";")[0] for m in said] == [
        "active server",
        "stepped down",
        "standby",
        "taking over centre alone: the database answers again",
        "active server",
    ], said
    print(
        f"\nnoticed the silent database after {noticed:.2f} s (/healthz 503 standby after "
        f"{standby_503:.2f} s); active again {back:.2f} s after the network came back"
    )


def test_every_postgresql_connection_gives_up_on_a_vanished_peer_in_seconds(pg_url: str) -> None:
    """The libpq settings reach the kernel's sockets (read back with getsockopt) on the
    store's pool and on the claim's own connection, and the claim's session asks
    PostgreSQL to give up on a vanished server in seconds too. (A machine that
    vanishes leaves no reset: these are what end a connection to it. The proxy above
    cannot show them act, as its own machine still acknowledges what it holds.)"""
    from queue_server.store.repository import PG_CONNECT
    from queue_server.store.writer_lock import claim_centre

    def kernel_settings(dbapi_connection: Any) -> dict[str, int]:
        fd = dbapi_connection.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            return {
                "keepalives": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "keepalives_idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "keepalives_interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "keepalives_count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                "tcp_user_timeout": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            }

    wanted = {key: value for key, value in PG_CONNECT.items() if key != "connect_timeout"}
    # seconds, not the kernel's defaults (no keepalive, 15 minutes of retransmissions)
    assert wanted["tcp_user_timeout"] <= TAKEOVER_AFTER * 1000
    store = Store(pg_url)
    try:
        with store.engine.connect() as conn:
            assert kernel_settings(conn.connection.dbapi_connection) == wanted
    finally:
        store.close()
    claim = claim_centre(pg_url, f"sockets{os.getpid()}")
    try:
        lock = claim._release.__self__  # type: ignore[union-attr]
        assert kernel_settings(lock.conn.connection.dbapi_connection) == wanted
        asked = {
            name: lock.conn.exec_driver_sql(f"SHOW {name}").scalar()
            for name in ("tcp_keepalives_idle", "tcp_user_timeout")
        }
        assert asked == {"tcp_keepalives_idle": "5", "tcp_user_timeout": "10000"}, asked
    finally:
        claim.release()
