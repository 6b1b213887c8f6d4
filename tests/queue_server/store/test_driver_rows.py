"""``store.driver_rows``: the rows an issue's transaction writes through the driver's
own cursor (SQLite's, psycopg's) are the rows SQLAlchemy's ``Connection.execute``
writes, value for value, and a failure comes out of ``Store.commit`` as it did
(``Conflict``, ``Unavailable``; a PostgreSQL connection lost mid-write is invalidated
as SQLAlchemy would)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from queue_server.core import Centre
from queue_server.core import commands as cmd
from queue_server.core.errors import Conflict, NotActive, Unavailable
from queue_server.core.model import CentreSetup, Outcome
from queue_server.store import Store, driver_rows
from queue_server.store.estimates import GivenEstimate, insert_estimates
from queue_server.store.tables import TicketRow

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _day_of_commits(setup: CentreSetup, store: Store, seed: int) -> None:
    """A random morning through the real core, each change committed as the server
    commits it (an issue with its estimate in the same transaction)."""
    rng = random.Random(seed)
    centre = Centre(setup)
    now = START
    counters = list(centre.counters)[:3]
    services = list(centre.services)

    def do(command: cmd.Command) -> None:
        decision = centre.decide(command, now)
        also = None
        if isinstance(command, cmd.IssueTicket) and decision.ticket is not None:
            ticket = decision.ticket
            given = GivenEstimate(
                centre=setup.centre_id,
                ticket_id=ticket.id,
                day=ticket.day,
                service=ticket.service,
                at=now,
                why="issue",
                minutes=rng.choice([None, 0, 7, 42]),
                people_ahead=rng.randrange(20),
                low_minutes=rng.choice([None, 3]),
                high_minutes=rng.choice([None, 12]),
            )
            also = partial(insert_estimates, estimates=[given])
        store.commit(setup.centre_id, decision.events, also)
        centre.apply(decision.events)

    for i, counter in enumerate(counters):
        do(cmd.SignIn(actor="staff:a", counter=counter, staff=f"adviser-{i}"))
        do(cmd.OpenCounter(actor="staff:a", counter=counter))
    for i in range(40):
        now += timedelta(seconds=rng.randrange(1, 90), microseconds=rng.randrange(10**6))
        if rng.random() < 0.6:
            do(
                cmd.IssueTicket(
                    actor="kiosk:k1",
                    service=rng.choice(services),
                    ticket_id=f"ticket-{seed}-{i}",
                    idempotency_key=f"key-{seed}-{i:04d}",
                    language=rng.choice(["en", "cy", "pl"]),
                )
            )
            continue
        counter = rng.choice(counters)
        current = centre.counters[counter].current_ticket
        command: cmd.Command
        if current is None:
            command = cmd.CallNext(actor="staff:a", counter=counter)
        elif centre.tickets[current].service_started_at is None:
            command = cmd.StartService(actor="staff:a", counter=counter)
        else:
            command = cmd.Complete(actor="staff:a", counter=counter, outcome=Outcome.RESOLVED)
        try:
            do(command)
        except Exception:  # nobody to call now: the core refuses, nothing is written
            pass


def _every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    try:
        names = sorted(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {
                name: sorted(map(tuple, conn.exec_driver_sql(f'SELECT * FROM "{name}"')), key=repr)
                for name in names
                if name != "alembic_version"
            }
    finally:
        engine.dispose()


@contextlib.contextmanager
def _fresh(kind: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty database: a SQLite file in ``folder``, or a PostgreSQL database."""
    if kind == "sqlite":
        folder.mkdir()
        yield f"sqlite:///{folder / 'walkin.db'}"
        return
    from tests.conftest import new_pg_database

    with new_pg_database(request.getfixturevalue("pg_url"), "walkin_rows_") as url:
        yield url


