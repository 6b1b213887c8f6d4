"""``walkin db backup`` and ``walkin db restore`` for a SQLite database; what to run
instead on PostgreSQL.

Backups use SQLite's online backup API (:meth:`sqlite3.Connection.backup`): a
consistent copy even while a server writes, taken in one step under a read
transaction, which in WAL mode never blocks the server. Every copy is checked before
it gets its name: ``PRAGMA quick_check``, then its Alembic revision (a file with no
Walkin schema is refused: it is not a centre's database). A copy is written to a
hidden file beside its destination and renamed into place, so a failure never leaves
a half-written file under the name asked for, nor replaces a good one.

A restore puts a backup in place of a centre's database: only while no server runs
on it. It takes every centre's claim on the file (the ``flock`` on each
``<db>.<centre>.lock`` beside it, writer_lock.py) and holds them until the new file
is in place, so a server cannot start halfway through. The old database (and its
``-wal`` and ``-shm``) is kept under ``<db>.before-restore-<time>``; a backup from an
older Walkin is migrated to this one's schema before it goes in.

PostgreSQL has its own tools, consistent while the servers run and matched to the
server's version: these functions refuse a PostgreSQL URL with the ``pg_dump`` or
``pg_restore`` command to run instead (docs/running-for-a-council.md says why Walkin
does not run them itself).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from queue_server.core.errors import OperatorError

from .integrity import DatabaseDamaged, _listed, sqlite_problems
from .writer_lock import _read_holder, holder_text, shown, sqlite_file


@dataclass
class BackupReport:
    source: Path
    target: Path
    pages: int
    size: int
    revision: str


@dataclass
class RestoreReport:
    source: Path
    target: Path
    #: where the database that was there is kept; None if there was none
    kept: Path | None
    revision: str
    #: the backup's revision when it was migrated on the way in, else None
    migrated_from: str | None


# ---------------------------------------------------------------- PostgreSQL


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as ``pg_dump`` and ``psql`` take it: no
    ``+psycopg``, no password (they read ``~/.pgpass`` or ``$PGPASSWORD``)."""
    if "://" not in url:
        return url
    # by hand: SQLAlchemy's parser refuses libpq's multi-host form (h1:5432,h2:5432)
    scheme, rest = url.split("://", 1)
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + hosts
    return f"{'postgresql' if scheme.startswith('postgres') else scheme}://{netloc}{slash}{path}"


def _postgresql_refusal(url: str, restoring: bool) -> OperatorError:
    target = libpq_url(url)
    if restoring:
        return OperatorError(
            f"{target} is PostgreSQL: restore it with pg_restore, not walkin. Stop "
            "every Walkin server on this database (all its centres: a dump holds them "
            "all), then run: pg_restore --clean --if-exists --single-transaction "
            f"--no-owner --dbname='{target}' walkin-YYYY-MM-DD.dump ; start the servers "
            "again (they migrate an older schema on start). See "
            "docs/running-for-a-council.md.",
            2,
        )
    return OperatorError(
        f"{target} is PostgreSQL: back it up with pg_dump, not walkin (it is "
        "consistent while the servers run). Run: pg_dump --format=custom "
        f"--file=walkin-$(date +%F).dump '{target}' ; then check the dump with "
        "pg_restore --list walkin-YYYY-MM-DD.dump. See docs/running-for-a-council.md.",
        2,
    )


# ---------------------------------------------------------------- schema


