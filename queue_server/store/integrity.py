"""Is the database sound: ``walkin db check`` and the check a server runs before it
starts (``walkin db backup`` and ``restore`` check their copies with it: backup.py).

A SQLite file damaged on disk (a bad sector, a copy taken mid-write, a restore gone
wrong) can still open and answer queries while some of its pages are garbage: a server
on it would issue tickets into a broken queue. So a server runs SQLite's
``PRAGMA quick_check`` before anything else and refuses to start on a failure, saying
what to do (docs/operations.md). ``quick_check`` reads every page, so it costs about
as long as reading the file once; ``integrity_check`` (``walkin db check --full``)
also checks that every index matches its table, and takes longer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from queue_server.core.errors import OperatorError

from .writer_lock import shown, sqlite_file

#: problems listed in a message before "and N more"
SHOWN_PROBLEMS = 5


class DatabaseDamaged(OperatorError):
    """The SQLite file fails its check: a server must not start on it."""

    exit_status = 2


@dataclass
class CheckReport:
    """What ``walkin db check`` found: ``ok`` with one line, or the problems."""

    database: str
    summary: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _connect_existing(path: Path) -> sqlite3.Connection:
    """A connection to an existing file (never creates one), waiting out a writer."""
    return sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=30)


def sqlite_problems(path: Path, *, full: bool = False) -> list[str]:
    """What ``PRAGMA quick_check`` (``integrity_check`` with ``full``) reports about the
    SQLite file at ``path``: [] when sound. A file that is not a database, or one
    too damaged to read, is one problem, never an exception."""
    pragma = "integrity_check" if full else "quick_check"
    try:
        conn = _connect_existing(path)
    except sqlite3.Error as exc:
        return [f"cannot open it: {exc}"]
    try:
        rows = [str(row[0]) for row in conn.execute(f"PRAGMA {pragma}")]
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def _listed(problems: list[str]) -> str:
    shown_now = "; ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return shown_now + (f"; and {more} more" if more > 0 else "")


def require_sound(url: str) -> None:
    """Before a server starts: raise :class:`DatabaseDamaged`, saying what to do, if
    the SQLite file at ``url`` fails ``quick_check``. A file not made yet, an
    in-memory database and PostgreSQL (which checks its own pages) pass."""
    from .repository import normalise_url

    normalised = normalise_url(url)
    if not normalised.startswith("sqlite"):
        return
    path = sqlite_file(normalised)
    if path is None or not path.exists():
        return
    problems = sqlite_problems(path)
    if problems:
        raise DatabaseDamaged(
            f"The database {path} is damaged: SQLite's quick_check found "
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} ({_listed(problems)}). "
            "The server did not start and wrote nothing. Keep the damaged file for "
            "investigation, restore your latest backup in its place (one made by "
            "'walkin db backup'), check it with 'walkin db check --db FILE', then start "
            "again. See docs/operations.md."
        )


def check_database(url: str, *, full: bool = False) -> CheckReport:
    """``walkin db check``: SQLite's page check, then the schema's Alembic revision
    against this version of Walkin's (on PostgreSQL, the revision only)."""
    from .repository import normalise_url

    normalised = normalise_url(url)
    if normalised.startswith("sqlite"):
        path = sqlite_file(normalised)
        if path is None:
            raise OperatorError("An in-memory database cannot be checked: give a file.", 2)
        if not path.is_file():
            return CheckReport(str(path), "", [f"no database file at {path}"])
        pragma = "integrity_check" if full else "quick_check"
        problems = sqlite_problems(path, full=full)
        if problems:
            return CheckReport(
                str(path),
                "",
                [f"SQLite's {pragma} failed: {p}" for p in problems]
                + ["restore the latest backup (docs/operations.md)"],
            )
        revision, problems = schema_revision(normalised)
        return CheckReport(
            str(path), f"passed SQLite's {pragma}; schema at revision {revision}", problems
        )
    if normalised.startswith("postgresql"):
        revision, problems = schema_revision(normalised)
        return CheckReport(shown(url), f"schema at revision {revision}", problems)
    raise OperatorError(
        f"Unsupported database URL {shown(url)}: use a SQLite file or "
        "postgresql://user@host/dbname.",
        2,
    )


def schema_revision(normalised_url: str) -> tuple[str, list[str]]:
    """The database's Alembic revision, and what is wrong with it ([] when it is the
    one this version of Walkin expects)."""
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.pool import NullPool

    from .migrate import alembic_config

    engine = sa.create_engine(normalised_url, poolclass=NullPool)
    try:
        expected = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        return "unknown", [f"cannot read it: {first}"]
    finally:
        engine.dispose()
    now = ", ".join(sorted(current)) or "none"
    wanted = ", ".join(sorted(expected))
    if current == expected:
        return now, []
    if not current:
        return now, [
            "it has no Walkin schema: 'walkin serve' creates one on its first start; "
            "is this the right database?"
        ]
    script = ScriptDirectory.from_config(alembic_config(engine))
    known = {rev.revision for rev in script.walk_revisions()}
    if current - known:
        return now, [
            f"schema revision {now} is newer than this Walkin knows ({wanted}): a newer "
            "version of Walkin wrote it; upgrade Walkin"
        ]
    return now, [
        f"schema revision {now} is behind this Walkin's {wanted}: take a backup, then "
        "start 'walkin serve' once (it upgrades the schema on start)"
    ]
