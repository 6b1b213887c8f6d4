"""SQLite's commits go through one connection the store keeps open (``Store._writing``):
commits from many threads at once all land, in turn; a broken connection, or one from
before the engine's pool was let go, is replaced; and a commit that cannot have the
writer in time fails as a locked database did (``Unavailable``, nothing written) and the
next one, once it is free, succeeds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import Unavailable
from queue_server.core.events import Event
from queue_server.core.model import CentreSetup
from queue_server.store import Store, repository

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def issues(setup: CentreSetup, count: int, prefix: str) -> list[tuple[Event, ...]]:
    """``count`` issues' events, each its own number (the core decides them in turn)."""
    centre = Centre(setup)
    out = []
    for i in range(count):
        decision = centre.decide(
            cmd.IssueTicket(
                actor="kiosk:k1",
                service="housing",
                ticket_id=f"{prefix}-{i}",
                idempotency_key=f"key-{prefix}-{i:04d}",
            ),
            START + timedelta(seconds=i),
        )
        centre.apply(decision.events)
        out.append(decision.events)
    return out


def stored(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT id FROM ticket")).scalars())


@pytest.fixture
def store(sqlite_url: str, setup: CentreSetup) -> Store:
    store = Store(sqlite_url)
    store.migrate()
    store.register_centre(setup)
    yield store  # type: ignore[misc]
    store.close()


def test_commits_from_many_threads_at_once_all_land(store: Store, setup: CentreSetup) -> None:
    work = issues(setup, 120, "t")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda events: store.commit(setup.centre_id, events), work))
    assert stored(store) == {f"t-{i}" for i in range(120)}
    assert store.write_failure is None


def test_a_broken_or_disposed_writer_is_replaced(store: Store, setup: CentreSetup) -> None:
    first, second, third = issues(setup, 3, "r")
    store.commit(setup.centre_id, first)
    writer = store._writer
    assert writer is not None
    writer.invalidate()  # as SQLAlchemy does when the driver says the connection broke
    store.commit(setup.centre_id, second)
    assert store._writer is not writer and not store._writer.invalidated  # type: ignore[union-attr]
    kept = store._writer
    store.engine.dispose()  # every connection from now on a new one: the writer too
    store.commit(setup.centre_id, third)
    assert store._writer is not kept
    assert stored(store) == {"r-0", "r-1", "r-2"}


def test_a_commit_that_cannot_have_the_writer_in_time_fails_and_writes_nothing(
    store: Store, setup: CentreSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "SQLITE_BUSY_SECONDS", 0.2)
    first, second = issues(setup, 2, "w")
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store._write_connection():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(Unavailable) as refused:
            store.commit(setup.centre_id, first)
        assert "database is locked" in refused.value.details["detail"]
        assert store.write_failure is not None
        assert stored(store) == set()
    finally:
        release.set()
        holder.join(10)
    store.commit(setup.centre_id, second)
    assert stored(store) == {"w-1"}
    assert store.write_failure is None
