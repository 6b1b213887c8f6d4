"""``walkin history generate``: past days for a centre, lived through the real core."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from datetime import date

from queue_server.core.errors import OperatorError


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; give it as YYYY-MM-DD, e.g. 2026-11-30"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="database URL or SQLite file")
    parser.add_argument("--config", required=True, help="the centre's TOML file")
    parser.add_argument(
        "--days", type=int, default=28, help="how many days, ending on --end (default 28)"
    )
    parser.add_argument(
        "--end", type=iso_date, help="the last day, YYYY-MM-DD (default: yesterday)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the same seed gives the same days (default 0)"
    )


def generate_command(args: argparse.Namespace) -> int:
    """Generate the days and print a JSON summary; an ``OperatorError`` for bad files,
    a bad range, or days that already have data (nothing is written then)."""
    from queue_server.launch import load_config, open_store
    from queue_server.simulation.history import generate_history

    setup = load_config(args.config).to_setup()
    if args.days < 1:
        raise OperatorError(f"--days must be at least 1, not {args.days}.", 2)
    store = open_store(args.db)
    started = time.monotonic()
    try:
        summary = generate_history(store, setup, days=args.days, end=args.end, seed=args.seed)
    finally:
        store.close()
    shown = {
        key: str(value) if isinstance(value, date) else value
        for key, value in asdict(summary).items()
    }
    shown["centre"] = setup.centre_id
    shown["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(shown))
    print(
        f"{summary.tickets} visits over {summary.open_days} open days, "
        f"{summary.first} to {summary.last}.",
        file=sys.stderr,
    )
    return 0
