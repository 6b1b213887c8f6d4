"""``walkin staffing``: how many advisers, with which skills, a weekday needs
(docs/staffing.md). Erlang C per hour first, then the real routing simulated over
generated days for 3, 4, 5 … advisers.

The core, report and database code is imported only once the arguments are read, so
``walkin staffing --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

from queue_server.command_line import command_main
from queue_server.core.errors import OperatorError


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of {what} from {low} to {high}"
            )
        return value

    return parse


def _share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share such as 0.95 or 95%")
    return value


def _money(text: str) -> float:
    try:
        value = float(text.lstrip("£"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in pounds from 0 to 1000")
    return value


def build_parser(prog: str = "walkin staffing") -> argparse.ArgumentParser:
    from queue_server.simulation.staffing_advice import DEFAULT_ADVISER_COST_PER_HOUR

    parser = argparse.ArgumentParser(
        prog=prog,
        description="How many advisers, with which skills, a weekday needs to meet the "
        "centre's targets: Erlang C per hour and service for a quick answer, then the "
        "centre's real routing simulated over generated days for 3, 4, 5 ... advisers. "
        "See docs/staffing.md.",
    )
    parser.add_argument("--config", required=True, help="the centre's TOML file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--profile", help="a day profile (TOML, docs/profiles.md)")
    source.add_argument(
        "--history",
        metavar="DB_URL",
        help="fit the profile from the centre's own days in this database (read only)",
    )
    parser.add_argument(
        "--weeks",
        type=_whole(1, 520, "weeks"),
        default=8,
        help="with --history: the last N weeks of the weekday (default 8)",
    )
    parser.add_argument(
        "--weekday",
        default="monday",
        help="monday ... sunday or mon ... sun (default monday): the day's opening hours, "
        "and with --history the days the profile is fitted from",
    )
    parser.add_argument(
        "--days",
        type=_whole(1, 1000, "days"),
        default=20,
        help="generated days simulated for each number of advisers (default 20)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the days drawn (default 0)")
    parser.add_argument(
        "--appointments-target",
        type=_share,
        default=0.98,
        help="share of appointments to call within the standard (default 0.98)",
    )
    parser.add_argument(
        "--walk-ins-target",
        type=_share,
        default=0.95,
        help="share of walk-ins to see within their service's target (default 0.95)",
    )
    parser.add_argument(
        "--adviser-cost",
        type=_money,
        default=DEFAULT_ADVISER_COST_PER_HOUR,
        help="an adviser's cost an hour in pounds, pay and on-costs, for the cost per visit "
        f"(default {DEFAULT_ADVISER_COST_PER_HOUR:g}; docs/staffing.md)",
    )
    parser.add_argument(
        "--max-advisers",
        type=_whole(1, 30, "advisers"),
        help="try at most this many (default: Erlang C's separate-pools answer + 3)",
    )
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text")
    parser.add_argument(
        "--write-profile",
        metavar="FILE",
        help="with --history: also write the fitted profile (TOML, loads in "
        "'walkin simulate --profile')",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on standard error")
    return parser


def _open_history(url: str) -> object:
    """The database at ``url``, opened for reading: never created, never migrated."""
    import sqlalchemy as sa

    from queue_server.launch import reason, shown_url
    from queue_server.store import Store, normalise_url

    try:
        parsed = sa.engine.make_url(normalise_url(url))
    except sa.exc.ArgumentError:
        raise OperatorError(f"--history: {url!r} is not a database URL or file path.", 2) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise OperatorError(f"--history: there is no database file at {parsed.database}.", 2)
    try:
        store = Store(url)
        store.ping()
    except Exception as exc:
        raise OperatorError(f"--history: cannot open {shown_url(url)}: {reason(exc)}", 1) from None
    return store


def run(args: argparse.Namespace) -> str:
    """The advice as text, JSON or CSV; ``OperatorError`` for bad files or options."""
    from datetime import UTC, datetime

    from queue_server.launch import load_config
    from queue_server.simulation.staffing_advice import Targets, advise, weekday_number
    from queue_server.simulation.staffing_output import (
        CSV_COLUMNS,
        advice_dict,
        advice_rows,
        advice_text,
    )

    weekday = weekday_number(args.weekday)
    setup = load_config(args.config).to_setup()
    if args.write_profile and not args.history:
        raise OperatorError(
            "--write-profile goes with --history (it writes the fitted profile).", 2
        )

    def say(text: str) -> None:
        if not args.quiet:
            print(f"walkin staffing: {text}", file=sys.stderr, flush=True)

    if args.history:
        import sqlalchemy as sa

        from queue_server.simulation.history_profile import fit_profile
        from queue_server.simulation.staffing_advice import day_for_weekday

        today = datetime.now(UTC).astimezone(setup.tz).date()
        day_for_weekday(setup, weekday, today)  # a closed weekday: say so before reading
        store = _open_history(args.history)
        try:
            fitted = fit_profile(store, setup, weekday, args.weeks, today)  # type: ignore[arg-type]
        except sa.exc.SQLAlchemyError as exc:
            raise OperatorError(
                f"--history: cannot read the centre's tickets ({type(exc).__name__}); is this "
                "a Walkin database with an up-to-date schema?",
                1,
            ) from None
        finally:
            store.close()  # type: ignore[attr-defined]
        say(
            f"profile fitted from {len(fitted.days)} days ({fitted.tickets} tickets, "
            f"{fitted.bookings} bookings)"
        )
        for note in fitted.notes:
            say(note)
        if args.write_profile:
            from queue_server.simulation.simulate_command import _write_whole

            _write_whole(args.write_profile, fitted.text)
        profile = fitted.profile
    else:
        from queue_server.simulation.day_profile import load_profile

        profile = load_profile(args.profile)
    advice = advise(
        setup,
        profile,
        weekday,
        days=args.days,
        seed=args.seed,
        targets=Targets(args.appointments_target, args.walk_ins_target),
        adviser_cost_per_hour=args.adviser_cost,
        max_advisers=args.max_advisers,
        progress=say,
    )
    if args.format == "json":
        return json.dumps(advice_dict(advice), indent=2, allow_nan=False) + "\n"
    if args.format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(advice_rows(advice))
        return out.getvalue()
    return advice_text(advice)


def staffing_main(argv: list[str]) -> int:
    """``walkin staffing ...``; returns the exit status: 0; 2 for bad arguments or files;
    1 for a database that cannot be read (one line on standard error, no traceback)."""
    return command_main("staffing", build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(staffing_main(sys.argv[1:]))
