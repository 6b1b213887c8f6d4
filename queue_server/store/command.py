"""``walkin db check``, ``backup`` and ``restore``: what they print and their exit status.

The work is in :mod:`queue_server.store.integrity` and :mod:`queue_server.store.backup`;
docs/operations.md says when to use which.
"""

from __future__ import annotations

import argparse
import sys

from .backup import backup_sqlite, restore_sqlite
from .integrity import check_database


def db_check(args: argparse.Namespace) -> int:
    """One line starting "ok:" and status 0, or the problems on stderr and status 1."""
    report = check_database(args.db, full=args.full)
    if report.ok:
        print(f"ok: {report.database} {report.summary}")
        return 0
    print(f"walkin db check: {report.database} has problems:", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def db_backup(args: argparse.Namespace) -> int:
    """Copy, verify, then say where the copy is (refusals are ``OperatorError``)."""
    report = backup_sqlite(args.db, args.to, force=args.force)
    print(
        f"ok: backed up {report.source} to {report.target} "
        f"({report.pages} pages, {report.size} bytes; it passed SQLite's quick_check; "
        f"schema at revision {report.revision})"
    )
    return 0


def db_restore(args: argparse.Namespace) -> int:
    """Put a backup in place, then say where the old database went (refusals are
    ``OperatorError``)."""
    report = restore_sqlite(args.db, args.source)
    kept = (
        f"the database that was there is kept as {report.kept}"
        if report.kept
        else "there was no database there before"
    )
    migrated = (
        f"; migrated from revision {report.migrated_from} to {report.revision}"
        if report.migrated_from
        else f"; schema at revision {report.revision}"
    )
    print(f"ok: restored {report.source} to {report.target}{migrated}; {kept}")
    print(
        "Tickets issued after the backup was taken are not in it: numbering carries on "
        "from the backup's last number. Start the servers again.",
        file=sys.stderr,
    )
    return 0
