"""``walkin db check`` and ``walkin db backup``: what they print and their exit status.

The work is in :mod:`queue_server.store.integrity`; docs/operations.md says when to use
which.
"""

from __future__ import annotations

import argparse
import sys

from .integrity import backup_sqlite, check_database


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
        f"({report.pages} pages, {report.size} bytes; it passed SQLite's quick_check)"
    )
    return 0
