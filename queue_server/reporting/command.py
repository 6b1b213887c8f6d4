"""``walkin report``: a day's figures from the database, as JSON or CSV; or a range's
(``--from``/``--to``, grouped ``--by`` day, week, month, service, counter or centre),
read from the days' roll-ups (``reporting.ranges``); or, with ``--comments``, what
visitors said on those days (``reporting.comments``).

The database and report code is imported only once the arguments are read, so
``walkin report --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from queue_server.command_line import command_main
from queue_server.core.errors import OperatorError, WalkinError
from queue_server.launch import reason, shown_url

if TYPE_CHECKING:
    from queue_server.core.model import CentreSetup
    from queue_server.store import Store

#: the words ``--date`` takes besides YYYY-MM-DD, as days before the centre's today
RELATIVE_DAYS = {"today": 0}


def _iso_date(text: str) -> date | str:
    if text.strip().lower() in RELATIVE_DAYS:
        return text.strip().lower()  # resolved in the centre's time zone, once known
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; give it as YYYY-MM-DD (e.g. 2024-06-03) or today"
        ) from None


def _resolve_day(value: date | str, tz: tzinfo) -> date:
    if isinstance(value, date):
        return value
    return datetime.now(UTC).astimezone(tz).date() - timedelta(days=RELATIVE_DAYS[value])


def _at_least(minimum: int) -> Any:
    """An argparse type: a whole number not below ``minimum``."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number of {minimum} or more"
            ) from None
        return value

    return whole


def _time_zone(text: str) -> tzinfo:
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time zone name such as Europe/London"
        ) from None


def build_parser(prog: str = "walkin report") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "A day's queue figures, or a range's with --from and --to "
            "(docs/reports.md defines each one)."
        ),
    )
    parser.add_argument("--db", required=True, help="database URL or SQLite file path")
    parser.add_argument(
        "--date",
        type=_iso_date,
        default="today",
        help="the centre's local day: YYYY-MM-DD or today (the default)",
    )
    parser.add_argument(
        "--from",
        dest="first",
        type=_iso_date,
        help="a range's first day (YYYY-MM-DD or today); with --to, instead of --date",
    )
    parser.add_argument(
        "--to", dest="last", type=_iso_date, help="a range's last day (YYYY-MM-DD or today)"
    )
    parser.add_argument(
        "--by",
        choices=GROUPINGS,
        help="a range's figures per day (the default), week, month, service, counter or centre",
    )
    parser.add_argument(
        "--format",
        choices=("json", "csv", "text"),
        default="json",
        help="json (every figure, the default), csv (every figure, a row per scope) or "
        "text (visits, first-contact resolution and satisfaction, as tables)",
    )
    parser.add_argument("--centre", help="one centre's id (default: every centre, and each)")
    parser.add_argument(
        "--all-centres",
        action="store_true",
        help="every centre in the database, and each (even with --config)",
    )
    parser.add_argument(
        "--comments",
        action="store_true",
        help="what visitors said: one centre's feedback comments (personal data taken out) "
        "of --date or --from/--to, newest first, instead of the figures",
    )
    parser.add_argument("--service", help="with --comments: only this service's (its code)")
    parser.add_argument("--counter", help="with --comments: only this counter's (its name)")
    parser.add_argument(
        "--limit", type=_at_least(1), help="with --comments: at most this many (default: all)"
    )
    parser.add_argument(
        "--offset", type=_at_least(0), help="with --comments: after the first N (default 0)"
    )
    parser.add_argument("--output", help="write to this file instead of standard output")
    parser.add_argument(
        "--config",
        help="the centre's TOML file: its id, time zone, service targets and policy",
    )
    parser.add_argument(
        "--tz",
        type=_time_zone,
        help="time zone for centres the database does not list (default Europe/London)",
    )
    return parser


#: ``walkin report --by`` (``reporting.ranges.GROUPINGS``, without importing it)
GROUPINGS = ("day", "week", "month", "service", "counter", "centre")


def _check_arguments(args: argparse.Namespace) -> None:
    """The mistakes argparse cannot see, as ``OperatorError`` (exit status 2)."""
    ranged = args.first is not None or args.last is not None
    if ranged and (args.first is None or args.last is None):
        missing = "--to" if args.last is None else "--from"
        raise OperatorError(f"A range needs both --from and --to; {missing} is missing.", 2)
    if ranged and args.date != "today":
        raise OperatorError("Give either --date (one day) or --from and --to (a range).", 2)
    if args.by and not ranged:
        raise OperatorError("--by groups a range: give --from and --to too.", 2)
    if args.all_centres and args.centre:
        raise OperatorError("Give either --centre ID or --all-centres, not both.", 2)
    given = [args.service, args.counter, args.limit, args.offset]
    if not args.comments and any(option is not None for option in given):
        raise OperatorError(
            "--service, --counter, --limit and --offset go with --comments (what visitors "
            "said); the figures are by service and counter already.",
            2,
        )
    if args.comments and args.by:
        raise OperatorError(
            "--comments lists what visitors said, newest first, not grouped: leave out --by.", 2
        )
    if args.comments and args.all_centres:
        raise OperatorError(
            "--comments reads one centre's comments: give --centre ID (or --config), "
            "not --all-centres.",
            2,
        )