def _written(
    setup: CentreSetup, kind: str, folder: Path, seed: int, request: pytest.FixtureRequest
) -> dict[str, list[tuple[Any, ...]]]:
    with _fresh(kind, folder, request) as url:
        store = Store(url)
        store.migrate()
        store.register_centre(setup, START)
        store.take_lease(setup.centre_id, "test", START)
        _day_of_commits(setup, store, seed)
        store.close()
        return _every_row(url)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_driver_writes_what_sqlalchemy_writes(
    setup: CentreSetup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    seed: int,
    kind: str,
) -> None:
    through_driver = _written(setup, kind, tmp_path / "driver", seed, request)
    calls: list[int] = []
    real = driver_rows._run
    monkeypatch.setattr(driver_rows, "_run", lambda *a: (calls.append(1), real(*a))[1])
    _written(setup, kind, tmp_path / "counted", seed, request)
    assert calls, "the issue path no longer goes through the driver: this test tests nothing"
    monkeypatch.setattr(driver_rows, "_plan_for", lambda *a: None)  # SQLAlchemy's own
    through_sqlalchemy = _written(setup, kind, tmp_path / "sqlalchemy", seed, request)
    assert through_driver.keys() == through_sqlalchemy.keys()
    for table, rows in through_sqlalchemy.items():
        assert through_driver[table] == rows, table
    assert through_sqlalchemy["ticket"] and through_sqlalchemy["wait_estimate"]


def test_a_postgresql_connection_lost_mid_write_is_invalidated(
    setup: CentreSetup, pg_url: str
) -> None:
    """The database drops the server's connection between two of a commit's
    statements: the commit is ``Unavailable`` with nothing written, the dead
    connection is invalidated (never handed out again), and the next commit works."""
    from tests.conftest import new_pg_database

    with new_pg_database(pg_url, "walkin_lost_") as url:
        store = Store(url)
        store.migrate()
        store.register_centre(setup, START)
        invalidated: list[BaseException | None] = []
        sa.event.listen(store.engine, "invalidate", lambda _c, _r, exc: invalidated.append(exc))
        centre = Centre(setup)
        service = next(iter(centre.services))
        decision = centre.decide(
            cmd.IssueTicket(
                actor="kiosk:k1", service=service, ticket_id="t-1", idempotency_key="k1"
            ),
            START,
        )
        assert decision.ticket is not None
        given = GivenEstimate(
            centre=setup.centre_id,
            ticket_id="t-1",
            day=decision.ticket.day,
            service=service,
            at=START,
            why="issue",
            minutes=3,
        )
        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")

        def cut_then_estimate(conn: sa.Connection) -> None:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            insert_estimates(conn, [given])  # through the driver, on a dead connection

        try:
            with pytest.raises(Unavailable) as refused:
                store.commit(setup.centre_id, decision.events, cut_then_estimate)
            lost = refused.value.__cause__
            assert isinstance(lost, sa.exc.OperationalError) and lost.connection_invalidated
            # invalidated at once, with the error itself (as Connection.execute does),
            # not only later when the pool fails to reset it
            assert invalidated[:1] == [lost]
            assert _every_row(url)["ticket"] == []
            store.commit(
                setup.centre_id, decision.events, partial(insert_estimates, estimates=[given])
            )
            assert len(_every_row(url)["ticket"]) == 1
            assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        finally:
            admin.dispose()
            store.close()


def test_a_number_already_stored_is_a_conflict_and_nothing_is_written(
    setup: CentreSetup, sqlite_url: str
) -> None:
    store = Store(sqlite_url)
    store.migrate()
    store.register_centre(setup, START)
    centre = Centre(setup)
    command = cmd.IssueTicket(
        actor="kiosk:k1", service=next(iter(centre.services)), ticket_id="t-1", idempotency_key="k1"
    )
    decision = centre.decide(command, START)
    store.commit(setup.centre_id, decision.events)
    before = _every_row(sqlite_url)
    with pytest.raises(Conflict):
        store.commit(setup.centre_id, decision.events)  # the same ticket again
    assert _every_row(sqlite_url) == before
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE wait_estimate RENAME TO wait_estimate_gone")
    again = Centre(setup)
    again.apply(decision.events)
    second = again.decide(
        cmd.IssueTicket(
            actor="kiosk:k1",
            service=next(iter(centre.services)),
            ticket_id="t-2",
            idempotency_key="k2",
        ),
        START,
    )
    assert second.ticket is not None
    given = GivenEstimate(
        centre=setup.centre_id,
        ticket_id="t-2",
        day=second.ticket.day,
        service=second.ticket.service,
        at=START,
        why="issue",
        minutes=3,
    )
    with pytest.raises(Unavailable):
        store.commit(setup.centre_id, second.events, partial(insert_estimates, estimates=[given]))
    rows = _every_row(sqlite_url)
    assert [r for r in rows["ticket"]] == before["ticket"]  # the ticket went with the estimate
    store.close()


