"""One live server per centre: a second ``walkin serve`` for a centre that already has
one refuses to start, before it reads or writes anything.

Two servers issuing for one centre would each keep its own queue in memory: they give
out the same number twice and call one ticket to two counters. Until a standby server
takes over by lease, a server claims its centre for its whole life:

- **SQLite**: an exclusive ``flock`` on ``<database file>.<centre id>.lock`` beside the
  database. The holder writes its pid, host and start time into the file for the
  refusal message. The operating system drops the lock when the process ends, however
  it ends (``kill -9`` included), so a restart after a crash is never blocked. The file
  itself stays; it is not the lock, only where the lock lives.
- **PostgreSQL**: a session advisory lock, ``pg_try_advisory_lock(key)``, on a
  connection of its own kept open (outside any transaction) for the server's life. The
  key is :func:`centre_lock_key`: the first 8 bytes of SHA-256 of
  ``"walkin centre " + centre id``, read as a signed big-endian 64-bit integer, so it
  is the same on every machine and every Python. Advisory locks belong to one
  database, so two centres sharing a database each take their own. PostgreSQL drops
  the lock when the connection ends: at once when the process dies, and within about
  10 s (the keepalive settings below) when its machine vanishes from the network. The
  server notices a connection to a vanished database in seconds too
  (``repository.PG_CONNECT``).

Usage::

    claim = claim_centre(url, centre_id)   # raises CentreInUse if another server has it
    ...                                    # serve
    claim.release()
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from queue_server.core.errors import OperatorError, WalkinError

log = logging.getLogger("walkin.serve")

#: PostgreSQL: how soon PostgreSQL itself drops the lock of a server whose machine
#: vanished (power cut, cable pulled): it probes the idle claim connection after IDLE s,
#: every INTERVAL s, COUNT times, and gives up on data unacknowledged for USER_TIMEOUT
#: ms; so the lock goes in about 10 s. (The standby does not wait for that: it takes
#: over once the active server's heartbeat has stood still for ``--takeover-after``.)
#: Ignored on a Unix-socket connection, where it cannot happen.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
SERVER_TCP_USER_TIMEOUT_MS = 10_000


class CentreInUse(OperatorError):
    """Another live server holds this centre in this database: this one must not start."""

    exit_status = 1


def centre_lock_key(centre_id: str) -> int:
    """The PostgreSQL advisory lock key of ``centre_id`` (documented above; stable)."""
    digest = hashlib.sha256(f"walkin centre {centre_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file_path(database: Path, centre_id: str) -> Path:
    """``walkin.db`` and ``demo`` -> ``walkin.db.demo.lock``, beside the database."""
    safe = centre_id if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", centre_id) else None
    name = safe or hashlib.sha256(centre_id.encode()).hexdigest()[:16]
    return database.with_name(f"{database.name}.{name}.lock")


def holder_text(holder: dict[str, Any]) -> str:
    """ "pid 123, on host kiosk-pc, since ..." from what the holder left."""
    parts = []
    if holder.get("pid"):
        parts.append(f"pid {holder['pid']}")
    if holder.get("host"):
        parts.append(f"on host {holder['host']}")
    if holder.get("started_at"):
        parts.append(f"since {holder['started_at']}")
    return ", ".join(parts) if parts else "holder unknown"


def _refusal(centre_id: str, where: str, holder: dict[str, Any], how: str) -> CentreInUse:
    return CentreInUse(
        f"Another Walkin server is already running for centre {centre_id!r} on {where} "
        f"({holder_text(holder)}). This one did not start and wrote nothing: two servers "
        "for one centre would give out the same numbers twice. Stop the other server "
        f"first, or point this one at another centre or database. ({how}; see "
        "docs/operations.md)",
        holder=holder,
    )


def _this_process() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@dataclass
class CentreClaim:
    """A held claim; :meth:`release` (or the process ending) gives it up."""

    centre_id: str
    where: str
    _release: Callable[[], None] | None = None
    _recheck: Callable[[], None] | None = None
    _abandon: Callable[[], None] | None = None

    @property
    def held(self) -> bool:
        return self._release is not None

    def recheck(self) -> None:
        """Make sure the claim still holds (a server calls this every few seconds):
        ``CentreInUse`` if it was lost and another server has the centre now, and the
        caller must stop. Only a PostgreSQL claim can be lost (its connection drops);
        a lock file is held until the process ends."""
        if self._release is not None and self._recheck is not None:
            self._recheck()

    def release(self) -> None:
        """Give the centre up; harmless to call twice."""
        release, self._release = self._release, None
        if release is not None:
            release()

    def abandon(self) -> None:
        """Give the centre up without waiting on the database (a server stepping down
        because it does not answer): a PostgreSQL claim's connection is closed in a
        thread of its own, and PostgreSQL drops the lock when it sees the session end
        (at once, or once the network is back). A lock file is let go at once."""
        release, self._release = self._release, None
        if release is None:
            return
        if self._abandon is not None:
            self._abandon()
        else:
            release()


def claim_centre(url: str, centre_id: str) -> CentreClaim:
    """Claim ``centre_id`` in the database at ``url`` (a SQLite path or a SQLAlchemy URL)
    for this process; :class:`CentreInUse` if a live server already has it.

    Touches nothing in the database itself: on SQLite only the lock file is opened; on
    PostgreSQL a connection takes an advisory lock, which writes no row.
    """
    from .repository import normalise_url

    normalised = normalise_url(url)
    if normalised.startswith("sqlite"):
        return _claim_sqlite(normalised, centre_id)
    if normalised.startswith("postgresql"):
        return _claim_postgresql(normalised, centre_id, shown(url))
    # make_engine says what is wrong with any other URL when the store is opened
    return CentreClaim(centre_id, normalised)


def sqlite_file(normalised_url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(normalised_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def _claim_sqlite(url: str, centre_id: str) -> CentreClaim:
    database = sqlite_file(url)
    if database is None:  # an in-memory database belongs to one process anyway
        return CentreClaim(centre_id, url)
    if not database.parent.is_dir():  # opening the store says what is wrong with that
        return CentreClaim(centre_id, str(database))
    path = lock_file_path(database, centre_id)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OperatorError(
            f"Cannot create the lock file {path}: {exc.strerror or exc}. The server needs to "
            "write in the database's folder (SQLite does too)."
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        raise _refusal(centre_id, str(database), holder, f"lock file {path}") from None
    except OSError as exc:
        os.close(fd)
        raise OperatorError(f"Cannot lock {path}: {exc.strerror or exc}.", 2) from None
    me = _this_process() | {"centre": centre_id, "database": str(database)}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)

    def release() -> None:
        # the file stays: were it deleted, a server that opened it a moment before
        # could lock the deleted file while a newcomer locks a new one: two holders
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return CentreClaim(centre_id, str(path), release)


def _read_holder(fd: int) -> dict[str, Any]:
    """What the holder wrote in the lock file; {} while it has not written yet."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def shown(url: str) -> str:
    """A database URL (or file path) as the operator gave it, without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from .repository import normalise_url

    if "://" not in url:
        return url
    try:
        make_url(normalise_url(url))  # a URL SQLAlchemy cannot read is shown cut short
    except (ArgumentError, ValueError, WalkinError):
        return url.split("://", 1)[0] + "://…"
    # the operator's own spelling (several hosts stay "h1:p1,h2:p2"), password hidden
    return re.sub(r"(://[^:/@?]*):[^@/?]*@", r"\1:***@", url, count=1)


def _claim_postgresql(url: str, centre_id: str, shown_as: str) -> CentreClaim:
    from .repository import require_writable_hosts

    try:
        require_writable_hosts(url)
    except WalkinError as exc:
        raise OperatorError(str(exc), 2) from None
    lock = _AdvisoryLock(url, centre_id, shown_as)
    try:
        lock.take()
    except BaseException:
        lock.engine.dispose()
        raise
    return CentreClaim(centre_id, shown_as, lock.release, lock.recheck, lock.abandon)


class _AdvisoryLock:
    """The session advisory lock on a connection of its own (see the module's text)."""

    def __init__(self, url: str, centre_id: str, shown_as: str) -> None:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        from .repository import PG_CONNECT

        self.centre_id, self.shown_as = centre_id, shown_as
        self.key = centre_lock_key(centre_id)
        me = _this_process()
        # shown in pg_stat_activity: how a refusal names the holder (63 bytes at most)
        name = f"walkin serve {centre_id} pid {me['pid']} {me['host']}"[:63]
        self.engine = sa.create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",  # no transaction left open for the server's life
            # a database gone from the network is noticed in seconds (the store's own)
            connect_args={**PG_CONNECT, "application_name": name},
        )
        self.conn: Any = None
        self.released = False
        self.guard = threading.Lock()  # recheck runs in a thread; release in another

    def take(self) -> None:
        """Connect and take the lock: ``CentreInUse`` if another session holds it,
        ``OperatorError`` if the database cannot be reached."""
        import sqlalchemy as sa

        try:
            conn = self.engine.connect()
        except Exception as exc:
            raise OperatorError(
                f"Cannot open the database {self.shown_as}: {connect_failure(exc)}"
            ) from None
        try:
            for setting, value in (
                ("tcp_keepalives_idle", KEEPALIVE_IDLE),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
                ("tcp_user_timeout", SERVER_TCP_USER_TIMEOUT_MS),
            ):
                conn.execute(sa.text(f"SET {setting} = {int(value)}"))
            if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(self.key))).scalar():
                holder = _postgresql_holder(conn, self.key)
                raise _refusal(
                    self.centre_id, self.shown_as, holder, f"PostgreSQL advisory lock {self.key}"
                )
        except BaseException as exc:
            with contextlib.suppress(Exception):
                conn.close()
            if isinstance(exc, sa.exc.DBAPIError):  # the database went away meanwhile
                raise OperatorError(
                    f"Cannot take the centre's lock in {self.shown_as}: {connect_failure(exc)}"
                ) from None
            raise
        self.conn = conn

    def recheck(self) -> None:
        """While the lock's connection answers, the lock is held. If the connection
        was lost (PostgreSQL restarted, the network dropped), take the lock again:
        ``CentreInUse`` if another server took it meanwhile; nothing if the database
        cannot be reached yet (the next recheck tries again)."""
        import sqlalchemy as sa

        with self.guard:
            if self.released:
                return
            if self.conn is not None:
                try:
                    self.conn.execute(sa.text("SELECT 1"))
                    return
                except Exception:
                    with contextlib.suppress(Exception):
                        self.conn.close()
                    self.conn = None
                    log.warning("lost the lock connection for centre %r", self.centre_id)
            if self.released:  # given up (``abandon``) while the check above hung
                return
            try:
                self.take()
            except CentreInUse:
                raise
            except OperatorError as exc:
                log.warning("cannot take the centre's lock again yet: %s", exc)
                return
            log.warning("centre %r claimed again on a new connection", self.centre_id)

    def abandon(self) -> None:
        """``release`` without waiting: marked released at once (no recheck takes the
        lock again), the connection closed by a thread of its own once any recheck
        hanging on it has ended (a closed connection ends the session, and with it
        the lock, without a word to PostgreSQL that could hang too)."""
        self.released = True

        def close() -> None:
            with self.guard:
                conn, self.conn = self.conn, None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.invalidate()
                self.engine.dispose()

        threading.Thread(target=close, name="walkin-claim-abandon", daemon=True).start()

    def release(self) -> None:
        import sqlalchemy as sa

        with self.guard:
            self.released = True
            if self.conn is not None:
                with contextlib.suppress(Exception):
                    self.conn.execute(sa.select(sa.func.pg_advisory_unlock(self.key)))
                with contextlib.suppress(Exception):
                    self.conn.close()
                self.conn = None
            self.engine.dispose()