def schema_state(path: Path) -> tuple[str, str]:
    """The Alembic revision of the SQLite file at ``path`` and how it stands against
    this Walkin's: ``("0008", "current")``, ``"behind"``, ``"newer"`` or
    ``("none", "none")`` for a file with no Walkin schema."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from .migrate import MIGRATIONS

    with contextlib.closing(_open(path, "ro")) as conn:
        try:
            current = {str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version")}
        except sqlite3.OperationalError:  # no such table
            current = set()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    shown_as = ", ".join(sorted(current)) or "none"
    if not current:
        return shown_as, "none"
    if current == set(script.get_heads()):
        return shown_as, "current"
    known = {rev.revision for rev in script.walk_revisions()}
    return shown_as, ("newer" if current - known else "behind")


def _open(path: Path, mode: str) -> sqlite3.Connection:
    """A connection to an existing file (``mode`` ``ro`` or ``rw``; never creates one)."""
    return sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=30)


# ---------------------------------------------------------------- backup


def backup_sqlite(url: str, to: str | Path, *, force: bool = False) -> BackupReport:
    """Copy the SQLite database at ``url`` to the file ``to`` with the online backup
    API (safe while a server runs), check the copy (``quick_check``, a Walkin
    schema), and only then put it in place. Refuses an existing ``to`` unless
    ``force``; never leaves a half-written copy under the name ``to``."""
    source = _sqlite_path(url, restoring=False)
    if source is None or not source.is_file():
        raise OperatorError(f"No SQLite database at {source or url}: check --db.", 2)
    target = Path(to).expanduser().resolve()
    if target == source:
        raise OperatorError("--to is the database itself: give another file.", 2)
    if not target.parent.is_dir():
        raise OperatorError(f"No folder {target.parent} for the backup: create it first.", 2)
    if target.is_dir():
        raise OperatorError(f"{target} is a folder: give a file name for the backup.", 2)
    if target.exists() and not force:
        raise OperatorError(
            f"{target} already exists: choose a new name (e.g. with the date), or pass "
            "--force to replace it.",
            2,
        )
    with _partial(target) as partial:
        pages, problems, revision, _state = _copy_checked(
            source, partial, "rw", f"check --db. No backup was written to {target}."
        )
        if problems:
            raise DatabaseDamaged(
                f"The copy of {source} fails SQLite's quick_check ({_listed(problems)}), so "
                f"the database itself is damaged. No backup was written to {target}; keep "
                "your earlier backups. See docs/operations.md.",
                1,
            )
        _put_in_place(partial, target, replace=force)
    return BackupReport(source, target, pages, target.stat().st_size, revision)


def _sqlite_path(url: str, *, restoring: bool) -> Path | None:
    """The SQLite file behind ``url`` (None: in memory); a PostgreSQL URL is refused
    with the command to run instead, anything else as unknown."""
    from .repository import normalise_url

    normalised = normalise_url(url)
    if normalised.startswith("postgresql"):
        raise _postgresql_refusal(url, restoring=restoring)
    if not normalised.startswith("sqlite"):
        raise OperatorError(f"{shown(url)} is not a SQLite file or a PostgreSQL URL.", 2)
    return sqlite_file(normalised)


def _copy_checked(
    source: Path, partial: Path, mode: str, otherwise: str
) -> tuple[int, list[str], str, str]:
    """Copy ``source`` (opened ``mode``) into ``partial`` and check the copy: its pages,
    ``quick_check``'s problems, its schema revision and state (``schema_state``).
    Refuses, ending with ``otherwise``, a file that is not SQLite or has no Walkin
    schema; a damaged copy is the caller's to word (its problems are returned)."""
    try:
        pages = _copy(source, partial, mode)
    except sqlite3.DatabaseError as exc:
        raise OperatorError(f"{source} is not a SQLite database ({exc}): {otherwise}", 2) from None
    problems = sqlite_problems(partial)
    if problems:
        return pages, problems, "unknown", "damaged"
    revision, state = schema_state(partial)
    if state == "none":
        raise OperatorError(
            f"{source} is a SQLite file but not a Walkin database (no Walkin schema in it): "
            f"{otherwise}",
            2,
        )
    return pages, [], revision, state


