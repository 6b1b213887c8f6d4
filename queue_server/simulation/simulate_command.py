"""``walkin simulate``: replay a day of arrivals through the real queue rules in
virtual time and print the day's figures, as ``walkin report`` would (docs/simulation.md).

The core and report code is imported only once the arguments are read, so
``walkin simulate --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from queue_server.command_line import command_main
from queue_server.core.errors import OperatorError

if TYPE_CHECKING:
    from queue_server.simulation.replay import Replay


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; give it as YYYY-MM-DD, e.g. 2026-11-30"
        ) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 1 to 3660")
    return value


def build_parser(prog: str = "walkin simulate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Replay a day of arrivals through the centre's real queue rules in "
        "virtual time (no server, no database) and print the day's figures, the same as "
        "'walkin report' computes. Without --staffing, the counters are staffed as the "
        "centre's [[rota]] says, or, without one, every counter while the centre is open, "
        "by an adviser with the counter's skills. "
        "See docs/simulation.md.",
    )
    parser.add_argument("--config", required=True, help="the centre's TOML file")
    visitors = parser.add_mutually_exclusive_group(required=True)
    visitors.add_argument(
        "--arrivals",
        help="CSV, one row per visitor: arrival,kind,service,appointment,service_minutes,"
        "shows[,patience_minutes,language]",
    )
    visitors.add_argument(
        "--profile",
        help="a day profile (TOML, docs/profiles.md; e.g. examples/profiles/busy-monday.toml):"
        " draw each day's visitors from it instead",
    )
    parser.add_argument(
        "--date",
        required=True,
        type=_iso_date,
        help="the day to replay, YYYY-MM-DD (with --profile, the first of --days)",
    )
    parser.add_argument(
        "--days",
        type=_positive,
        default=1,
        help="with --profile: this many days the centre is open, from --date on (default "
        "1; closed days are passed over); text and CSV give each day, JSON a list of them",
    )
    parser.add_argument(
        "--staffing",
        metavar="PLAN.toml",
        help="a staffing plan (TOML, docs/simulation.md; e.g. "
        "examples/staffing/four-advisers.toml): which adviser sits at which counter, "
        "with which skills, their shifts and breaks; counters not in it stay closed",
    )
    parser.add_argument(
        "--no-rota",
        dest="rota",
        action="store_false",
        help="the wait estimate does not know the staffing's breaks and shifts, as at a "
        "centre whose file has no [[rota]] (by default it does, docs/rota.md)",
    )
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="with --days: each day's wait estimate does not learn visit lengths from the "
        "days replayed before it, as at a centre with no earlier days in its database "
        "(by default it does, as the server does from its last 28 days)",
    )
    parser.add_argument(
        "--policy",
        help="the routing policy to replay instead of the configuration's [policy] routing "
        "(rules, fifo, standards): the same days under two policies compare them",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="draws ticket ids and ties between idle advisers (default 0)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "csv"),
        default="text",
        help="text: a short summary (default); json: the report's figures and the "
        "simulator's; csv: the report's rows, as 'walkin report --format csv'",
    )
    parser.add_argument(
        "--tickets",
        help="also write one row per visitor to this CSV file (every day's, each row its day)",
    )
    return parser


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def _signed_minutes(seconds: float | None) -> str:
    """A bias: positive when estimates ran long, negative when they ran short."""
    return "-" if seconds is None else f"{seconds / 60:+.1f} min"


def _staffing_words(replay: Replay) -> str:
    if replay.staffing is None:
        return f"{len(replay.setup.counters)} counters staffed"
    return f'{replay.advisers} advisers (staffing "{replay.staffing.name}")'


def to_json(replay: Replay) -> str:
    from queue_server.reporting.reports import to_dict

    report = replay.report()
    data: dict[str, Any] = to_dict(report)
    data.update(replay.extra_figures(report))
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def to_text(replay: Replay) -> str:
    report = replay.report()
    extra = replay.extra_figures(report)
    o = report.overall
    refused = extra["refused_check_ins"]
    by_hour = extra["utilisation_by_hour"]
    lines = [
        f"{replay.setup.name}, {replay.day:%A %d %B %Y}: {extra['visitors']} visitors, "
        f"{_staffing_words(replay)}, routing {extra['routing']}",
        f"tickets issued     {o.issued} ({o.issued_walk_in} walk-in, "
        f"{o.issued_appointment} appointment); {o.completed} completed, "
        f"{o.no_shows} no-shows, {o.cancelled} cancelled",
        f"walk-in wait       p50 {_minutes(extra['walk_in_wait_p50_seconds'])}, "
        f"p90 {_minutes(extra['walk_in_wait_p90_seconds'])}, "
        f"max {_minutes(extra['walk_in_wait_max_seconds'])}",
        f"walk-ins in target {_percent(o.walk_ins_within_target_share)}; "
        f"{extra['walk_ins_past_twice_target']} past twice their target",
        f"appointments       {_percent(o.appointments_within_standard_share)} called within "
        f"{report.appointment_standard.total_seconds() / 60:g} min "
        f"({o.appointments_standard_met} of {o.appointments_standard_counted})",
        f"walked out         {extra['abandoned']}",
        f"estimate at issue  mean error {_minutes(extra['estimate_mae_seconds'])}, "
        f"bias {_signed_minutes(extra['estimate_bias_seconds'])} "
        f"({extra['estimates_measured']} measured)",
        "refused check-ins  "
        + (", ".join(f"{code} {n}" for code, n in refused.items()) if refused else "none"),
        f"utilisation        {_percent(extra['utilisation'])}",
        "busy by hour       "
        + "  ".join(f"{hour[:2]} {share * 100:.0f}%" for hour, share in by_hour.items()),
    ]
    return "\n".join(lines) + "\n"


#: the columns ``--format csv`` adds after the report's own
STAFFING_COLUMNS = ("staffing", "advisers")


def to_csv(done: list[Replay]) -> str:
    """``walkin report --format csv``'s rows for each day, each with the staffing plan's
    name (empty without one) and the number of advisers appended."""
    from queue_server.reporting.reports import to_csv as report_csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for index, replay in enumerate(done):
        rows = list(csv.reader(io.StringIO(report_csv(replay.report()))))
        if index == 0:
            writer.writerow([*rows[0], *STAFFING_COLUMNS])
        plan = replay.staffing.name if replay.staffing else ""
        for row in rows[1:]:
            writer.writerow([*row, plan, replay.advisers])
    return out.getvalue()


def tickets_csv(done: Sequence[Replay]) -> str:
    """One row per visitor of each replayed day, the day first (``VISIT_COLUMNS``)."""
    from queue_server.simulation.replay import VISIT_COLUMNS, visit_row

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=("day", *VISIT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for replay in done:
        for visit in replay.visits:
            writer.writerow({"day": replay.day.isoformat(), **visit_row(replay, visit)})
    return out.getvalue()


def _write_whole(path: str, text: str) -> None:
    """Write ``text`` to ``path`` all at once: a half-written file never replaces it."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise OperatorError(f"Cannot write {path}: {exc.strerror or exc}.", 2) from None