def connect_failure(exc: BaseException) -> str:
    """Why a connection failed, in a line. For a URL with several hosts, libpq lists
    each host's reason ("- host: 'h', port: 'p', ...: connection failed: ...: session
    is read-only"): each is named, and when none took a read-write session, the likely
    cause and what to do (a failover under way, or a standby never promoted)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    lines = text.splitlines() or ["?"]
    tried = re.findall(r"^- host: '([^']*)', port: '([^']*)'.*failed: (.*)$", text, re.M)
    if not tried:
        return lines[0]
    each = "; ".join(f"{host}:{port} {why.strip()}" for host, port, why in tried)
    return (
        f"no server in the URL took a read-write session ({each}). If the primary has "
        "failed, promote the standby (pg_ctl promote); Walkin connects to it by itself "
        '(docs/operations.md, "PostgreSQL primary and standby").'
    )


def _postgresql_holder(conn: Any, key: int) -> dict[str, Any]:
    """Who holds advisory lock ``key`` in this database, from pg_locks."""
    import sqlalchemy as sa

    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        sa.text(
            "SELECT a.pid, a.application_name, host(a.client_addr) AS addr, a.backend_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF},
    ).first()
    if row is None:
        return {}
    name = row.application_name or ""
    found = re.fullmatch(r"walkin serve \S+ pid (\d+) (.*)", name)
    return {
        "pid": int(found.group(1)) if found else None,
        "host": (found.group(2) if found else None) or row.addr or "this machine",
        "started_at": row.backend_start.astimezone(UTC).isoformat(timespec="seconds"),
        "backend_pid": row.pid,
    }
