"""The shape every ``walkin`` subcommand's ``main`` shares: parse, run, say what went
wrong in one line. Imports nothing heavy (``walkin --help`` stays fast)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from queue_server.core.errors import WalkinError


def command_main(
    name: str,
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], str],
    argv: list[str],
) -> int:
    """``walkin NAME ...`` as a function: parse ``argv``, write what ``run`` returns to
    standard output. Returns the exit status: 0; argparse's (2) for bad arguments,
    after its message; a ``WalkinError``'s ``exit_status``, after one line on standard
    error naming the command (no traceback)."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return exc.code if isinstance(exc.code, int) else 2
    try:
        sys.stdout.write(run(args))
    except WalkinError as exc:
        print(f"walkin {name}: {exc}", file=sys.stderr)
        return exc.exit_status
    return 0