def _with_policy(setup: Any, name: str | None) -> Any:
    """The centre's setup with routing policy ``name`` (``OperatorError`` if unknown)."""
    if name is None:
        return setup
    import dataclasses

    from queue_server.core.routing import routing_policy

    try:
        routing_policy(name)
    except ValueError as exc:
        raise OperatorError(f"--policy: {exc}.", 2) from None
    return dataclasses.replace(setup, policy=dataclasses.replace(setup.policy, routing=name))


def replays(args: argparse.Namespace) -> list[Replay]:
    """Each day asked for, replayed: the arrivals file's one day, or ``--days`` days drawn
    from ``--profile`` (each day its own random stream: ``day_profile.day_seed``)."""
    from datetime import timedelta

    from queue_server.launch import load_config
    from queue_server.simulation.replay import replay_day

    setup = _with_policy(load_config(args.config).to_setup(), args.policy)
    plan = _staffing(args.staffing, setup)
    if args.arrivals:
        if args.days != 1:
            raise OperatorError("--days goes with --profile; an arrivals file is one day.", 2)
        from queue_server.simulation.arrivals import read_arrivals

        arrivals = read_arrivals(args.arrivals, {s.code for s in setup.services})
        return [
            replay_day(setup, args.date, arrivals, seed=args.seed, staffing=plan, rota=args.rota)
        ]
    from queue_server.simulation.day_profile import (
        check_services,
        day_seed,
        generate_day,
        load_profile,
    )

    profile = load_profile(args.profile)  # a ConfigError (status 2) naming the key
    check_services(profile, setup.services, source=args.profile)
    from queue_server.simulation.day import open_intervals

    # --days open days: the days the centre is closed (a Sunday) are passed over
    days: list[date] = []
    day = args.date
    while len(days) < args.days:
        if open_intervals(setup, day):
            days.append(day)
        elif day == args.date or day - args.date > timedelta(days=7 * args.days):
            break  # the first day closed: say so below; or a centre that never opens
        day += timedelta(days=1)
    if not days:
        return [replay_day(setup, args.date, [], seed=args.seed)]  # the closed-day error
    from queue_server.core.durations import HISTORY_DAYS, VisitHistory
    from queue_server.simulation.replay import day_visits

    done: list[Replay] = []
    #: each day replayed so far and its visits, for the days after it
    visited: list[tuple[date, list[tuple[str, Any, Any]]]] = []
    for day in days:
        # the days replayed before it, as the server's history of earlier days
        history = (
            VisitHistory.of(
                (
                    visit
                    for before, visits in visited
                    if day - before <= timedelta(days=HISTORY_DAYS)
                    for visit in visits
                ),
                setup.tz,
            )
            if args.history
            else None
        )
        replay = replay_day(
            setup,
            day,
            generate_day(profile, setup.services, day, day_seed(args.seed, day)),
            seed=args.seed,
            staffing=plan,
            rota=args.rota,
            history=history,
        )
        done.append(replay)
        if args.history:
            visited.append((day, day_visits(replay)))
    return done


