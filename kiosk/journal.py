"""The kiosk's offline journal: numbers leased in advance, and every ticket issued
from them while no server answered, in a SQLite file that survives a crash or a power
cut (issue 13 item 4; docs/kiosk.md, "Through an outage").

The rules it keeps:

- **Written before printed.** ``take`` picks the next unused number of a block and
  records the ticket in one transaction, committed with ``synchronous=FULL`` (SQLite
  fsyncs the file) before it returns; the kiosk prints only after that. A kiosk killed
  at any moment either has the ticket in its journal (and uploads it) or gave no
  number (and printed nothing).
- **A number once.** A block's ``next`` moves forward in the same transaction as the
  ticket's row, and the ticket's number is unique in the file.
- **Uploaded, then marked.** A ticket stays ``pending`` until the server answers for
  it (``accepted``, ``already`` or ``refused``, with the server's reason); marked
  tickets are kept until the day is over (``forget_before``), never deleted when
  uploaded, so what happened can be read back.
- **Outages.** When the link drops, ``went_offline`` notes when; when it returns,
  ``came_back``; the span goes up with the next upload and is marked reported.
- **Help asked for** goes with its ticket (``assistance``, the centre's codes) and up
  with it; a journal written before the column existed gains it on opening, its
  tickets without help.

One journal per kiosk, used from one thread (the kiosk's event loop). Plain
``sqlite3``: the kiosk does not carry the server's database stack.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS block (
    key TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    prefix TEXT NOT NULL,
    day TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket (
    key TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    service TEXT NOT NULL,
    language TEXT NOT NULL,
    day TEXT NOT NULL,
    arrival_at TEXT NOT NULL,
    assistance TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending',
    code TEXT,
    message TEXT,
    answered_at TEXT,
    UNIQUE (day, number)
);
CREATE TABLE IF NOT EXISTS outage (
    id INTEGER PRIMARY KEY,
    since TEXT NOT NULL,
    back_at TEXT,
    reported INTEGER NOT NULL DEFAULT 0
);
"""

#: the states a ticket's row goes through
PENDING, ACCEPTED, ALREADY, REFUSED = "pending", "accepted", "already", "refused"


def format_number(prefix: str, seq: int) -> str:
    """As the server prints it (``core.format_number``): ``H`` and 7 -> ``H007``."""
    return f"{prefix}{seq:03d}"


@dataclass(frozen=True)
class JournalTicket:
    """A ticket issued offline, as the journal holds it."""

    key: str
    number: str
    service: str
    language: str
    day: date
    arrival_at: datetime
    state: str = PENDING
    code: str | None = None
    #: a refusal's reason; for an accepted ticket, the help the server dropped, if any
    message: str | None = None
    #: the help the visitor asked for: the centre's assistance codes
    assistance: tuple[str, ...] = ()

    def upload_entry(self) -> dict[str, object]:
        """This ticket as ``upload_offline`` carries it (docs/protocol.md); without
        ``assistance`` when none was asked for."""
        entry: dict[str, object] = {
            "number": self.number,
            "service": self.service,
            "arrival_at": self.arrival_at.isoformat(),
            "idempotency_key": self.key,
            "language": self.language,
        }
        if self.assistance:
            entry["assistance"] = list(self.assistance)
        return entry


@dataclass(frozen=True)
class Outage:
    id: int
    since: datetime
    back_at: datetime | None