@pytest.mark.parametrize("through", ["driver", "sqlalchemy"])
def test_the_fence_is_read_through_the_driver_and_refuses_as_before(
    setup: CentreSetup, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    """The fence's epoch, read at the start of every write transaction, comes through
    SQLite's own cursor (``first_row``) and a server whose centre was taken over is
    refused the same way, whichever way it was read: ``NotActive`` naming the holder
    and the current epoch, nothing written."""
    if through == "sqlalchemy":
        monkeypatch.setattr(driver_rows, "_plan_for", lambda *a: None)
    fetched: list[Any] = []
    real = driver_rows._run
    monkeypatch.setattr(driver_rows, "_run", lambda *a: (fetched.append(a[3:]), real(*a))[1])
    old = Store(sqlite_url)
    old.migrate()
    old.register_centre(setup, START)
    assert old.take_lease(setup.centre_id, "host-a pid 1", START) == 1
    centre = Centre(setup)
    service = next(iter(centre.services))
    first = centre.decide(
        cmd.IssueTicket(actor="kiosk:k1", service=service, ticket_id="t-1", idempotency_key="k1"),
        START,
    )
    old.commit(setup.centre_id, first.events)
    assert ((True,) in fetched) == (through == "driver")
    centre.apply(first.events)
    new = Store(sqlite_url)
    assert new.take_lease(setup.centre_id, "host-b pid 2", START) == 2
    before = _every_row(sqlite_url)
    second = centre.decide(
        cmd.IssueTicket(actor="kiosk:k1", service=service, ticket_id="t-2", idempotency_key="k2"),
        START,
    )
    with pytest.raises(NotActive) as refused:
        old.commit(setup.centre_id, second.events)
    assert "another server took over (host-b pid 2)" in refused.value.message
    assert refused.value.details["current_epoch"] == 2
    assert refused.value.details["epoch"] == 1
    assert _every_row(sqlite_url) == before
    with new.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM centre_lease")
    with pytest.raises(NotActive) as gone:
        old.commit(setup.centre_id, second.events)
    assert "its lease is gone." in gone.value.message
    assert gone.value.details["current_epoch"] is None
    for store in (old, new):
        store.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_every_row_read_through_the_driver_is_the_row_sqlalchemy_reads(
    setup: CentreSetup, tmp_path: Path, seed: int
) -> None:
    # a day's tickets for a report (``Store.tickets_for_day``) are read through
    # SQLite's own cursor, each time, date and boolean converted here: the same values
    # of the same types (times aware, in UTC) as SQLAlchemy's rows, by name and place
    url = f"sqlite:///{tmp_path / 'walkin.db'}"
    store = Store(url)
    store.migrate()
    store.register_centre(setup, START)
    store.take_lease(setup.centre_id, "test", START)
    _day_of_commits(setup, store, seed)
    day = START.date()
    through_driver = store.tickets_for_day(None, day)
    t = TicketRow.__table__.c
    with store.engine.connect() as conn:
        plain = list(
            conn.execute(sa.select(TicketRow.__table__).where(t.day == day).order_by(t.issued_at))
        )
    assert len(through_driver) == len(plain) > 5
    assert type(through_driver[0]) is not type(plain[0]), "read by SQLAlchemy: tests nothing"
    for mine, theirs in zip(through_driver, plain, strict=True):
        assert tuple(mine) == tuple(theirs)
        for name, value in theirs._mapping.items():
            assert getattr(mine, name) == value
            assert type(getattr(mine, name)) is type(value), name
            if isinstance(value, datetime):
                assert getattr(mine, name).tzinfo is UTC
    # NULLs read back as None
    assert any(row.avoidable is None for row in through_driver)
    assert any(row.first_called_at is None for row in through_driver)
    # a column this does not convert itself (a decimal) is read by SQLAlchemy
    with store.engine.connect() as conn:
        [row] = driver_rows.all_rows(conn, sa.select(sa.cast(sa.literal(1.5), sa.Numeric(4, 2))))
    assert isinstance(row, sa.Row) and row[0] == Decimal("1.50")
    store.close()