def _open_store(url: str) -> Store:
    import sqlalchemy as sa

    from queue_server.store import Store, normalise_url

    try:
        parsed = sa.engine.make_url(normalise_url(url))
    except sa.exc.ArgumentError:
        raise OperatorError(f"{url!r} is not a database URL or file path.") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # Opening a missing SQLite file would create an empty one; a report never should.
        if not Path(parsed.database).is_file():
            raise OperatorError(f"There is no database file at {parsed.database}.")
    try:
        store = Store(url)
        store.ping()
    except WalkinError as exc:
        raise OperatorError(exc.message) from None
    except Exception as exc:
        raise OperatorError(f"Cannot open the database {shown_url(url)}: {reason(exc)}") from None
    return store


def _run(args: argparse.Namespace) -> str:
    import sqlalchemy as sa

    from queue_server.reporting.reports import (
        LONDON,
        centre_time_zones,
        load_and_build,
        options_for,
        to_csv,
        to_dict,
    )

    _check_arguments(args)
    options: dict[str, Any] = {"tz": args.tz}
    centre = args.centre
    config_tz: tzinfo | None = None
    configured_id: str | None = None
    setup = None
    if args.config:
        from queue_server.config import ConfigError, load_config

        try:
            setup = load_config(args.config).to_setup()
        except ConfigError as exc:
            raise OperatorError(str(exc), 2) from None
        configured_id = setup.centre_id
        if not args.all_centres:
            centre = centre or setup.centre_id
        config_tz = setup.tz
        options = {**options_for(setup), "tz": args.tz or setup.tz}
    store = _open_store(args.db)
    try:
        zones = centre_time_zones(store)
        names = centre_names(store)
        only = next(iter(zones.values())) if len(zones) == 1 else None
        # "today" is the centre's today: its own zone when the report is about one
        tz = args.tz or config_tz or zones.get(centre or "") or only or LONDON
        if args.comments:
            return _comments(store, args, centre, zones, names, setup)
        if args.first is not None:
            return _range(store, args, centre, tz, (configured_id, options), zones, names)
        day = _resolve_day(args.date, tz)
        report = load_and_build(store, day, centre, **options)
        if centre is not None:
            known = sorted(zones)
            if known and centre not in known:
                print(
                    f"walkin report: warning: no centre {centre!r} in this database "
                    f"(it has {', '.join(known)}); the figures are empty.",
                    file=sys.stderr,
                )
    except sa.exc.SQLAlchemyError as exc:
        raise OperatorError(
            f"Cannot read the figures: {reason(exc)}. Is this a Walkin database "
            "with an up-to-date schema? ('walkin serve' migrates it.)"
        ) from None
    finally:
        store.close()
    shown = [names[c] for c in ([centre] if centre else sorted(names)) if c in names]
    print(
        f"walkin report: {'; '.join(shown) or 'no centre registered'}, {day:%A %d %B %Y}",
        file=sys.stderr,
    )
    if args.format == "csv":
        return to_csv(report)
    if args.format == "text":
        from queue_server.reporting.text import day_text

        return day_text(report, names)
    data = to_dict(report)
    data["centre_name"] = names.get(centre) if centre else (shown[0] if len(shown) == 1 else None)
    data["centre_names"] = {c: names[c] for c in sorted(names) if centre in (None, c)}
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _range(
    store: Store,
    args: argparse.Namespace,
    centre: str | None,
    tz: tzinfo,
    configured: tuple[str | None, dict[str, Any]],
    zones: dict[str, tzinfo],
    names: dict[str, str],
) -> str:
    """``--from``/``--to``: the range's figures from the days' roll-ups (rolling up,
    and storing, the days over that are not yet)."""
    from queue_server.reporting.ranges import (
        MAX_RANGE_DAYS,
        range_report,
        range_to_csv,
        range_to_dict,
    )

    first, last = _resolve_day(args.first, tz), _resolve_day(args.last, tz)
    if last < first:
        raise OperatorError(f"The range ends ({last}) before it starts ({first}); swap them.", 2)
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise OperatorError(
            f"A report covers at most {MAX_RANGE_DAYS} days (two years); "
            f"{first} to {last} is {(last - first).days + 1}. Choose a shorter range.",
            2,
        )
    configured_id, options = configured
    ids = [centre] if centre is not None else sorted(set(zones) | set(names))
    centres: dict[str, tuple[tzinfo, dict[str, Any]]] = {}
    for cid in ids:
        # the configured centre's zone is its configuration's, the others' the registry's
        if cid == configured_id:
            zone = options.get("tz") or zones.get(cid) or tz
            centres[cid] = (zone, {**options, "tz": zone})
        else:
            zone = zones.get(cid) or args.tz or tz
            centres[cid] = (zone, {"tz": zone})
    report = range_report(store, first, last, centre, args.by or "day", centres=centres)
    if centre is not None and zones and centre not in zones:
        print(
            f"walkin report: warning: no centre {centre!r} in this database "
            f"(it has {', '.join(sorted(zones))}); the figures are empty.",
            file=sys.stderr,
        )
    shown = [names[c] for c in ids if c in names]
    print(
        f"walkin report: {'; '.join(shown) or 'no centre registered'}, "
        f"{first:%d %B %Y} to {last:%d %B %Y}, by {report.by} "
        f"({report.days_rolled_up} days rolled up, {report.days_live} read from tickets)",
        file=sys.stderr,
    )
    if args.format == "csv":
        return range_to_csv(report)
    if args.format == "text":
        from queue_server.reporting.text import range_text

        return range_text(report, names)
    data = range_to_dict(report)
    data["centre_names"] = {c: names[c] for c in ids if c in names}
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _comments(
    store: Store,
    args: argparse.Namespace,
    centre: str | None,
    zones: dict[str, tzinfo],
    names: dict[str, str],
    setup: CentreSetup | None,
) -> str:
    """``--comments``: one centre's comments of ``--date`` or ``--from``/``--to``
    (``reporting.comments``). The centre is ``--centre``, the configuration's, or the
    database's only one; an unknown centre, service or counter, or a range backwards
    or over two years, is an ``OperatorError`` (exit status 2), before anything is read."""
    from queue_server.reporting import comments
    from queue_server.reporting.reports import LONDON

    known = sorted(set(zones) | set(names))
    if centre is None:
        if len(known) != 1:
            raise OperatorError(
                f"This database holds the centres {', '.join(known)}: name one with --centre ID."
                if known
                else "This database has no centre registered: name one with --centre ID.",
                2,
            )
        centre = known[0]
    elif centre not in known:
        raise OperatorError(
            f"There is no centre {centre!r} in this database"
            + (f" (it has {', '.join(known)})." if known else " (it has none registered)."),
            2,
        )
    configured = setup if setup is not None and setup.centre_id == centre else None
    tz = args.tz or (configured.tz if configured else None) or zones.get(centre) or LONDON
    if args.first is not None:
        first, last = _resolve_day(args.first, tz), _resolve_day(args.last, tz)
    else:
        first = last = _resolve_day(args.date, tz)
    try:
        comments.check_range(first, last)
        comments.check_filter(
            store,
            centre,
            args.service,
            args.counter,
            services=[s.code for s in configured.services] if configured else (),
            counters=[c.name for c in configured.counters] if configured else (),
        )
    except WalkinError as exc:
        raise OperatorError(exc.message, 2) from None
    data = comments.comments_data(
        store,
        centre,
        tz,
        first,
        last,
        service=args.service,
        counter=args.counter,
        limit=args.limit,
        offset=args.offset or 0,
        as_of=datetime.now(UTC),
        retention_days=configured.feedback.comment_retention.days if configured else None,
    )
    name = names.get(centre, centre)
    span = f"{first:%d %B %Y}" + ("" if first == last else f" to {last:%d %B %Y}")
    total = data["total"]
    print(
        f"walkin report: {name}, what visitors said, {span}: "
        f"{total} {'comment' if total == 1 else 'comments'}, {len(data['comments'])} shown",
        file=sys.stderr,
    )
    if args.format == "csv":
        return comments.comments_csv(data)
    if args.format == "text":
        return comments.comments_text(data, name)
    data = {"centre": centre, "centre_name": names.get(centre), **data}
    return json.dumps(data, indent=2) + "\n"


def centre_names(store: Store) -> dict[str, str]:
    """Each registered centre's name (the ``centre`` table), by id."""
    import sqlalchemy as sa

    from queue_server.store.tables import CentreRow

    table: sa.Table = CentreRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return {row.id: row.name for row in conn.execute(sa.select(table.c.id, table.c.name))}


def report_main(argv: list[str]) -> int:
    """``walkin report --db URL [--date YYYY-MM-DD|today] [--format json|csv|text]
    [--centre ID] [--output FILE] [--config FILE] [--tz NAME]``, or ``--comments
    [--service CODE] [--counter NAME] [--limit N] [--offset N]`` for what visitors
    said. The centre's name and the day go to standard error, the figures (or the
    comments) to standard output (JSON: with ``centre_name``). Returns the exit status: 0, 1 when
    the database cannot be opened or read, 2 for bad arguments (argparse's message)."""

    def run(args: argparse.Namespace) -> str:
        text = _run(args)
        if not args.output:
            return text
        try:
            Path(args.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise OperatorError(f"Cannot write {args.output}: {exc.strerror}", 2) from None
        return ""

    return command_main("report", build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(report_main(sys.argv[1:]))