def _staffing(path: str | None, setup: Any) -> Any:
    """The plan at ``path`` checked against the centre (a ConfigError naming the file and
    each key); without one, the centre's own ``[[rota]]`` as a plan, or None (every
    counter while open). A plan's warnings go to standard error."""
    from queue_server.simulation.staffing_plan import (
        check_plan,
        load_plan,
        plan_of_rota,
        plan_warnings,
    )

    if path is None:
        return plan_of_rota(setup)

    plan = load_plan(path)
    check_plan(plan, setup)
    for warning in plan_warnings(plan, setup):
        print(f"walkin simulate: warning: {warning}", file=sys.stderr)
    return plan


def run(args: argparse.Namespace) -> str:
    """The replays and their output text; ``OperatorError`` for bad files or options."""
    done = replays(args)
    if args.tickets:
        _write_whole(args.tickets, tickets_csv(done))
    if args.format == "json":
        if len(done) == 1:
            return to_json(done[0])
        return json.dumps([json.loads(to_json(r)) for r in done], indent=2) + "\n"
    if args.format == "csv":
        return to_csv(done)
    return "\n".join(to_text(r) for r in done)


def simulate_main(argv: list[str]) -> int:
    """``walkin simulate ...``; returns the exit status: 0, 2 for bad arguments or files
    (a one-line message on standard error, no traceback)."""
    return command_main("simulate", build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(simulate_main(sys.argv[1:]))