class OfflineJournal:
    """See the module docstring. ``path`` is created if need be (``:memory:`` only for
    tests that need no durability)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: every transaction is an explicit BEGIN IMMEDIATE ... COMMIT
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is fsynced before it returns, so a ticket is on disk before
        # its paper starts to print
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(ticket)")}
        if "assistance" not in columns:  # a journal from before help was journaled
            self._db.execute("ALTER TABLE ticket ADD COLUMN assistance TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ blocks

    def add_block(
        self, key: str, service: str, first_number: str, day: date, first: int, last: int
    ) -> None:
        """A block the server granted (``lease_numbers``'s reply); the same key twice
        is kept once."""
        prefix = first_number.rstrip("0123456789")
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO block (key, service, prefix, day, first, last, next)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, service, prefix, day.isoformat(), first, last, first),
            )

    def unused(self, service: str, day: date) -> int:
        """How many numbers of ``service`` for ``day`` are still in hand."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(last - next + 1), 0) FROM block"
            " WHERE service = ? AND day = ? AND next <= last",
            (service, day.isoformat()),
        ).fetchone()
        return int(row[0])

    def services_in_hand(self, day: date) -> set[str]:
        return {
            row[0]
            for row in self._db.execute(
                "SELECT DISTINCT service FROM block WHERE day = ? AND next <= last",
                (day.isoformat(),),
            )
        }

    # ------------------------------------------------------------ tickets

    def take(
        self,
        service: str,
        language: str,
        arrival_at: datetime,
        day: date,
        key: str,
        assistance: tuple[str, ...] = (),
    ) -> JournalTicket | None:
        """Issue a ticket offline: the next number in hand for ``service`` on ``day``,
        with the help asked for (``assistance``: codes without commas), recorded
        durably before this returns; None when no number is left (nothing recorded).
        The same ``key`` again returns the ticket it already made."""
        if any("," in code or not code for code in assistance):
            raise ValueError(f"not assistance codes: {assistance!r}")
        with self._transaction():
            existing = self._ticket(key)
            if existing is not None:
                return existing
            block = self._db.execute(
                "SELECT key, prefix, next FROM block WHERE service = ? AND day = ?"
                " AND next <= last ORDER BY first LIMIT 1",
                (service, day.isoformat()),
            ).fetchone()
            if block is None:
                return None
            block_key, prefix, seq = block
            self._db.execute("UPDATE block SET next = next + 1 WHERE key = ?", (block_key,))
            ticket = JournalTicket(
                key=key,
                number=format_number(prefix, seq),
                service=service,
                language=language,
                day=day,
                arrival_at=arrival_at,
                assistance=tuple(assistance),
            )
            self._db.execute(
                "INSERT INTO ticket (key, number, service, language, day, arrival_at,"
                " assistance) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    ticket.number,
                    service,
                    language,
                    day.isoformat(),
                    arrival_at.isoformat(),
                    ",".join(assistance),
                ),
            )
        return ticket

    def pending(self) -> list[JournalTicket]:
        """Tickets not yet answered for by a server, in arrival order."""
        return self._tickets("WHERE state = ? ORDER BY arrival_at, number", (PENDING,))

    def tickets(self) -> list[JournalTicket]:
        """Every ticket in the journal, in arrival order."""
        return self._tickets("ORDER BY arrival_at, number", ())

    def mark(self, answers: Iterable[dict[str, object]], at: datetime) -> None:
        """The server's answer for each uploaded ticket (``upload_offline``'s reply
        ``tickets``): accepted, already or refused, with its code and message."""
        with self._transaction():
            for answer in answers:
                key, status = answer.get("idempotency_key"), answer.get("status")
                if not isinstance(key, str) or status not in (ACCEPTED, ALREADY, REFUSED):
                    continue
                self._db.execute(
                    "UPDATE ticket SET state = ?, code = ?, message = ?, answered_at = ?"
                    " WHERE key = ? AND state = ?",
                    (
                        status,
                        answer.get("code"),
                        answer.get("message"),
                        at.isoformat(),
                        key,
                        PENDING,
                    ),
                )

    def forget_before(self, day: date) -> None:
        """Drop earlier days' blocks, and their tickets the server answered for (a
        pending one is kept: its refusal as "another day" must still be heard)."""
        with self._transaction():
            self._db.execute("DELETE FROM block WHERE day < ?", (day.isoformat(),))
            self._db.execute(
                "DELETE FROM ticket WHERE day < ? AND state != ?", (day.isoformat(), PENDING)
            )

    # ------------------------------------------------------------ outages

    def went_offline(self, at: datetime) -> None:
        """The link dropped at ``at`` (nothing if an outage is already open)."""
        with self._transaction():
            open_ = self._db.execute("SELECT id FROM outage WHERE back_at IS NULL").fetchone()
            if open_ is None:
                self._db.execute("INSERT INTO outage (since) VALUES (?)", (at.isoformat(),))

    def came_back(self, at: datetime) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE outage SET back_at = ? WHERE back_at IS NULL", (at.isoformat(),)
            )

    def unreported_outage(self) -> Outage | None:
        """The oldest outage that is over and not yet told to a server."""
        row = self._db.execute(
            "SELECT id, since, back_at FROM outage WHERE reported = 0 AND back_at IS NOT NULL"
            " ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return Outage(row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2]))

    def outage_reported(self, outage_id: int) -> None:
        with self._transaction():
            self._db.execute("UPDATE outage SET reported = 1 WHERE id = ?", (outage_id,))

    def open_outage(self) -> datetime | None:
        row = self._db.execute("SELECT since FROM outage WHERE back_at IS NULL").fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    # ------------------------------------------------------------ plumbing

    def _ticket(self, key: str) -> JournalTicket | None:
        found = self._tickets("WHERE key = ?", (key,))
        return found[0] if found else None

    def _tickets(self, where: str, args: tuple[object, ...]) -> list[JournalTicket]:
        return [
            JournalTicket(
                key=row[0],
                number=row[1],
                service=row[2],
                language=row[3],
                day=date.fromisoformat(row[4]),
                arrival_at=datetime.fromisoformat(row[5]),
                state=row[6],
                code=row[7],
                message=row[8],
                assistance=tuple(row[9].split(",")) if row[9] else (),
            )
            for row in self._db.execute(
                "SELECT key, number, service, language, day, arrival_at, state, code, message,"
                f" assistance FROM ticket {where}",
                args,
            )
        ]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_rest: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
