"""``walkin history generate``: past days for a centre, lived through the real core."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from datetime import date

from queue_server.core.errors import OperatorError
from queue_server.core.model import CentreSetup

#: a share of walk-outs above this says the counters cannot take the day's visitors
#: (a real one-stop shop loses a few per cent: docs/history.md)
WALK_OUT_WARNING = 0.25


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
    parser.add_argument("--days", type=int, help="how many days, ending on --end (default 28)")
    parser.add_argument(
        "--end", type=iso_date, help="the last day, YYYY-MM-DD (default: yesterday)"
    )
    parser.add_argument(
        "--from", dest="first", type=iso_date, metavar="YYYY-MM-DD",
        help="the first day (with --to, instead of --days and --end)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="last", type=iso_date, metavar="YYYY-MM-DD", help="the last day"
    )
    parser.add_argument(
        "--centres", type=int, default=1,
        help="this many centres like the configured one, ids ID-1 ... ID-N (default 1: "
        "the configured centre itself)",
    )  # fmt: skip
    parser.add_argument(
        "--visitors-per-day", type=int, metavar="N",
        help="scale the arrivals to about N visitors on an average weekday (default: "
        "the demo's one-stop shop, about 180)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=0, help="the same seed gives the same days (default 0)"
    )


def day_range(args: argparse.Namespace) -> tuple[int, date | None]:
    """``(days, end)`` from either ``--from``/``--to`` or ``--days``/``--end``; an
    ``OperatorError`` (status 2) for a mix of the two or a range that runs backwards."""
    if args.first is None and args.last is None:
        days = 28 if args.days is None else args.days
        if days < 1:
            raise OperatorError(f"--days must be at least 1, not {days}.", 2)
        return days, args.end
    if args.days is not None or args.end is not None:
        raise OperatorError("Give either --from and --to, or --days (and --end), not both.", 2)
    if args.first is None or args.last is None:
        raise OperatorError("--from and --to go together: give both days.", 2)
    if args.last < args.first:
        raise OperatorError(
            f"--to {args.last} is before --from {args.first}; give the earlier day first.", 2
        )
    return (args.last - args.first).days + 1, args.last


def centres_of(setup: CentreSetup, count: int) -> list[CentreSetup]:
    """``count`` centres like ``setup``: itself for one; else ids ``ID-1`` ... and
    names ``NAME 1`` ..., each its own centre in the database (its own tickets,
    counters and number sequences)."""
    if count < 1:
        raise OperatorError(f"--centres must be at least 1, not {count}.", 2)
    if count > 1000:
        raise OperatorError(f"--centres {count} is more than 1000; give at most 1000.", 2)
    if count == 1:
        return [setup]
    return [
        replace(setup, centre_id=f"{setup.centre_id}-{n}", name=f"{setup.name} {n}")
        for n in range(1, count + 1)
    ]


def generate_command(args: argparse.Namespace) -> int:
    """Generate the days and print a JSON summary per centre (one line each); an
    ``OperatorError`` for bad files, a bad range, or days that already have data (for
    any centre: then nothing is written)."""
    from queue_server.launch import load_config, open_store
    from queue_server.simulation.history import generate_histories, scaled_profile
    from queue_server.simulation.profiles import ONE_STOP_SHOP

    days, end = day_range(args)
    setups = centres_of(load_config(args.config).to_setup(), args.centres)
    profile = ONE_STOP_SHOP
    if args.visitors_per_day is not None:
        profile = scaled_profile(profile, args.visitors_per_day)
    store = open_store(args.db)
    started = time.monotonic()
    try:
        summaries = generate_histories(
            store, setups, days=days, end=end, seed=args.seed, profile=profile
        )
    finally:
        store.close()
    for setup, summary in zip(setups, summaries, strict=True):
        shown = {
            key: str(value) if isinstance(value, date) else value
            for key, value in asdict(summary).items()
        }
        shown["centre"] = setup.centre_id
        shown["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(shown))
    visits = sum(s.tickets for s in summaries)
    first = summaries[0]
    print(
        f"{visits} visits over {first.open_days} open days at {len(setups)} "
        f"centre{'s' if len(setups) > 1 else ''}, {first.first} to {first.last}.",
        file=sys.stderr,
    )
    walked_out = sum(s.walked_out for s in summaries)
    if visits and walked_out > WALK_OUT_WARNING * visits:
        counters = len(setups[0].counters)
        print(
            f"walkin history generate: warning: {walked_out} of {visits} visitors "
            f"({walked_out / visits:.0%}) walked out before being seen: {counters} "
            f"counter{'s' if counters != 1 else ''} cannot serve this many a day. For "
            "realistic days, add [[counters]] to the configuration or give fewer "
            "--visitors-per-day.",
            file=sys.stderr,
        )
    return 0
