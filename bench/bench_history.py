"""A council's year of history: ten centres x 365 days, reported on (issue 12, items 3
and 5).

Run (from the repository root)::

    .venv/bin/python bench/bench_history.py                       # 10 centres x 365 days
    .venv/bin/python bench/bench_history.py --centres 2 --days 60 --data /tmp/small

It lives ``--centres`` centres x ``--days`` days (ending yesterday) through the real
core with ``walkin history generate``'s generator (each centre its own random stream,
about ``--visitors-per-day`` visitors an average weekday, the example centre's services
and opening hours with its six counters tripled, so that the days are not all
walk-outs), written in bulk and rolled up as a real day is. The audit trail is left
out (``Store.commit_bulk(audit=False)``): nothing here reads it, and it would be four
fifths of the bytes (about 11 GB of SQLite for two million tickets). The SQLite file
is kept in ``--data`` and used again by the next run with the same sizes; PostgreSQL
gets a copy of it (``COPY``) in a database of its own, dropped at the end.

Then, on each database, each the median of ``--repeat`` runs (wall and this process's
CPU; PostgreSQL's own CPU is not in the latter), it times what a manager asks for:
a centre's day (from its tickets, as ``walkin report --date``; and from its roll-up),
month and year; every centre's day and year; the roll-up of a centre's year from its
tickets (what a year never rolled up costs once); and the server's start with the
year in the table, against its start on an empty database.

Last (``--live-seconds``, on the backends in ``--live``, SQLite unless told; the
server in its own process): the live issue
latency at ``--rate`` tickets a second, alone and while a manager asks for the year's
report over and over, and while the first report after the year's roll-ups were lost
builds them again from the tickets. The live part adds today's tickets for centre 1 to
the kept database; later runs leave them be (they are today's, which no report here
reads).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    EXAMPLE_CONFIG,
    STAFF_PASSWORD,
    code_version,
    latency_summary_ms,
    machine_summary,
    markdown_table,
    postgres_database,
    running_server,
)

from queue_server.config import load_config  # noqa: E402
from queue_server.core.model import CentreSetup  # noqa: E402
from queue_server.net import figures  # noqa: E402
from queue_server.reporting import ranges, reports  # noqa: E402
from queue_server.simulation.command import centres_of  # noqa: E402
from queue_server.simulation.history import generate_histories, scaled_profile  # noqa: E402
from queue_server.simulation.profiles import ONE_STOP_SHOP  # noqa: E402
from queue_server.store import Store  # noqa: E402
from queue_server.store.tables import DayRollupRow, TicketRow  # noqa: E402

#: the tables copied to PostgreSQL, parents first
#: (day_change too: without its late-write counts every roll-up built after a late write
#: looks outdated, and PostgreSQL's first reports rolled those days up again)
TABLES = ("centre", "service_setting", "counter", "number_sequence", "appointment",
          "appointment_past", "ticket", "channel_choice", "wait_estimate", "feedback",
          "day_rollup", "day_change")  # fmt: skip


# ---------------------------------------------------------------- the centres


def bench_config(folder: Path, *, always_open: bool = False, centre_id: str = "demo") -> Path:
    """The example centre with its six counters tripled (18: Counter 1 ... Counter 18,
    each with the skills of Counter 1 ... 6 in turn), under ``centre_id``."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    blocks = re.findall(r"(?ms)^\[\[counters\]\]\n.*?(?=^\[|\Z)", text)
    if len(blocks) != 6:
        raise RuntimeError(f"expected six [[counters]] in {EXAMPLE_CONFIG}; update this bench")
    extra = []
    for n in range(7, 19):
        block = blocks[(n - 1) % 6]
        extra.append(re.sub(r'name = "Counter \d+"', f'name = "Counter {n}"', block))
    text = text.rstrip("\n") + "\n\n" + "\n".join(b.rstrip("\n") + "\n" for b in extra)
    text = re.sub(r'(?m)^id = "demo"$', f'id = "{centre_id}"', text, count=1)
    if always_open:
        text = re.sub(r"(?m)^\[hours\]\s*$", "[hours]\nalways_open = true", text, count=1)
    path = folder / f"centre-{centre_id}{'-open' if always_open else ''}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Data:
    sqlite_path: Path
    setups: list[CentreSetup]
    first: date
    last: date
    tickets: int
    generated_seconds: float | None  # None: the file was there already


def generated(args: argparse.Namespace) -> Data:
    """The SQLite file of ``--centres`` x ``--days``, made if missing."""
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    config = bench_config(folder)
    setups = centres_of(load_config(config).to_setup(), args.centres)
    path = folder / f"history-{args.centres}x{args.days}-{args.visitors_per_day}.db"
    marker = path.with_suffix(".range")
    if path.exists() and marker.exists():
        first, last = (date.fromisoformat(d) for d in marker.read_text().split())
        store = Store(f"sqlite:///{path}")
        try:
            tickets = count(store, TicketRow, last)
        finally:
            store.close()
        return Data(path, setups, first, last, tickets, None)
    path.unlink(missing_ok=True)
    store = Store(f"sqlite:///{path}")
    store.migrate()
    last = datetime.now(UTC).astimezone(setups[0].tz).date() - timedelta(days=1)
    first = last - timedelta(days=args.days - 1)
    made = {"tickets": 0, "days": 0}
    started = time.perf_counter()

    def progress(day: date, tickets: int) -> None:
        made["tickets"] += tickets
        made["days"] += 1
        if made["days"] % 30 == 0:
            rate = made["tickets"] / (time.perf_counter() - started)
            print(
                f"  {made['days']} centre-days, {made['tickets']:,} tickets ({rate:,.0f} a second)",
                file=sys.stderr,
            )

    try:
        generate_histories(
            store,
            setups,
            days=args.days,
            end=last,
            seed=args.seed,
            profile=scaled_profile(ONE_STOP_SHOP, args.visitors_per_day),
            progress=progress,
            audit=False,
        )
        tickets = count(store, TicketRow, last)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    marker.write_text(f"{first} {last}\n")
    return Data(path, setups, first, last, tickets, seconds)


def count(store: Store, row_type: Any, last: date) -> int:
    table = row_type.__table__
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        if "day" in table.c:
            query = query.where(table.c.day <= last)
        return int(conn.execute(query).scalar_one())


def copy_to_postgres(sqlite_path: Path, pg_url: str) -> float:
    """Every table of the SQLite file into the (migrated) PostgreSQL database, with
    ``COPY``; returns the seconds taken."""
    started = time.perf_counter()
    source = Store(f"sqlite:///{sqlite_path}")
    target = Store(pg_url)
    target.migrate()
    metadata = sa.MetaData()
    try:
        raw = target.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SET TIME ZONE 'UTC'")
            for name in TABLES:
                table = sa.Table(name, metadata, autoload_with=target.engine)
                columns = [c.name for c in table.columns]
                typed = sa.Table(name, sa.MetaData(), autoload_with=source.engine)
                with source.engine.connect() as conn:
                    rows = conn.execution_options(stream_results=True).execute(
                        sa.select(*(typed.c[c] for c in columns))
                    )
                    with cursor.copy(
                        f"COPY {name} ({', '.join(columns)}) FROM STDIN"  # type: ignore[attr-defined]
                    ) as copy:
                        for row in rows:
                            copy.write_row(tuple(row))
            raw.commit()
            # COPY gave the rows their ids: move each id sequence past them, or the
            # server's next insert (an estimate, a choice) collides with a copied row
            for name in TABLES:
                for column in sa.inspect(target.engine).get_columns(name):
                    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", (name, column["name"]))
                    (sequence,) = cursor.fetchone()
                    if sequence is not None:
                        cursor.execute(
                            f"SELECT setval(%s, COALESCE((SELECT max({column['name']}) "
                            f"FROM {name}), 0) + 1, false)",
                            (sequence,),
                        )
            raw.commit()
            cursor.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    finally:
        source.close()
        target.close()
    return time.perf_counter() - started


# ---------------------------------------------------------------- timing


@dataclass
class Timing:
    what: str
    rows: str
    wall_ms: float
    cpu_ms: float
    first_ms: float


def timed(what: str, rows: str, work: Callable[[], object], repeat: int) -> Timing:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return Timing(what, rows, statistics.median(walls), statistics.median(cpus), walls[0])


def measure_reports(url: str, data: Data, repeat: int) -> list[Timing]:
    store = Store(url)
    setups = data.setups
    one = setups[0]
    options = {s.centre_id: reports.options_for(s) for s in setups}
    centres = {s.centre_id: (s.tz, options[s.centre_id]) for s in setups}
    mine = {one.centre_id: centres[one.centre_id]}
    now = datetime.combine(data.last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    now += timedelta(hours=12)
    # the last whole Monday: a busy day
    day = data.last - timedelta(days=(data.last.weekday() - 0) % 7)
    month_first = data.last - timedelta(days=29)
    year_first = max(data.first, data.last - timedelta(days=364))
    per_day = count(store, TicketRow, data.last) / max(1, (data.last - data.first).days + 1)

    def rng(first: date, centre: str | None, by: str, which: dict[str, Any]) -> Callable[[], Any]:
        return lambda: ranges.range_report(
            store, first, data.last if first != day else day, centre, by, now, centres=which
        )

    try:
        found = [
            timed(
                "a centre's day, from its tickets (`walkin report --date`)",
                f"{per_day / len(setups):,.0f} tickets",
                lambda: reports.load_and_build(
                    store, day, one.centre_id, now, **options[one.centre_id]
                ),
                repeat,
            ),
            timed(
                "a centre's 92 days, each day's whole report from its tickets (the "
                "protocol's `report` without `by`, in the server's report process)",
                f"{92 * per_day / len(setups):,.0f} tickets",
                lambda: figures._days_reply(
                    store,
                    figures._Ask(
                        one.centre_id,
                        one.tz,
                        options[one.centre_id],
                        data.last - timedelta(days=91),
                        data.last,
                        None,
                        now,
                        "json",
                        False,
                    ),  # fmt: skip
                ),
                1,
            ),
            timed(
                "a centre's day, from its roll-up",
                "1 day",
                rng(day, one.centre_id, "day", mine),
                repeat,
            ),  # fmt: skip
            timed(
                "a centre's month, by day",
                "30 days",
                rng(month_first, one.centre_id, "day", mine),
                repeat,
            ),  # fmt: skip
            timed(
                "a centre's year, by month",
                "365 days",
                rng(year_first, one.centre_id, "month", mine),
                repeat,
            ),  # fmt: skip
            timed(
                "a centre's year, by counter",
                "365 days",
                rng(year_first, one.centre_id, "counter", mine),
                repeat,
            ),  # fmt: skip
            timed(
                "every centre's day, from the tickets (`--all-centres --date`)",
                f"{per_day:,.0f} tickets",
                lambda: reports.load_and_build(store, day, None, now),
                repeat,
            ),
            timed(
                "every centre's day, from the roll-ups",
                f"{len(setups)} centres",
                rng(day, None, "centre", centres),
                repeat,
            ),  # fmt: skip
            timed(
                "every centre's year, by month",
                f"{len(setups)} × 365 days",
                rng(year_first, None, "month", centres),
                repeat,
            ),  # fmt: skip
            timed(
                "every centre's year, by counter (kept apart)",
                f"{len(setups)} × 365 days",
                rng(year_first, None, "counter", centres),
                repeat,
            ),  # fmt: skip
            timed(
                "rolling up a centre's year from its tickets (once per year never rolled up)",
                f"{per_day / len(setups) * 365:,.0f} tickets",
                lambda: ranges.roll_up(
                    store,
                    one.centre_id,
                    year_first,
                    data.last,
                    now=now,
                    tz=one.tz,
                    options=options[one.centre_id],
                    write=False,
                ),  # fmt: skip
                max(1, repeat // 2),
            ),
            timed(
                "the regional view: every centre live now (`region`, the Region tab's "
                "read, in a worker thread of the server)",
                f"{len(setups)} centres, today's tickets",
                lambda: asyncio.run(figures.region(store, one, datetime.now(UTC))),
                repeat,
            ),
        ]
    finally:
        store.close()
    found += server_start(url, one, repeat)
    return found


def server_start(url: str, setup: CentreSetup, repeat: int) -> list[Timing]:
    """The server's start (``QueueServer.start``: the centre loaded from today's rows,
    earlier days ended, listening) with the year in the table and on an empty one."""
    from queue_server.net.server import QueueServer

    async def start_once(store_url: str) -> None:
        store = Store(store_url)
        server = QueueServer(setup, store)
        await server.start(port=0)
        await server.close()
        store.close()

    store = Store(url)
    try:
        today = datetime.now(UTC).astimezone(setup.tz).date()
        t = TicketRow.__table__.c  # type: ignore[attr-defined]
        with store.engine.connect() as conn:
            todays = conn.execute(
                sa.select(sa.func.count()).where(t.centre == setup.centre_id, t.day == today)
            ).scalar_one()
    finally:
        store.close()
    with tempfile.TemporaryDirectory() as folder:
        empty = f"sqlite:///{Path(folder) / 'empty.db'}"
        Store(empty).migrate()
        return [
            timed(
                "server start, a year in the table",
                f"today's {todays:,} tickets",
                lambda: asyncio.run(start_once(url)),
                repeat,
            ),  # fmt: skip
            timed(
                "server start, an empty database (for the ratio)",
                "none",
                lambda: asyncio.run(start_once(empty)),
                repeat,
            ),  # fmt: skip
        ]


# ---------------------------------------------------------------- live latency


async def live_phases(url: str, kind: str, data: Data, args: argparse.Namespace) -> list[list[Any]]:
    from bench_issue import Run, measure

    from queue_server.client import QueueClient

    setup = data.setups[0]
    rows: list[list[Any]] = []
    year_first = max(data.first, data.last - timedelta(days=364))
    from queue_server.net.auth import hash_password

    store = Store(url)
    try:
        tokens = [
            store.enroll_device(setup.centre_id, "kiosk", f"bench-kiosk-{time.time_ns()}-{n}")
            for n in (1, 2)
        ]
        # the manager asking for reports, and the adviser whose console bench_issue's
        # measure connects at the end of each phase
        for username, role in (("bench-manager", "manager"), ("adviser-late", "counter")):
            with contextlib.suppress(Exception):  # there already, from an earlier run
                store.add_staff(setup.centre_id, username, role, hash_password(STAFF_PASSWORD))
    finally:
        store.close()
    services = [s.code for s in setup.services]
    with tempfile.TemporaryDirectory() as folder:
        config = bench_config(Path(folder), always_open=True, centre_id=setup.centre_id)
        with running_server(config, url, folder) as server:
            for phase in ("alone", "year reports", "year rebuilt"):
                if phase == "year rebuilt":
                    store = Store(url)
                    table = DayRollupRow.__table__  # type: ignore[attr-defined]
                    with store.engine.begin() as conn:
                        conn.execute(sa.delete(table).where(table.c.centre == setup.centre_id))
                    store.close()
                run = Run(kind, phase, f"{args.rate:g}/s")
                done: list[float] = []
                stop = asyncio.Event()

                async def ask_reports(
                    stop: asyncio.Event = stop, done: list[float] = done, phase: str = phase
                ) -> None:
                    manager = QueueClient(
                        server.url, username="bench-manager", password=STAFF_PASSWORD,
                        reconnect=False,
                    )  # fmt: skip
                    await manager.connect()
                    try:
                        while not stop.is_set():
                            began = time.perf_counter()
                            await manager.request(
                                "report", from_day=year_first.isoformat(),
                                to_day=data.last.isoformat(), by="month", timeout=120,
                            )  # fmt: skip
                            done.append(time.perf_counter() - began)
                            if phase == "year rebuilt":
                                break  # the first one rebuilds; the rest would not
                    finally:
                        await manager.close()

                asker = asyncio.create_task(ask_reports()) if phase != "alone" else None
                await measure(server.url, tokens, services, [], run, rate=args.rate,
                              seconds=args.live_seconds, grace=10)  # fmt: skip
                stop.set()
                if asker is not None:
                    await asker
                summary = latency_summary_ms(run.latencies)
                rows.append([
                    phase,
                    run.answered,
                    sum(run.errors.values()),
                    f"{summary['p50']:.1f}",
                    f"{summary['p99']:.1f}",
                    f"{summary['max']:.1f}",
                    f"{len(done)} ({statistics.median(done) * 1000:,.0f} ms each)" if done else "—",
                ])  # fmt: skip
    return rows


# ---------------------------------------------------------------- main


@contextlib.contextmanager
def databases(args: argparse.Namespace, data: Data) -> Iterator[list[tuple[str, str, str]]]:
    """(kind, url, how it was filled) for each backend asked for."""
    found = []
    if "sqlite" in args.backends:
        how = (
            f"generated in {data.generated_seconds:,.0f} s"
            if data.generated_seconds is not None
            else "kept from an earlier run"
        )
        found.append(("sqlite", f"sqlite:///{data.sqlite_path}", how))
    with contextlib.ExitStack() as stack:
        if "postgresql" in args.backends:
            url = stack.enter_context(postgres_database())
            seconds = copy_to_postgres(data.sqlite_path, url)
            found.append(("postgresql", url, f"copied with COPY in {seconds:,.0f} s"))
        yield found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--centres", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--visitors-per-day", type=int, default=730)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--data", default="/var/tmp/walkin-bench-history")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--live-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument(
        "--live",
        default="sqlite",
        help="the backends (of --backends) the live issue latency is measured on",
    )
    args = parser.parse_args(argv)
    args.backends = args.backends.split(",")
    args.live = args.live.split(",")

    print(f"# bench_history: {args.centres} centres × {args.days} days", flush=True)
    print(f"code {code_version()}; {machine_summary()}", flush=True)
    data = generated(args)
    print(
        f"{data.tickets:,} tickets, {data.first} to {data.last}, "
        + (
            f"generated in {data.generated_seconds:,.0f} s "
            f"({data.tickets / data.generated_seconds:,.0f} tickets a second)"
            if data.generated_seconds
            else "kept from an earlier run"
        )
        + f"; SQLite file {data.sqlite_path.stat().st_size / 1e6:,.0f} MB",
        flush=True,
    )
    with databases(args, data) as found:
        for kind, url, how in found:
            print(f"\n## {kind} ({how})\n", flush=True)
            timings = measure_reports(url, data, args.repeat)
            print(markdown_table(
                ["what", "reads", "median wall ms", "median CPU ms", "first run ms"],
                [[t.what, t.rows, f"{t.wall_ms:,.1f}", f"{t.cpu_ms:,.1f}", f"{t.first_ms:,.1f}"]
                 for t in timings],
            ), flush=True)  # fmt: skip
            start = {t.what: t.wall_ms for t in timings if t.what.startswith("server start")}
            if len(start) == 2:
                a, b = start.values()
                print(f"\nserver start, year / empty: {a / b:.2f}×", flush=True)
            if args.live_seconds > 0 and kind in args.live:
                print(f"\n## live issue latency at {args.rate:g}/s while reports run ({kind})\n")
                rows = asyncio.run(live_phases(url, kind, data, args))
                print(markdown_table(
                    ["phase", "issued", "errors", "p50 ms", "p99 ms", "max ms", "year reports"],
                    rows,
                ), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
