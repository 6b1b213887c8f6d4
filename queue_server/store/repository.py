"""The repository: the one place that reads and writes the database.

``Store.commit(events)`` writes what a decision changed and its audit rows in one
transaction; the server acknowledges only after it returns. ``Store.load_centre``
rebuilds the live queue after a restart. The same code runs on a SQLite file
(WAL, ``synchronous=FULL``: a ticket a visitor holds survives a power cut) and on
PostgreSQL (``postgresql+psycopg://``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from queue_server.core import Centre, prefix_of
from queue_server.core.errors import Conflict, InvalidRequest, NotActive, NotFound, Unavailable
from queue_server.core.events import AppointmentBooked, AppointmentChanged, Event, TicketIssued
from queue_server.core.model import (
    FINAL_STATES,
    AppointmentStatus,
    CentreSetup,
    Service,
    TicketState,
)

from . import convert
from . import offline as offline_rows
from . import rollups as rollup_rows
from .driver_rows import all_rows, first_row, write_row
from .tables import (
    PHONE_DEVICE,
    AppointmentRow,
    AuditRow,
    CentreLeaseRow,
    CentreRow,
    ChannelChoiceRow,
    CounterRow,
    CredentialsGenerationRow,
    DeviceRow,
    DeviceStatusRow,
    FeedbackRow,
    NumberSequenceRow,
    PastAppointmentRow,
    ServiceRow,
    StaffRow,
    TicketRow,
)

#: a device's token: a kiosk, a board, or a booking system (the bookings API)
ROLES_DEVICE = ("kiosk", "board", "integration")
ROLES_STAFF = ("counter", "manager")
#: the audit kinds of a booking made, moved or cancelled (``Store.booking_changes``)
BOOKING_CHANGE_KINDS = ("appointment_booked", "appointment_changed", "appointment_cancelled")


class Lease(NamedTuple):
    """A centre's row in ``centre_lease`` (``Store.lease``)."""

    epoch: int
    holder: str
    since: datetime
    #: the active server's heartbeat count and when it last beat (None: a server that
    #: does not beat, from before migration 0009)
    beat: int
    renewed: datetime | None
    #: whether the holder holds the centre's claim too (False after a takeover from a
    #: hung server, until that server's process ends)
    claimed: bool


class CentreTaken(Conflict):
    """A standby's takeover lost the race to another server (``Store.take_lease``)."""


class TakeoverBlocked(CentreTaken):
    """A standby's takeover from a hung server waited in vain for a lock that server
    holds (stopped inside a write): ``Store.end_sessions_of`` (PostgreSQL) or ending
    its process (SQLite, same machine) frees it."""


def process_name() -> str:
    """This process as a lease's holder and its PostgreSQL sessions' name ends:
    ``queue-pc pid 4242``."""
    return f"{socket.gethostname()} pid {os.getpid()}"


#: a lease holder's text -> (host, pid)
HOLDER = re.compile(r"^(?P<host>.+) pid (?P<pid>\d+)$")


