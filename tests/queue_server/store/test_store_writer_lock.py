"""Issue 10, point 8: never two servers for one centre on one database.

Two ``walkin serve`` for one centre each kept a queue of its own: they gave out the
same numbers and called one ticket to two counters. Now the second refuses to start,
naming the live one, before it reads or writes the database; a server killed with
SIGKILL never blocks its restart. Real ``walkin serve`` processes, on a SQLite file
and on a PostgreSQL database of the test's own (``empty_url``).
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from queue_server.net.serving import StartupError, start_setup
from queue_server.store import Store
from queue_server.store.tables import AppointmentRow
from queue_server.store.writer_lock import CentreInUse, centre_lock_key, claim_centre

# generous (30 s by default): a server rechecks its claim every CLAIM_RECHECK_SECONDS (5 s)
from .conftest import wait_for


def booked_refs(url: str, centre_id: str) -> list[str]:
    store = Store(url)
    try:
        table = AppointmentRow.__table__
        with store.engine.connect() as conn:
            query = sa.select(table.c.ref).where(table.c.centre == centre_id)
            return sorted(conn.execute(query).scalars())
    finally:
        store.close()


def bookings_file(folder: Path) -> Path:
    """One booking tomorrow (a day that is never over while the test runs)."""
    tomorrow = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    path = folder / "bookings.csv"
    path.write_text(f"ref,service,date,time\nBK-LOCK1,housing,{tomorrow},10:00\n")
    return path


def test_a_second_server_for_a_live_centre_refuses_and_a_killed_one_never_blocks(
    empty_url: str, centre_file: Callable[[str], Path], serve: Any, tmp_path: Path
) -> None:
    config = centre_file("lockcentre")
    first = serve(config, empty_url)
    assert first.wait_ready()["centre"] == "lockcentre"

    # the second brings bookings: had it touched the database, they would be there
    bookings = bookings_file(tmp_path)
    second = serve(config, empty_url, "--bookings", str(bookings), "--role", "active")
    assert second.wait_refused() == 1
    message = second.logged
    assert "Another Walkin server is already running for centre 'lockcentre'" in message
    assert f"pid {first.process.pid}" in message
    assert socket.gethostname() in message
    assert "Stop the other server first" in message
    assert "Traceback" not in message
    assert booked_refs(empty_url, "lockcentre") == []
    assert first.process.poll() is None  # the live one is untouched

    first.kill()  # SIGKILL: no chance to let go of anything itself
    third = serve(config, empty_url, "--bookings", str(bookings))
    assert third.wait_ready()["centre"] == "lockcentre"
    assert booked_refs(empty_url, "lockcentre") == ["BK-LOCK1"]


def test_two_centres_share_one_database(
    empty_url: str, centre_file: Callable[[str], Path], serve: Any
) -> None:
    north = serve(centre_file("north"), empty_url)
    assert north.wait_ready()["centre"] == "north"
    south = serve(centre_file("south"), empty_url)
    assert south.wait_ready()["centre"] == "south"
    assert north.process.poll() is None


async def test_an_in_process_server_holds_its_centre_until_it_closes(
    store: Store, setup: Any
) -> None:
    """The demo's way: ``start_setup`` in this process claims the centre too."""
    server, _ = await start_setup(setup, store, host="127.0.0.1", port=0)
    try:
        with pytest.raises(CentreInUse, match="already running for centre 'demo'"):
            await start_setup(setup, store, host="127.0.0.1", port=0)
    finally:
        await server.close()
    # closed: the centre is free again; and a server that cannot listen gives its
    # claim back at once
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(StartupError, match="Cannot listen"):
            await start_setup(setup, store, host="127.0.0.1", port=taken.getsockname()[1])
    again, _ = await start_setup(setup, store, host="127.0.0.1", port=0)
    await again.close()


def test_the_postgresql_key_is_the_documented_hash() -> None:
    """The key is documented (docs/operations.md): other tools may look for it in
    pg_locks, so it must never change."""
    digest = hashlib.sha256(b"walkin centre demo").digest()
    assert centre_lock_key("demo") == int.from_bytes(digest[:8], "big", signed=True)
    assert centre_lock_key("demo") == 5569997722642150170
    assert centre_lock_key("demo") != centre_lock_key("demo2")


def test_a_claim_released_can_be_taken_again(empty_url: str) -> None:
    claim = claim_centre(empty_url, "demo")
    with pytest.raises(CentreInUse):
        claim_centre(empty_url, "demo")
    other = claim_centre(empty_url, "elsewhere")
    claim.release()
    claim.release()  # harmless twice
    claim_centre(empty_url, "demo").release()
    other.release()


def lock_backend(admin: sa.Connection, server_pid: int) -> int | None:
    """The PostgreSQL backend holding the centre's advisory lock for ``server_pid``."""
    return admin.execute(
        sa.text(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE :name"
        ),
        {"name": f"walkin serve lockcentre pid {server_pid} %"},
    ).scalar()


@pytest.mark.parametrize("empty_url", ["postgresql"], indirect=True)
def test_a_dropped_postgresql_lock_is_taken_again_or_the_server_stops(
    empty_url: str, centre_file: Callable[[str], Path], serve: Any
) -> None:
    """The advisory lock lives as long as its connection: when PostgreSQL drops it,
    the server takes the lock again; if another took it first, the server stops."""
    server = serve(centre_file("lockcentre"), empty_url)
    server.wait_ready()
    pid = server.process.pid
    admin_engine = sa.create_engine(empty_url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as admin:
        first = lock_backend(admin, pid)
        assert first is not None
        admin.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": first})
        second = wait_for(
            lambda: (b := lock_backend(admin, pid)) not in (None, first) and b,
            "the server takes its lock again",
        )
        assert server.wait_ready()["centre"] == "lockcentre"

        # now another session takes the centre in the moment the connection is down
        admin.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": second})
        key = centre_lock_key("lockcentre")
        wait_for(
            lambda: admin.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar(),
            "the test takes the lock",
            seconds=5,
        )
        assert server.process.wait(30) == 1
        assert "This server stopped" in server.logged
        assert "another server took the centre" in server.logged
        assert "Traceback" not in server.logged
    admin_engine.dispose()