@contextlib.contextmanager
def _partial(target: Path) -> Iterator[Path]:
    """A hidden file beside ``target`` to write a copy into; gone afterwards unless it
    was renamed to ``target``."""
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    for leftover in (partial, *_companions(partial)):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()  # left by a copy that was killed
    try:
        yield partial
    except OSError as exc:
        raise OperatorError(f"Cannot write {target}: {exc.strerror or exc}.", 1) from None
    finally:
        for leftover in (partial, *_companions(partial)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _put_in_place(partial: Path, target: Path, *, replace: bool) -> None:
    _fsync(partial)
    try:
        if replace:
            os.replace(partial, target)
        else:
            os.link(partial, target)  # fails if someone made ``target`` meanwhile
    except FileExistsError:
        raise OperatorError(f"{target} appeared while copying: nothing replaced.", 2) from None
    _fsync(target.parent)


def _copy(source: Path, target: Path, mode: str) -> int:
    """The online backup, in one step (a consistent snapshot), into a rollback-journal
    file: a backup is one self-contained file, readable from read-only media."""
    with contextlib.closing(_open(source, mode)) as src:
        with contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            return int(dst.execute("PRAGMA page_count").fetchone()[0])


def _companions(path: Path) -> tuple[Path, ...]:
    """SQLite's files beside a database: its write-ahead log and shared-memory index
    (and a rollback journal)."""
    return tuple(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- restore


def restore_sqlite(url: str, source: str | Path, *, now: datetime | None = None) -> RestoreReport:
    """Put the backup ``source`` in place of the SQLite database at ``url``.

    Refuses (``OperatorError``, nothing changed) when a server runs on the database,
    when ``source`` is missing, not a SQLite file, damaged, not a Walkin database or
    from a newer Walkin. The database that was there is kept as
    ``<db>.before-restore-<time>`` with its ``-wal`` and ``-shm``; a backup from an
    older Walkin is migrated first. The new file is checked before it gets the
    database's name."""
    target = _sqlite_path(url, restoring=True)
    if target is None:
        raise OperatorError("An in-memory database cannot be restored: give a file.", 2)
    backup = Path(source).expanduser().resolve()
    if not backup.is_file():
        raise OperatorError(f"No backup file at {backup}: check --from.", 2)
    if backup == target:
        raise OperatorError("--from is the database itself: give the backup's file.", 2)
    if not target.parent.is_dir():
        raise OperatorError(f"No folder {target.parent} for the database: check --db.", 2)
    if target.is_dir():
        raise OperatorError(f"{target} is a folder, not a database file: check --db.", 2)

    with _every_claim(target), _partial(target) as partial:
        _pages, problems, revision, state = _copy_checked(
            backup, partial, "ro", "nothing was restored."
        )
        if problems:
            raise DatabaseDamaged(
                f"The backup {backup} fails SQLite's quick_check ({_listed(problems)}): "
                "nothing was restored. Try an earlier backup.",
                2,
            )
        if state == "newer":
            raise OperatorError(
                f"The backup {backup} is at schema revision {revision}, newer than this "
                "Walkin knows: a newer Walkin wrote it. Upgrade Walkin first; nothing was "
                "restored.",
                2,
            )
        migrated_from = None
        if state == "behind":
            migrated_from = revision
            _migrate(partial)
            revision, state = schema_state(partial)
            problems = sqlite_problems(partial)
            if state != "current" or problems:  # pragma: no cover - a migration's bug
                raise OperatorError(
                    f"The backup {backup} did not migrate cleanly ({state}; "
                    f"{_listed(problems) or 'no page problems'}): nothing was restored.",
                    1,
                )
        kept = _move_aside(target, now or datetime.now(UTC))
        _put_in_place(partial, target, replace=False)
    return RestoreReport(backup, target, kept, revision, migrated_from)


def _migrate(path: Path) -> None:
    """Upgrade the copy at ``path`` to this Walkin's schema, as a server would on
    start, then leave it one self-contained file again."""
    from .migrate import upgrade
    from .repository import make_engine

    engine = make_engine(str(path))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    with contextlib.closing(_open(path, "rw")) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")


@contextlib.contextmanager
def _every_claim(database: Path) -> Iterator[None]:
    """Hold every centre's claim on ``database`` (writer_lock.py's ``flock`` on each
    ``<db>.<centre>.lock``), refusing if a server holds one: no server runs on the
    database while it is replaced, and none can start until it is in place."""
    held: list[int] = []
    try:
        for path in sorted(database.parent.glob(f"{_glob_escape(database.name)}.*.lock")):
            if "." in path.name[len(database.name) + 1 : -len(".lock")]:
                continue  # another file's lock (a centre id has no dot: writer_lock.py)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except OSError as exc:
                raise OperatorError(
                    f"Cannot open the lock file {path}: {exc.strerror or exc}. Run the "
                    "restore as the user the server runs as.",
                    1,
                ) from None
            held.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                centre = holder.get("centre") or path.name[len(database.name) + 1 : -5]
                raise OperatorError(
                    f"A Walkin server is running on {database} for centre {centre!r} "
                    f"({holder_text(holder)}): nothing was restored. Stop it, and its "
                    f"standby if it has one (systemctl stop walkin-server@{centre} on "
                    "each host), then restore again.",
                    1,
                ) from None
        yield
    finally:
        for fd in held:
            os.close(fd)  # closing drops the lock


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def _move_aside(database: Path, now: datetime) -> Path | None:
    """Rename the database and its companions to ``<db>.before-restore-<time>``
    (``-wal`` and ``-shm`` kept beside it under the same new name, so the old file
    still opens whole). None if there was no database."""
    if not database.exists():
        for companion in _companions(database):
            if companion.exists():
                raise OperatorError(
                    f"{companion} is there without {database}: move it away first (a "
                    "write-ahead log left beside a restored database would be replayed "
                    "into it). Nothing was restored.",
                    2,
                )
        return None
    kept = database.with_name(
        f"{database.name}.before-restore-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    )
    if kept.exists():
        raise OperatorError(f"{kept} exists already: try again in a second.", 1)
    # not checkpointed first: a damaged file is kept exactly as it was. The companions
    # go first, so that no moment leaves a -wal beside a missing database (a new one
    # made there would have it replayed into it)
    try:
        for companion in _companions(database):
            if companion.exists():
                os.rename(
                    companion, kept.with_name(kept.name + companion.name[len(database.name) :])
                )
        os.rename(database, kept)
    except OSError as exc:
        raise OperatorError(
            f"Cannot move {database} aside: {exc.strerror or exc}. Nothing was restored.", 1
        ) from None
    return kept