def normalise_url(url: str) -> str:
    """Accept a plain file path for SQLite and plain ``postgresql://`` for psycopg 3.

    A PostgreSQL URL may name several servers, libpq's way: a primary and its standby,
    ``postgresql://walkin@db1:5432,db2:5432/walkin?target_session_attrs=read-write``
    (docs/operations.md, "PostgreSQL primary and standby"). SQLAlchemy reads that as
    one host with a bad port, so the hosts move into its own form, one ``host=h:p``
    each in the query; libpq then tries them in turn for every new connection."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    if scheme.startswith("postgresql"):
        rest = _hosts_into_query(rest)
    return f"{scheme}://{rest}"


def _hosts_into_query(rest: str) -> str:
    """``user@h1:p1,h2:p2/db?q`` -> ``user@/db?host=h1:p1&host=h2:p2&q``; anything
    with one host unchanged."""
    before, question, query = rest.partition("?")
    authority, slash, path = before.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return rest
    names = hosts.split(",")
    if any(not name or name.startswith("[") for name in names):
        raise InvalidRequest(
            f"The database URL's host list {hosts!r} is not one this server can read: "
            "write it as name:port,name:port (host names or IPv4 addresses, no empty "
            "entries; for IPv6 addresses give each a host name)."
        )
    if any(":" in name for name in names):  # libpq's default port for those without
        names = [name if ":" in name else f"{name}:5432" for name in names]
    extra = "&".join(f"host={name}" for name in names)
    return f"{userinfo}{at}{slash}{path}?{extra}{'&' if query else ''}{query}"


#: libpq settings of every PostgreSQL connection Walkin makes (the store's pool and the
#: claim's connection, ``writer_lock``), so that a database machine that vanished from
#: the network (power cut, cable pulled: no reset ever comes) is noticed in seconds, not
#: after the kernel's 15 minutes of retransmissions, well within a standby's takeover
#: timeout (``walkin serve --takeover-after``, 5 s by default):
#:
#: - ``connect_timeout`` (s): a host of a multi-host URL that does not answer (a dead
#:   primary's machine) costs at most this before libpq tries the next;
#: - ``tcp_user_timeout`` (ms): a query or commit sent and not acknowledged by the peer's
#:   machine within this ends in an error (``unavailable``: the kiosk retries), instead
#:   of holding the queue;
#: - ``keepalives_*`` (s): an idle connection (the claim's, or one in the pool) is probed
#:   after IDLE s, every INTERVAL s; with ``tcp_user_timeout`` set, the kernel gives it
#:   up once the probes go unanswered that long.
#:
#: A slow query is not cut short by any of these: the peer's kernel acknowledges it at
#: once, however long PostgreSQL then takes.
PG_CONNECT: dict[str, int] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "tcp_user_timeout": 4_000,
}

#: what libpq must be told to connect only to the primary of several servers
_WRITABLE_SESSIONS = ("read-write", "primary")


def require_writable_hosts(url: str) -> None:
    """A URL naming several PostgreSQL servers must say to connect only to the one
    that takes writes: libpq otherwise takes the first that answers, a standby too,
    and every write there fails ("read-only transaction")."""
    parsed = sa.engine.make_url(url)
    hosts = parsed.query.get("host")
    if not isinstance(hosts, tuple) and "," not in (hosts or ""):
        return
    wanted = parsed.query.get("target_session_attrs")
    if wanted not in _WRITABLE_SESSIONS:
        raise InvalidRequest(
            f"The database URL names several PostgreSQL servers "
            f"({', '.join(hosts if isinstance(hosts, tuple) else [hosts or ''])}) but "
            f"target_session_attrs is {wanted or 'not set'}: add target_session_attrs="
            "read-write to the URL's settings (postgresql://USER@HOST1:PORT,HOST2:PORT/"
            "DBNAME?target_session_attrs=read-write) so that Walkin connects only to the "
            "primary, never to a read-only standby."
        )


#: how long a SQLite write waits for the database's one writer before it fails
SQLITE_BUSY_SECONDS = 30


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            pool_use_lifo=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed ticket survives power loss, not just a process crash.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        require_writable_hosts(url)
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=PG_CONNECT
        )
    raise InvalidRequest(
        f"Unsupported database URL {url!r}: use a file path, sqlite:///FILE or "
        "postgresql+psycopg://user@host/dbname."
    )


def hash_token(token: str) -> str:
    # Device tokens are 256 random bits, so a plain SHA-256 is as strong as a slow
    # hash here, and it lets us look the token up by its hash directly.
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """The durable store of one or more centres. Thread-safe (one engine, a pool)."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        #: since when, and why, writes have been failing (None once one succeeds):
        #: ``/healthz`` reports ``degraded`` meanwhile. A ``Conflict`` is no failure
        #: (the database answered, and refused a clash).
        self.write_failure: tuple[datetime, str] | None = None
        self._insert = (
            postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        )
        #: statements built once and kept (``_statement``)
        self._statements: dict[tuple[Any, ...], Any] = {}
        #: (centre, epoch) once this store writes for a centre's active server
        #: (``take_lease``): every write transaction checks the epoch is still its own
        self._fence: tuple[str, int] | None = None
        #: why this store no longer writes, once its server stepped down (``resign``)
        self._resigned: str | None = None
        #: each centre's time zone, as registered (``_zone``): which day is over
        self._zones: dict[str, tzinfo] = {}
        #: SQLite: the one connection ``commit`` writes through, kept between
        #: transactions (``_writing``), and the lock that takes its transactions in turn
        self._writer: sa.Connection | None = None
        self._writer_pool: Any = None
        self._writer_lock = threading.Lock()
        if self.engine.dialect.name == "postgresql":
            # the sessions of a server that hangs can be told apart and ended by the
            # standby taking over (``end_sessions_of``)
            name = f"walkin {process_name()}"[:63]

            @sa.event.listens_for(self.engine, "connect")
            def _name_session(dbapi_connection: Any, _record: Any) -> None:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('application_name', %s, false)", (name,))
                dbapi_connection.commit()

    # ------------------------------------------------------------ the active server

    def take_lease(
        self,
        centre_id: str,
        holder: str,
        now: datetime | None = None,
        *,
        claimed: bool = True,
        replaces: int | None = None,
    ) -> int:
        """Become ``centre_id``'s active server: the next epoch (1 for the first), with
        ``holder`` (host and process, for the operator), and fence this store's writes
        with it. Call while holding the centre's claim (``writer_lock``), so that no two
        servers take the same epoch; ``claimed`` says so in the row.

        A standby taking over from a *hung* active server (its heartbeat stood still,
        but it still holds the claim) passes ``claimed=False`` and ``replaces``: the
        epoch it saw stand still. The lease is taken only if the epoch is still that
        one (``CentreTaken`` otherwise: another standby was quicker), so two standbys
        never both take over from one hung server."""
        at = now or datetime.now(UTC)
        sqlite_wait = replaces is not None and self.engine.dialect.name == "sqlite"
        try:
            with self.engine.connect() as conn:
                if sqlite_wait:  # the hung server may hold the write lock: not 30 s
                    conn.exec_driver_sql("PRAGMA busy_timeout=3000")
                    conn.commit()
                try:
                    with conn.begin():
                        if replaces is not None and self.engine.dialect.name == "postgresql":
                            conn.exec_driver_sql("SET LOCAL lock_timeout = '3s'")
                        epoch = self._next_epoch(conn, centre_id, holder, at, claimed, replaces)
                finally:
                    if sqlite_wait:
                        conn.exec_driver_sql("PRAGMA busy_timeout=30000")
                        conn.commit()
        except OperationalError as exc:
            if replaces is None:
                raise
            raise TakeoverBlocked(
                f"Could not take centre {centre_id!r} over: the database is locked "
                f"({type(exc.orig).__name__}), most likely by the server that hung while "
                "writing.",
                centre=centre_id,
            ) from None
        self._fence = (centre_id, epoch)
        return epoch

    def _next_epoch(
        self,
        conn: sa.Connection,
        centre_id: str,
        holder: str,
        at: datetime,
        claimed: bool,
        replaces: int | None,
    ) -> int:
        table = CentreLeaseRow.__table__  # type: ignore[attr-defined]
        current = conn.execute(
            sa.select(table.c.epoch, table.c.holder)
            .where(table.c.centre == centre_id)
            .with_for_update()
        ).first()
        if replaces is not None and (current is None or current.epoch != replaces):
            raise CentreTaken(
                f"Another server took centre {centre_id!r} first"
                f"{f' ({current.holder})' if current else ''}; this one stays standby.",
                centre=centre_id,
            )
        epoch = 1 if current is None else current.epoch + 1
        self._upsert(
            conn,
            table,
            {
                "centre": centre_id,
                "epoch": epoch,
                "holder": holder[:200],
                "since": at,
                "beat": 0,
                "renewed": at,
                "claimed": claimed,
            },
            ["centre"],
        )
        return epoch

    def end_sessions_of(self, holder: str) -> int:
        """PostgreSQL: end every session of the server ``holder`` (a lease's holder,
        ``host pid N``: its sessions are named after it), which hung holding locks the
        takeover needs; its claim's advisory lock goes with them. Returns how many were
        ended. SQLite: 0 (a process there is ended by its pid: ``serving``)."""
        found = HOLDER.match(holder)
        if self.engine.dialect.name != "postgresql" or found is None:
            return 0
        ending = f"pid {found['pid']} {found['host']}"
        with self.engine.begin() as conn:
            # PostgreSQL 14 and later wait (up to 5 s) for each session to be gone, so
            # the takeover that follows does not meet its locks, nor a second call
            # count it again; before 14, the signal is only sent
            wait = ", 5000" if (conn.dialect.server_version_info or (0,)) >= (14,) else ""
            rows = conn.execute(
                sa.text(
                    f"SELECT pg_terminate_backend(pid{wait}) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND (application_name = :pool OR application_name LIKE :claim)"
                ),
                {
                    "pool": f"walkin {found['host']} pid {found['pid']}"[:63],
                    "claim": f"walkin serve % {ending}",
                },
            ).all()
        return sum(1 for row in rows if row[0])

    def resign(self, why: str) -> int | None:
        """Stop writing as the centre's active server, without asking the database
        (its server steps down because the database has not answered for the takeover
        timeout: ``serving.ClaimedQueueServer``): from now on every write that checks
        the fence raises ``NotActive`` (``why``) before it sends anything. Returns the
        epoch given up (None if this store never took a lease)."""
        self._resigned = why
        return None if self._fence is None else self._fence[1]

    def _require_not_resigned(self) -> None:
        if self._resigned is not None:
            raise NotActive(self._resigned, centre=self._fence[0] if self._fence else None)

    @property
    def fenced(self) -> bool:
        """Whether this store writes as a centre's active server (``take_lease``)."""
        return self._fence is not None

    def beat_lease(self, now: datetime | None = None, *, claimed: bool | None = None) -> int:
        """The active server's heartbeat (``serving.LEASE_BEAT_SECONDS``): one more on
        its lease row, so a standby can tell it is alive. ``claimed=True`` also records
        that it now holds the centre's claim (it took over from a hung server, and that
        server's process has ended since). ``NotActive`` if another server took the
        centre meanwhile: this one must stop. Returns the new beat."""
        if self._fence is None:
            raise NotActive("This server has not taken its centre's lease.")
        self._require_not_resigned()
        centre_id, epoch = self._fence
        table = CentreLeaseRow.__table__  # type: ignore[attr-defined]

        def build() -> Any:
            # built once (a beat a second, and the credentials' poll four times, were
            # most of an idle server's CPU when each built and hashed its statement)
            values: dict[str, Any] = {"beat": table.c.beat + 1, "renewed": sa.bindparam("at")}
            if claimed is not None:
                values["claimed"] = sa.bindparam("claimed")
            return (
                table.update()
                .where(table.c.centre == sa.bindparam("c"), table.c.epoch == sa.bindparam("e"))
                .values(**values)
                .returning(table.c.beat)
            )

        parameters: dict[str, Any] = {"c": centre_id, "e": epoch, "at": now or datetime.now(UTC)}
        if claimed is not None:
            parameters["claimed"] = claimed
        with self.engine.begin() as conn:
            beat = conn.execute(
                self._statement(("beat", claimed is not None), build), parameters
            ).scalar()
            if beat is None:
                self._check_fence(conn)  # raises NotActive, saying who has it
                raise NotActive(f"The lease of centre {centre_id!r} is gone.")
        return int(beat)

    def lease(self, centre_id: str) -> Lease | None:
        """The centre's lease: epoch, holder, since, heartbeat; None if no server took it."""
        table = CentreLeaseRow.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    table.c.epoch,
                    table.c.holder,
                    table.c.since,
                    table.c.beat,
                    table.c.renewed,
                    table.c.claimed,
                ).where(table.c.centre == centre_id)
            ).first()
        if row is None:
            return None
        return Lease(
            row.epoch,
            row.holder,
            convert.must_utc(row.since),
            row.beat,
            None if row.renewed is None else convert.must_utc(row.renewed),
            bool(row.claimed),
        )

    def _check_fence(self, conn: sa.Connection) -> None:
        """In a write transaction of a fenced store: ``NotActive`` unless the centre's
        epoch is still this store's. On PostgreSQL the row is read ``FOR SHARE``, so a
        takeover's new epoch waits for this transaction to end: a write is either
        before the takeover or refused, never after it. On SQLite the database's one
        writer at a time does the same."""
        if self._fence is None:
            return
        centre_id, epoch = self._fence

        def build() -> Any:
            table = CentreLeaseRow.__table__  # type: ignore[attr-defined]
            query = sa.select(table.c.epoch, table.c.holder).where(
                table.c.centre == sa.bindparam("centre")
            )
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(read=True)
            return query

        # through the driver's own cursor where it can (driver_rows: SQLite's,
        # psycopg's): this read comes with every write
        row = first_row(conn, self._statement(("fence",), build), {"centre": centre_id})
        current, holder = (None, None) if row is None else row
        if current != epoch:
            raise NotActive(
                f"This server is no longer the active server for centre {centre_id!r}: "
                f"{'another server took over' if row else 'its lease is gone'}"
                f"{f' ({holder})' if row else ''}. Nothing was saved; connect to the "
                "active server.",
                centre=centre_id,
                epoch=epoch,
                current_epoch=current,
            )

    def close(self) -> None:
        with self._writer_lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()
        self.engine.dispose()

    # ------------------------------------------------------------ schema

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic ``upgrade head``). Safe to repeat."""
        from .migrate import upgrade

        upgrade(self.engine)

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    # ------------------------------------------------------------ writes

    def _upsert(
        self, conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: Sequence[str]
    ) -> None:
        """Insert ``values`` as a row of ``table``, or update the row with the same
        ``keys``. The statement is built once per table and columns and reused with
        new parameters (``_statement``)."""
        write_row(conn, self._upsert_statement(table, keys, tuple(values)), values)

    def _upsert_statement(
        self, table: sa.Table, keys: Sequence[str], names: tuple[str, ...]
    ) -> Any:
        def build() -> Any:
            stmt = self._insert(table)
            return stmt.on_conflict_do_update(
                index_elements=list(keys),
                set_={name: stmt.excluded[name] for name in names if name not in keys},
            )

        return self._statement(("upsert", table.name, tuple(keys), names), build)

    def _statement(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """A statement built once and kept: SQLAlchemy then finds its compiled form by a
        cache key it has already worked out, instead of building and hashing a new
        statement for every row (a third of a commit's CPU on the issue path)."""
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = self._statements[key] = build()
        return stmt

    def commit(
        self,
        centre_id: str,
        events: Sequence[Event],
        also: Callable[[sa.Connection], None] | None = None,
    ) -> None:
        """Write the events' resulting state and their audit rows, all or nothing;
        ``also(conn)`` writes more rows in the same transaction (a new ticket's wait
        estimate: ``store.estimates.insert_estimates``).

        Raises ``Unavailable`` if the database cannot commit (nothing is written),
        ``Conflict`` if a unique rule would be broken (a number already used).
        """
        if not events:
            return
        with self._writing() as conn:
            rebooked = self._booked_before(conn, centre_id, events)
            for event in events:
                self._write_event(conn, centre_id, event)
            if also is not None:
                also(conn)
            # kiosks' blocks and offline runs (issue 13 item 4), in the same transaction
            offline_rows.write(self, conn, centre_id, events)
            self._mark_late_events(conn, centre_id, events, rebooked)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        """One transaction of ``commit`` or ``commit_bulk``: a clash is ``Conflict``,
        a database that cannot write ``Unavailable`` (noted for ``/healthz``)."""
        try:
            self._require_not_resigned()
            with self._write_connection() as conn, conn.begin():
                self._check_fence(conn)
                yield conn
        except NotActive:
            raise
        except IntegrityError as exc:
            self.write_failure = None
            raise Conflict(
                "That change clashes with one already stored (a number or key in use).",
                detail=str(exc.orig),
            ) from exc
        except (OperationalError, SQLAlchemyError) as exc:
            self._writes_failing(exc)
            raise Unavailable(
                "The queue database could not save the change; nothing was changed. "
                "Try again in a moment.",
                detail=str(getattr(exc, "orig", exc)),
            ) from exc
        except Exception as exc:
            self._writes_failing(exc)
            raise
        self.write_failure = None

    @contextlib.contextmanager
    def _write_connection(self) -> Iterator[sa.Connection]:
        """The connection a ``_writing`` transaction goes through. On PostgreSQL one
        from the pool (pinged first: a server that failed over is found there). On
        SQLite, which has one writer at a time anyway, the same connection every time,
        kept open, its transactions one after another under a lock: a pooled connection
        cost a ticket's commit 100-190 us of CPU to take and give back (about a tenth
        of it at 50 tickets a second), and its page cache stays warm. A connection
        SQLAlchemy found broken is replaced at the next transaction."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.connect() as conn:
                yield conn
            return
        if not self._writer_lock.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise OperationalError(
                "waiting for the store's writer", None, TimeoutError("database is locked")
            )
        try:
            writer = self._writer
            # a new one if it broke, or if the engine's pool was let go since (``dispose``:
            # every connection from then on is a new one, this one too)
            if (
                writer is None
                or writer.invalidated
                or writer.closed
                or self._writer_pool is not self.engine.pool
            ):
                if writer is not None:
                    writer.close()
                self._writer = writer = self.engine.connect()
                self._writer_pool = self.engine.pool
            yield writer
        finally:
            self._writer_lock.release()

    def commit_bulk(self, centre_id: str, events: Sequence[Event], *, audit: bool = True) -> None:
        """Write many events at once (a generated day, ``walkin history generate``):
        the same rows in the end as ``commit(events)``, in one transaction, but each
        table's rows in one statement with many parameter sets, and each ticket,
        counter, booking and service once, in its last state (``commit`` writes every
        change in turn: twenty times slower for a day of events). The same errors.

        ``audit=False`` leaves out the audit rows: only for databases made to measure
        reports (``bench/bench_history.py``), where the trail would be four fifths of
        the bytes and nothing reads it."""
        if not events:
            return
        issued: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        sequences: dict[tuple[str, date], int] = {}
        counters: dict[str, dict[str, Any]] = {}
        appointments: dict[str, dict[str, Any]] = {}
        services: dict[str, dict[str, Any]] = {}
        trail = []
        for event in events:
            ticket = event.ticket
            if ticket is not None:
                values = convert.ticket_values(centre_id, ticket)
                if isinstance(event, TicketIssued):
                    key = (prefix_of(ticket.number), ticket.day)
                    sequences[key] = max(sequences.get(key, 0), ticket.seq)
                    issued[ticket.id] = values
                elif ticket.id in issued:
                    issued[ticket.id] = values
                else:
                    changed[ticket.id] = values
            if event.counter is not None:
                counters[event.counter.name] = convert.counter_values(centre_id, event.counter)
            if event.appointment is not None:
                appointments[event.appointment.ref] = convert.appointment_values(
                    centre_id, event.appointment
                )
            if event.service is not None:
                services[event.service.code] = {
                    "centre": centre_id,
                    "code": event.service.code,
                    "target_wait_seconds": int(event.service.target_wait.total_seconds()),
                }
            if audit:
                trail.append(convert.audit_values(centre_id, event))
        with self._writing() as conn:
            rebooked = self._booked_before(conn, centre_id, events)
            self._mark_late_events(conn, centre_id, events, rebooked)
            for (prefix, day), seq in sequences.items():
                self._advance_sequence(conn, centre_id, prefix, day, seq)
            if issued:
                conn.execute(sa.insert(TicketRow.__table__), list(issued.values()))  # type: ignore[arg-type]
            for table, rows, keys in (
                (TicketRow.__table__, changed, ["id"]),
                (CounterRow.__table__, counters, ["centre", "name"]),
                (AppointmentRow.__table__, appointments, ["centre", "ref"]),
                (ServiceRow.__table__, services, ["centre", "code"]),
            ):
                if rows:
                    self._upsert_many(conn, table, list(rows.values()), keys)  # type: ignore[arg-type]
            if trail:
                conn.execute(sa.insert(AuditRow.__table__), trail)  # type: ignore[arg-type]

    def _upsert_many(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: list[dict[str, Any]],
        keys: Sequence[str],
    ) -> None:
        """Insert or update ``rows`` (each with every column of its kind) in one
        statement with many parameter sets."""
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: stmt.excluded[name] for name in rows[0] if name not in keys},
        )
        conn.execute(stmt, rows)

    def _writes_failing(self, exc: BaseException) -> None:
        """Note a failed write for ``/healthz``: since when (the first failure of a
        run of them) and why (the database's own words, first line)."""
        orig = getattr(exc, "orig", None) or exc
        why = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
        since = self.write_failure[0] if self.write_failure else datetime.now(UTC)
        self.write_failure = (since, f"{type(orig).__name__}: {why}")

    def _write_event(self, conn: sa.Connection, centre_id: str, event: Event) -> None:
        if event.ticket is not None:
            ticket = event.ticket
            if isinstance(event, TicketIssued):
                self._advance_sequence(
                    conn, centre_id, prefix_of(ticket.number), ticket.day, ticket.seq
                )
                write_row(
                    conn,
                    self._statement(
                        ("insert", "ticket"),
                        lambda: sa.insert(TicketRow.__table__),  # type: ignore[arg-type]
                    ),
                    convert.ticket_values(centre_id, ticket),
                )
            else:
                self._upsert(
                    conn,
                    TicketRow.__table__,  # type: ignore[arg-type]
                    convert.ticket_values(centre_id, ticket),
                    ["id"],
                )
        if event.counter is not None:
            self._upsert(
                conn,
                CounterRow.__table__,  # type: ignore[arg-type]
                convert.counter_values(centre_id, event.counter),
                ["centre", "name"],
            )
        if event.appointment is not None:
            self._upsert(
                conn,
                AppointmentRow.__table__,  # type: ignore[arg-type]
                convert.appointment_values(centre_id, event.appointment),
                ["centre", "ref"],
            )
        if event.service is not None:
            self._upsert(
                conn,
                ServiceRow.__table__,  # type: ignore[arg-type]
                {
                    "centre": centre_id,
                    "code": event.service.code,
                    "target_wait_seconds": int(event.service.target_wait.total_seconds()),
                },
                ["centre", "code"],
            )
        write_row(
            conn,
            self._statement(
                ("insert", "audit"),
                lambda: sa.insert(AuditRow.__table__),  # type: ignore[arg-type]
            ),
            convert.audit_values(centre_id, event),
        )

    def _advance_sequence(
        self, conn: sa.Connection, centre_id: str, prefix: str, day: date, seq: int
    ) -> None:
        table = NumberSequenceRow.__table__

        def build() -> Any:
            stmt = self._insert(table)
            # Only ever forwards: a number once issued is never issued again that day.
            return stmt.on_conflict_do_update(
                index_elements=["centre", "prefix", "day"],
                set_={"last": stmt.excluded.last},
                where=table.c.last < stmt.excluded.last,
            )

        write_row(
            conn,
            self._statement(("sequence",), build),
            {"centre": centre_id, "prefix": prefix, "day": day, "last": seq},
        )

    # ------------------------------------------------------------ late writes

    def mark_late_writes(
        self,
        conn: sa.Connection,
        centre_id: str,
        at: datetime,
        *,
        days: Sequence[date] = (),
        moments: Sequence[datetime] = (),
    ) -> None:
        """In ``conn``'s write transaction, made at ``at`` (the decision's time): count
        a late write for each day among those it touches that was over by then (or by
        this machine's clock, if later): ``days``, rows' own days (a ticket's, an
        answer's, an estimate's); ``moments``, times whose local day is the row's (a
        booking's, a choice's). A write of today's rows only compares dates. The
        roll-ups of the days counted no longer count (``store.rollups``)."""
        if not days and not moments:
            return
        zone = self._zone(conn, centre_id)
        today = rollup_rows.local_today(max(at, datetime.now(UTC)), zone)
        late = rollup_rows.late_days(today, zone, days, moments)
        if late:
            rollup_rows.count_late_writes(self, conn, centre_id, late)

    def _mark_late_events(
        self,
        conn: sa.Connection,
        centre_id: str,
        events: Sequence[Event],
        rebooked: Sequence[datetime],
    ) -> None:
        """``mark_late_writes`` for the days ``events`` change: each ticket's day,
        each booking's time (and the time a changed booking had, ``rebooked`` the times
        of bookings booked anew over a row of the same reference)."""
        days = [event.ticket.day for event in events if event.ticket is not None]
        moments = list(rebooked)
        for event in events:
            if event.appointment is not None:
                moments.append(event.appointment.at)
                if isinstance(event, AppointmentChanged):
                    moments.append(event.from_at)
        self.mark_late_writes(
            conn, centre_id, max(e.at for e in events), days=days, moments=moments
        )

    def _booked_before(
        self, conn: sa.Connection, centre_id: str, events: Sequence[Event]
    ) -> list[datetime]:
        """The stored times of the bookings ``events`` book (``AppointmentBooked``)
        over a row of the same reference: a cancelled booking booked again, or an
        earlier day's reference used again. Each such row that its day counts (it was
        cancelled, used, or its slot is over) is kept as it was in ``appointment_past``
        first, so its day's figures do not change when the new booking takes the
        reference's row; a row only booked, for a slot still to come, has nothing to
        keep. Nothing is read for events that book nothing (every ticket's)."""
        # the rows as stored before this transaction: a reference booked, cancelled and
        # booked again within one ``commit_bulk`` keeps only its stored row (a
        # generated day never uses a reference twice; the server commits one decision
        # at a time)
        booked_at: dict[str, datetime] = {}
        for event in events:
            if isinstance(event, AppointmentBooked) and event.appointment is not None:
                booked_at.setdefault(event.appointment.ref, event.at)
        if not booked_at:
            return []
        a = AppointmentRow.__table__.c  # type: ignore[attr-defined]
        refs = sorted(booked_at)
        found: list[datetime] = []
        kept: list[dict[str, Any]] = []
        for start in range(0, len(refs), 500):
            query = sa.select(a.ref, a.service, a.at, a.status, a.ticket_id, a.language).where(
                a.centre == centre_id, a.ref.in_(refs[start : start + 500])
            )
            for row in conn.execute(query):
                at = convert.must_utc(row.at)
                found.append(at)
                replaced = booked_at[row.ref]
                if row.status != AppointmentStatus.BOOKED.value or at < replaced:
                    kept.append({**row._asdict(), "centre": centre_id, "at": at,
                                 "replaced_at": replaced})  # fmt: skip
        if kept:
            conn.execute(sa.insert(PastAppointmentRow.__table__), kept)  # type: ignore[arg-type]
        return found

    def _zone(self, conn: sa.Connection, centre_id: str) -> tzinfo | None:
        """The centre's time zone: as registered (``register_centre``, ``load_centre``,
        else the ``centre`` row, read once); None if it is not registered or not a zone
        (``store.rollups`` then takes every day it is anywhere)."""
        zone = self._zones.get(centre_id)
        if zone is not None:
            return zone
        c = CentreRow.__table__.c  # type: ignore[attr-defined]
        name = conn.execute(sa.select(c.timezone).where(c.id == centre_id)).scalar()
        try:
            zone = ZoneInfo(name) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is not None:
            self._zones[centre_id] = zone
        return zone

    # ------------------------------------------------------------ rebuild

    def visit_lengths(
        self, centre_id: str, first: date, last: date
    ) -> list[tuple[str, datetime, timedelta]]:
        """The visits of ``centre_id``'s days ``first`` to ``last``: (service, when the
        visit began, how long it lasted) for each ticket completed with an outcome, as
        ``Centre.recent_durations`` takes today's. What the wait estimate learns from
        earlier days (``durations.VisitHistory``); three plain columns, by the
        (centre, day) index, never one object per row."""
        t = TicketRow.__table__.c  # type: ignore[attr-defined]
        query = sa.select(t.service, t.service_started_at, t.finished_at).where(
            t.centre == centre_id,
            t.day >= first,
            t.day <= last,
            t.state == str(TicketState.DONE),
            t.outcome.is_not(None),
            t.service_started_at.is_not(None),
            t.finished_at.is_not(None),
        )
        with self.engine.connect() as conn:
            visits = []
            for service, began, ended in conn.execute(query):
                began = convert.must_utc(began)
                visits.append((service, began, convert.must_utc(ended) - began))
            return visits

    def load_centre(self, setup: CentreSetup, now: datetime) -> Centre:
        """The live centre as stored: today's tickets and every unfinished one,
        counters, live service changes, today's and future bookings, sequences."""
        centre_id = setup.centre_id
        self._zones[centre_id] = setup.tz
        today = now.astimezone(setup.tz).date()
        unfinished = sorted(str(state) for state in TicketState if state not in FINAL_STATES)
        with self.engine.connect() as conn:
            t = TicketRow.__table__.c
            # two reads, each by its own index (centre, day) and (centre, state): one
            # with "day >= today OR state NOT IN final" read every ticket the centre
            # ever had (128 ms with a year in the table: issue 12)
            found = {
                r.id: r
                for query in (
                    sa.select(TicketRow.__table__).where(t.centre == centre_id, t.day >= today),
                    sa.select(TicketRow.__table__).where(
                        t.centre == centre_id, t.state.in_(unfinished)
                    ),
                )
                for r in conn.execute(query)
            }
            rows = sorted(found.values(), key=lambda r: (r.issued_at, r.id))
            # plain rows: ticket_from_row reads them by column name (no TicketRow each)
            tickets = [convert.ticket_from_row(r) for r in rows]  # type: ignore[arg-type]
            c = CounterRow.__table__.c
            counters = [
                convert.counter_from_row(CounterRow(**r._mapping))
                for r in conn.execute(sa.select(CounterRow.__table__).where(c.centre == centre_id))
            ]
            s = ServiceRow.__table__.c
            targets = {
                r.code: r.target_wait_seconds
                for r in conn.execute(sa.select(ServiceRow.__table__).where(s.centre == centre_id))
            }
            a = AppointmentRow.__table__.c
            since = datetime.combine(today, datetime.min.time(), tzinfo=setup.tz) - timedelta(
                days=1
            )
            appointments = [
                convert.appointment_from_row(AppointmentRow(**r._mapping))
                for r in conn.execute(
                    sa.select(AppointmentRow.__table__).where(a.centre == centre_id, a.at >= since)
                )
            ]
            q = NumberSequenceRow.__table__.c
            sequences = {
                (r.prefix, r.day): r.last
                for r in conn.execute(
                    sa.select(NumberSequenceRow.__table__).where(
                        q.centre == centre_id, q.day >= today - timedelta(days=1)
                    )
                )
            }
            blocks, offline_runs = offline_rows.load(conn, centre_id, today)
        services = [
            Service(**{**svc.__dict__, "target_wait": timedelta(seconds=targets[svc.code])})
            for svc in setup.services
            if svc.code in targets
        ]
        return Centre(
            setup,
            tickets=tickets,
            counters=counters,
            appointments=appointments,
            services=services,
            sequences=sequences,
            blocks=blocks,
            offline_runs=offline_runs,
        )

    # ------------------------------------------------------------ reads for reports

    def tickets_for_day(self, centre_id: str | None, day: date) -> list[sa.Row[Any]]:
        """Every ticket numbered on ``day`` (the centre's local day), any centre if None:
        plain rows, read by column name as a ``TicketRow``'s attributes are (building a
        ``TicketRow`` for each cost six times the read itself: issue 12)."""
        t = TicketRow.__table__.c
        query = sa.select(TicketRow.__table__).where(t.day == day)
        if centre_id is not None:
            query = query.where(t.centre == centre_id)
        with self.engine.connect() as conn:
            return all_rows(conn, query.order_by(t.issued_at))

    def audit(
        self, centre_id: str, *, ticket_id: str | None = None, limit: int = 1000
    ) -> list[AuditRow]:
        a = AuditRow.__table__.c
        query = sa.select(AuditRow.__table__).where(a.centre == centre_id)
        if ticket_id is not None:
            query = query.where(a.ticket_id == ticket_id)
        with self.engine.connect() as conn:
            return [AuditRow(**r._mapping) for r in conn.execute(query.order_by(a.id).limit(limit))]

    def booking_changes(self, centre_id: str, since: datetime, limit: int = 20) -> list[AuditRow]:
        """The latest ``limit`` bookings made, moved or cancelled by a booking system
        (an ``integration:`` actor, the bookings API) since ``since``, newest first:
        the audit rows the manager dashboard lists."""
        a = AuditRow.__table__.c
        query = (
            sa.select(AuditRow.__table__)
            .where(a.centre == centre_id, a.at >= since, a.actor.startswith("integration:"))
            .where(a.kind.in_(BOOKING_CHANGE_KINDS))
            .order_by(a.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [AuditRow(**r._mapping) for r in conn.execute(query)]

    # ------------------------------------------------------------ centres

    def register_centre(self, setup: CentreSetup, now: datetime | None = None) -> None:
        """Record that this database serves ``setup``'s centre (idempotent)."""
        self._zones[setup.centre_id] = setup.tz
        with self.engine.begin() as conn:
            self._upsert(
                conn,
                CentreRow.__table__,  # type: ignore[arg-type]
                {
                    "id": setup.centre_id,
                    "name": setup.name,
                    "timezone": str(setup.tz),
                    "updated_at": now or datetime.now(UTC),
                },
                ["id"],
            )

    def centre_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [
                r.id
                for r in conn.execute(
                    sa.select(CentreRow.__table__.c.id).order_by(CentreRow.__table__.c.id)
                )
            ]

    def only_centre(self) -> str:
        """The database's one centre; ``InvalidRequest`` if there are none or several."""
        ids = self.centre_ids()
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise InvalidRequest(
                "This database has no centre yet: pass --centre ID (the [centre] id in "
                "your centre.toml), or start 'walkin serve' on it once."
            )
        raise InvalidRequest(
            f"This database serves several centres ({', '.join(ids)}): pass --centre ID."
        )

    # ------------------------------------------------------------ credentials

    def enroll_device(
        self, centre_id: str, role: str, name: str, now: datetime | None = None
    ) -> str:
        """Create a kiosk, board or integration credential; returns the token (shown
        once only)."""
        if role not in ROLES_DEVICE:
            raise InvalidRequest(
                f"A device role is one of {', '.join(ROLES_DEVICE)}, not {role!r}."
            )
        if not name.strip():
            raise InvalidRequest("A device needs a name, e.g. 'Lobby kiosk 1'.")
        token = f"wk_{secrets.token_urlsafe(32)}"
        row = {
            "centre": centre_id,
            "name": name.strip(),
            "role": role,
            "token_hash": hash_token(token),
            "created_at": now or datetime.now(UTC),
            "revoked": False,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(DeviceRow.__table__), row)  # type: ignore[arg-type]
        except IntegrityError:
            raise Conflict(
                f"A device called {name!r} is already enrolled at centre {centre_id!r}; "
                "choose another name."
            ) from None
        return token

    def device_for_token(self, token: str) -> DeviceRow | None:
        d = DeviceRow.__table__.c
        with self.engine.connect() as conn:
            r = conn.execute(
                sa.select(DeviceRow.__table__).where(
                    d.token_hash == hash_token(token), d.revoked.is_(False)
                )
            ).first()
        return DeviceRow(**r._mapping) if r else None

    def devices(self, centre_id: str) -> list[DeviceRow]:
        d = DeviceRow.__table__.c
        with self.engine.connect() as conn:
            return [
                DeviceRow(**r._mapping)
                for r in conn.execute(
                    sa.select(DeviceRow.__table__).where(d.centre == centre_id).order_by(d.name)
                )
            ]

    def revoke_device(
        self, centre_id: str, name: str, now: datetime | None = None, actor: str = "system:cli"
    ) -> None:
        """Withdraw a device's token (a lost or stolen kiosk), audited; ``NotFound`` if
        unknown. Running servers close its open connections within a second (the
        credentials generation: ``credentials_generation``)."""
        d = DeviceRow.__table__.c
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(DeviceRow.__table__)  # type: ignore[arg-type]
                .where(d.centre == centre_id, d.name == name)
                .values(revoked=True)
            )
            if done.rowcount == 0:
                raise NotFound(f"No device called {name!r} at centre {centre_id!r}.")
            self._credentials_withdrawn(
                conn, centre_id, now, actor, "device_revoked", {"device": name}
            )

    def rotate_device_token(
        self, centre_id: str, name: str, now: datetime | None = None, actor: str = "system:cli"
    ) -> str:
        """A new token for an enrolled device, audited; returns it (shown once only).
        The old token stops working at once, and running servers close the connections
        made with it within a second. ``NotFound`` for an unknown device, ``Conflict``
        for a revoked one (enrol it again instead)."""
        d = DeviceRow.__table__.c
        now = now or datetime.now(UTC)
        token = f"wk_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(d.revoked).where(d.centre == centre_id, d.name == name)
            ).first()
            if row is None:
                raise NotFound(f"No device called {name!r} at centre {centre_id!r}.")
            if row.revoked:
                raise Conflict(
                    f"Device {name!r} is revoked; enrol it again with 'walkin enroll' under "
                    "another name instead."
                )
            conn.execute(
                sa.update(DeviceRow.__table__)  # type: ignore[arg-type]
                .where(d.centre == centre_id, d.name == name)
                .values(token_hash=hash_token(token))
            )
            self._credentials_withdrawn(
                conn, centre_id, now, actor, "device_token_rotated", {"device": name}
            )
        return token

    def devices_named(self, centre_id: str, names: set[str]) -> dict[str, DeviceRow]:
        """The devices of these names (an indexed lookup; absent names are left out)."""
        if not names:
            return {}
        d = DeviceRow.__table__.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(DeviceRow.__table__).where(d.centre == centre_id, d.name.in_(names))
            ).all()
        return {r.name: DeviceRow(**r._mapping) for r in rows}

    # ------------------------------------------------------------ credentials generation

    def credentials_generation(self, centre_id: str) -> int:
        """How many times a credential of this centre has been withdrawn (0: never).
        One primary-key lookup: every running server reads it a few times a second
        to close the connections of a revoked device or a disabled account at once."""
        g = CredentialsGenerationRow.__table__.c
        statement = self._statement(
            ("credentials generation",),
            lambda: sa.select(g.generation).where(g.centre == sa.bindparam("centre")),
        )
        with self.engine.connect() as conn:
            row = first_row(conn, statement, {"centre": centre_id})
        return int(row[0] if row is not None and row[0] is not None else 0)

    def _credentials_withdrawn(
        self,
        conn: sa.Connection,
        centre_id: str,
        now: datetime,
        actor: str,
        kind: str,
        payload: dict[str, Any],
    ) -> None:
        """In ``conn``'s transaction: the audit row of a withdrawn credential, and the
        centre's credentials generation raised by one."""
        self._audit_note(conn, centre_id, now, actor, kind, payload)
        self.raise_credentials_generation(conn, centre_id, now)

    def raise_credentials_generation(
        self, conn: sa.Connection, centre_id: str, now: datetime
    ) -> None:
        """Raise the centre's credentials generation by one in ``conn``'s transaction."""
        table = CredentialsGenerationRow.__table__
        stmt = self._insert(table).values(centre=centre_id, generation=1, changed_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["centre"],
            set_={"generation": table.c.generation + 1, "changed_at": now},
        )
        conn.execute(stmt)

    def record_connections_closed(
        self, centre_id: str, at: datetime, who: str, why: str, connections: int
    ) -> None:
        """Audit a server closing ``who``'s (an actor: ``kiosk:NAME``, ``staff:NAME``)
        open connections because its credential was withdrawn (``why``)."""

        def work(conn: sa.Connection) -> None:
            self._audit_note(
                conn,
                centre_id,
                at,
                "system:server",
                "connections_closed",
                {"who": who, "why": why, "connections": connections},
                reason=why,
            )

        self._write("closed connections", work)

    def add_staff(
        self,
        centre_id: str,
        username: str,
        role: str,
        password_hash: str,
        now: datetime | None = None,
    ) -> None:
        if role not in ROLES_STAFF:
            raise InvalidRequest(f"A staff role is one of {', '.join(ROLES_STAFF)}, not {role!r}.")
        row = {
            "centre": centre_id,
            "username": username,
            "role": role,
            "password_hash": password_hash,
            "created_at": now or datetime.now(UTC),
            "active": True,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(StaffRow.__table__), row)  # type: ignore[arg-type]
        except IntegrityError:
            raise Conflict(
                f"Staff member {username!r} already exists at centre {centre_id!r}."
            ) from None

    def staff(self, centre_id: str, username: str) -> StaffRow | None:
        s = StaffRow.__table__.c
        with self.engine.connect() as conn:
            r = conn.execute(
                sa.select(StaffRow.__table__).where(
                    s.centre == centre_id, s.username == username, s.active.is_(True)
                )
            ).first()
        return StaffRow(**r._mapping) if r else None

    def disable_staff(
        self,
        centre_id: str,
        username: str,
        now: datetime | None = None,
        actor: str = "system:cli",
    ) -> None:
        """Stop ``username`` signing in (the row stays, for the audit trail), audited;
        running servers close the account's pages within a second. ``NotFound`` if
        there is no such active account."""
        s = StaffRow.__table__.c
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(StaffRow.__table__)  # type: ignore[arg-type]
                .where(s.centre == centre_id, s.username == username, s.active.is_(True))
                .values(active=False)
            )
            if done.rowcount == 0:
                raise NotFound(f"No active staff member {username!r} at centre {centre_id!r}.")
            self._credentials_withdrawn(
                conn, centre_id, now, actor, "staff_disabled", {"username": username}
            )

    def set_staff_role(
        self,
        centre_id: str,
        username: str,
        role: str,
        now: datetime | None = None,
        actor: str = "system:cli",
    ) -> str:
        """Give an active account another role, audited; returns the role it had.
        Its open pages close within a second (they were signed in with the old role):
        the person signs in again. ``InvalidRequest`` for an unknown role,
        ``NotFound`` for no such active account, ``Conflict`` if it has that role."""
        if role not in ROLES_STAFF:
            raise InvalidRequest(f"A staff role is one of {', '.join(ROLES_STAFF)}, not {role!r}.")
        s = StaffRow.__table__.c
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            was = conn.execute(
                sa.select(s.role).where(
                    s.centre == centre_id, s.username == username, s.active.is_(True)
                )
            ).scalar_one_or_none()
            if was is None:
                raise NotFound(f"No active staff member {username!r} at centre {centre_id!r}.")
            if was == role:
                raise Conflict(f"{username!r} is already a {role}.")
            conn.execute(
                sa.update(StaffRow.__table__)  # type: ignore[arg-type]
                .where(s.centre == centre_id, s.username == username, s.active.is_(True))
                .values(role=role)
            )
            self._credentials_withdrawn(
                conn,
                centre_id,
                now,
                actor,
                "staff_role_changed",
                {"username": username, "from": was, "to": role},
            )
        return str(was)

    def update_password_hash(self, staff_id: int, password_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(StaffRow.__table__)  # type: ignore[arg-type]
                .where(StaffRow.__table__.c.id == staff_id)
                .values(password_hash=password_hash)
            )

    # ------------------------------------------------------------ device status

    def _write(self, what: str, work: Any) -> None:
        """Run ``work(conn)`` in one transaction; a database failure is ``Unavailable``."""
        try:
            self._require_not_resigned()
            with self.engine.begin() as conn:
                self._check_fence(conn)
                work(conn)
        except NotActive:
            raise
        except IntegrityError:
            self.write_failure = None
            raise
        except SQLAlchemyError as exc:
            self._writes_failing(exc)
            raise Unavailable(
                f"The queue database could not save the {what}; nothing was changed. "
                "Try again in a moment.",
                detail=str(getattr(exc, "orig", exc)),
            ) from exc
        self.write_failure = None

    @staticmethod
    def _audit_note(
        conn: sa.Connection,
        centre_id: str,
        at: datetime,
        actor: str,
        kind: str,
        payload: dict[str, Any],
        reason: str | None = None,
        ticket: tuple[str, str] | None = None,
    ) -> None:
        """An audit row for something that is not a core event (a device's report);
        ``ticket``: the (id, number) of the ticket it is about, if any."""
        conn.execute(
            sa.insert(AuditRow.__table__),  # type: ignore[arg-type]
            {
                "centre": centre_id,
                "at": at,
                "actor": actor,
                "kind": kind,
                "ticket_id": ticket[0] if ticket else None,
                "ticket_number": ticket[1] if ticket else None,
                "counter": None,
                "reason": reason,
                "payload": json.dumps(payload),
            },
        )

    def record_device_status(
        self,
        centre_id: str,
        device: str,
        component: str,
        status: str,
        detail: str | None,
        at: datetime,
        actor: str,
    ) -> None:
        def work(conn: sa.Connection) -> None:
            self._upsert(
                conn,
                DeviceStatusRow.__table__,  # type: ignore[arg-type]
                {
                    "centre": centre_id,
                    "device": device,
                    "component": component,
                    "status": status,
                    "detail": detail,
                    "at": at,
                },
                ["centre", "device", "component"],
            )
            self._audit_note(
                conn,
                centre_id,
                at,
                actor,
                "device_status",
                {"device": device, "component": component, "status": status},
                reason=detail,
            )

        self._write("device status", work)

    def record_reprint(
        self,
        centre_id: str,
        at: datetime,
        actor: str,
        ticket_id: str,
        number: str,
        reason: str,
        kiosk: str,
    ) -> None:
        """Audit a ticket printed again (``ticket_reprinted``): who asked (``actor``),
        which ticket, why, and on which kiosk."""

        def work(conn: sa.Connection) -> None:
            self._audit_note(
                conn,
                centre_id,
                at,
                actor,
                "ticket_reprinted",
                {"kiosk": kiosk, "reason": reason},
                reason=reason,
                ticket=(ticket_id, number),
            )

        self._write("reprint", work)

    def issuing_kiosk(self, centre_id: str, ticket_id: str) -> str | None:
        """The name of the kiosk that issued (or checked in) this ticket, from the
        audit trail (indexed by ticket); None if no kiosk did."""
        a = AuditRow.__table__.c
        with self.engine.connect() as conn:
            actor = conn.execute(
                sa.select(a.actor)
                .where(a.centre == centre_id, a.ticket_id == ticket_id, a.actor.like("kiosk:%"))
                .order_by(a.id)
                .limit(1)
            ).scalar_one_or_none()
        return actor.split(":", 1)[1] if actor else None

    def record_channel_choice(
        self,
        centre_id: str,
        device: str,
        service: str,
        choice: str,
        language: str,
        at: datetime,
        actor: str,
    ) -> None:
        """Record a visitor's choice between the service's web page and a ticket."""

        def work(conn: sa.Connection) -> None:
            self._insert_channel_choice(
                conn, centre_id, device, service, choice, language, at, actor
            )

        self._write("visitor's choice", work)

    def record_phone_channel_choice(
        self,
        centre_id: str,
        phone: str,
        service: str,
        choice: str,
        language: str,
        at: datetime,
        since: datetime,
    ) -> bool:
        """Record the choice of a phone on the join page (``web/join_page.py``) as a
        kiosk's is recorded, its device ``remote:<phone>`` (the phone's cookie, hashed),
        once: a reload or the back button does not count a second choice.

        ``"online"`` (the visitor followed the link to the service's page) is recorded
        unless the phone already made a choice for ``service`` since ``since`` (the
        start of the centre's day). ``"ticket"`` (joined anyway; once per ticket made)
        turns the phone's "online" of the day for ``service`` into "ticket", if there is
        one (back from the website to join after all: one offer, not shifted), else adds
        a row. Returns whether anything was written; ``Unavailable`` as ``_write``.
        A check, then a write: the caller makes one phone's calls one at a time (the
        join pages hold a lock)."""
        device = f"{PHONE_DEVICE}{phone}"
        c = ChannelChoiceRow.__table__.c
        written = False

        def work(conn: sa.Connection) -> None:
            nonlocal written
            earlier = conn.execute(
                sa.select(c.id, c.choice, c.at)
                .where(
                    c.centre == centre_id,
                    c.device == device,
                    c.service == service,
                    c.at >= since,
                )
                .order_by(c.id)
            ).all()
            if choice == "online" and earlier:
                return
            went_online = next((row for row in earlier if row.choice == "online"), None)
            if choice == "ticket" and went_online is not None:
                conn.execute(
                    sa.update(ChannelChoiceRow.__table__)
                    .where(c.id == went_online.id)
                    .values(choice="ticket", at=at, language=language)
                )
                self.mark_late_writes(
                    conn, centre_id, at, moments=[convert.must_utc(went_online.at), at]
                )
                self._audit_note(
                    conn,
                    centre_id,
                    at,
                    device,
                    "channel_choice",
                    {"service": service, "choice": choice, "language": language, "was": "online"},
                )
            else:
                self._insert_channel_choice(
                    conn, centre_id, device, service, choice, language, at, device
                )
            written = True

        self._write("visitor's choice", work)
        return written

    def _insert_channel_choice(
        self,
        conn: sa.Connection,
        centre_id: str,
        device: str,
        service: str,
        choice: str,
        language: str,
        at: datetime,
        actor: str,
    ) -> None:
        conn.execute(
            sa.insert(ChannelChoiceRow.__table__),
            {
                "centre": centre_id,
                "at": at,
                "device": device,
                "service": service,
                "choice": choice,
                "language": language,
            },
        )
        self.mark_late_writes(conn, centre_id, at, moments=[at])
        self._audit_note(
            conn,
            centre_id,
            at,
            actor,
            "channel_choice",
            {"service": service, "choice": choice, "language": language},
        )

    def channel_choices(
        self, centre_id: str | None, start: datetime, end: datetime
    ) -> list[sa.Row[Any]]:
        """Choices made in ``[start, end)``, any centre if ``centre_id`` is None."""
        c = ChannelChoiceRow.__table__.c
        query = sa.select(ChannelChoiceRow.__table__).where(c.at >= start, c.at < end)
        if centre_id is not None:
            query = query.where(c.centre == centre_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(c.at)))  # plain rows, as ChannelChoiceRow's

    def device_statuses(self, centre_id: str) -> list[DeviceStatusRow]:
        d = DeviceStatusRow.__table__.c
        with self.engine.connect() as conn:
            return [
                DeviceStatusRow(**r._mapping)
                for r in conn.execute(
                    sa.select(DeviceStatusRow.__table__).where(d.centre == centre_id)
                )
            ]

    # ------------------------------------------------------------ feedback

    def record_feedback(self, answer: FeedbackRow, number: str) -> None:
        """Store a visitor's answer after their visit (``FeedbackRow``, its comment
        already screened), with an audit row ``feedback_given`` (the score and the kinds
        of personal data taken out; never the comment). ``AlreadyAnswered`` if the
        ticket has an answer, however near together the two came. An answer to an
        earlier day's visit is a late write to that day (``mark_late_writes``): its
        roll-up is built again with the answer by the next report over it."""
        from queue_server.core.feedback import AlreadyAnswered

        table: sa.Table = FeedbackRow.__table__  # type: ignore[attr-defined]

        def work(conn: sa.Connection) -> None:
            if conn.execute(
                sa.select(table.c.ticket_id).where(table.c.ticket_id == answer.ticket_id)
            ).first():
                raise AlreadyAnswered("This visit's feedback has been given already.")
            conn.execute(sa.insert(table), answer.model_dump())
            self.mark_late_writes(conn, answer.centre, answer.answered_at, days=[answer.day])
            self._audit_note(
                conn,
                answer.centre,
                answer.answered_at,
                "visitor",
                "feedback_given",
                {"score": answer.score, "redacted": answer.redacted},
                ticket=(answer.ticket_id, number),
            )

        try:
            self._write("feedback", work)
        except IntegrityError:  # the same ticket's answer committed in between
            raise AlreadyAnswered("This visit's feedback has been given already.") from None

    def ticket_row(self, centre_id: str, ticket_id: str) -> TicketRow | None:
        """A ticket as stored, by its id (the feedback form of an earlier day's visit
        the running server no longer holds)."""
        table: sa.Table = TicketRow.__table__  # type: ignore[attr-defined]
        c = table.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table).where(c.centre == centre_id, c.id == ticket_id)
            ).first()
        return None if row is None else TicketRow(**row._mapping)

    def centre_of_ticket(self, ticket_id: str) -> str | None:
        """The centre a ticket id belongs to (any centre of the database), or None
        (a kiosk told of another centre's ticket scanned at it: ``confirm_here``)."""
        table: sa.Table = TicketRow.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(table.c.centre).where(table.c.id == ticket_id).limit(1)
            ).scalar()
        return None if found is None else str(found)

    def feedback_of(self, centre_id: str, ticket_id: str) -> FeedbackRow | None:
        """The ticket's answer, if it has given one."""
        table: sa.Table = FeedbackRow.__table__  # type: ignore[attr-defined]
        c = table.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table).where(c.centre == centre_id, c.ticket_id == ticket_id)
            ).first()
        return None if row is None else FeedbackRow(**row._mapping)

    def feedback_between(self, centre_id: str | None, first: date, last: date) -> list[sa.Row[Any]]:
        """The answers of the tickets of days ``first`` to ``last`` (the ticket's day,
        not the answer's), any centre if ``centre_id`` is None."""
        table: sa.Table = FeedbackRow.__table__  # type: ignore[attr-defined]
        c = table.c
        query = sa.select(table).where(c.day >= first, c.day <= last)
        if centre_id is not None:
            query = query.where(c.centre == centre_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(c.day, c.answered_at)))

    def erase_ticket_notes(self, centre_id: str, before: date, now: datetime) -> int:
        """Erase staff's notes on the centre's tickets of days before ``before`` (a note
        is for the adviser who calls the ticket, that day; the audit trail never held
        its text). Returns how many were erased."""
        c = TicketRow.__table__.c  # type: ignore[attr-defined]
        return self._erase(
            "ticket_notes_erased",
            centre_id,
            now,
            TicketRow.__table__,  # type: ignore[arg-type]
            (c.day < before, c.note.is_not(None)),
            {"note": None},
        )

    def erase_feedback_comments(self, centre_id: str, given_before: datetime, now: datetime) -> int:
        """Erase the text of the centre's comments given before ``given_before`` (their
        retention is over); the answers stay. Returns how many were erased."""
        c = FeedbackRow.__table__.c  # type: ignore[attr-defined]
        return self._erase(
            "feedback_comments_erased",
            centre_id,
            now,
            FeedbackRow.__table__,  # type: ignore[arg-type]
            (c.answered_at < given_before, c.comment.is_not(None)),
            {"comment": None, "comment_erased_at": now},
        )

    def _erase(
        self,
        kind: str,
        centre_id: str,
        now: datetime,
        table: sa.Table,
        where: tuple[Any, ...],
        values: dict[str, Any],
    ) -> int:
        """Set ``values`` on the centre's rows of ``table`` that match ``where`` (personal
        data past its keeping), and note how many in the audit trail as ``kind``, in one
        transaction. Returns how many rows."""
        erased = 0

        def work(conn: sa.Connection) -> None:
            nonlocal erased
            erased = conn.execute(
                sa.update(table).where(table.c.centre == centre_id, *where).values(**values)
            ).rowcount
            if erased:
                self._audit_note(conn, centre_id, now, "system", kind, {"count": erased})

        self._write(f"erasure of {kind.removesuffix('_erased').replace('_', ' ')}", work)
        return erased
