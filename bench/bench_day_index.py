"""One day at every centre, read from a year of ten centres (issue 12: "a day across 10
centres ... 12-17 s on SQLite: full scan, no index leads with the day").

Run (from the repository root)::

    .venv/bin/python bench/bench_day_index.py                      # 10 centres x 365 days
    .venv/bin/python bench/bench_day_index.py --centres 10 --days 365 --db /tmp/year.db

It lives two days of the example centre through the real core (``walkin history
generate``), then copies their ticket rows in SQL to ``--centres`` centres and
``--days`` days (each copy its own ids, centre and day): a table of about a million
tickets in a few seconds, where living them would take hours. It then times, on that
table, the reads of one day at every centre (``Store.tickets_for_day(None, day)``, the
ticket read of ``walkin report --all-centres``-style reports) and of one centre's day,
as plain rows (as it now reads them) and with a ``TicketRow`` built for each (as it
did before), each the median of ``--repeat`` runs,
first with the day-led index of migration 0006 (``ix_ticket_day``) and then with it
dropped, as before that migration. SQLite only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.launch import load_config  # noqa: E402
from queue_server.simulation.history import generate_history  # noqa: E402
from queue_server.store import Store  # noqa: E402
from queue_server.store.tables import TicketRow  # noqa: E402

SEED_DAYS = (date(2026, 11, 23), date(2026, 11, 24))


def fill(store: Store, centres: int, days: int) -> int:
    """Copy the seed days' tickets to ``centres`` x ``days``; returns the row count."""
    table: sa.Table = TicketRow.__table__  # type: ignore[attr-defined]
    names = [c.name for c in table.columns]
    first = date(2026, 1, 1)
    with store.engine.begin() as conn:
        for centre in range(1, centres + 1):
            for n in range(days):
                day = first + timedelta(days=n)
                seed_day = SEED_DAYS[n % len(SEED_DAYS)]
                shift = (day - seed_day).days
                values = []
                for name in names:
                    if name == "id":
                        values.append(f"id || '-{centre}-{n}'")
                    elif name == "centre":
                        values.append(f"'demo-{centre}'")
                    elif name == "day":
                        values.append(f"'{day.isoformat()}'")
                    elif name == "idempotency_key":
                        values.append(f"idempotency_key || '-{centre}-{n}'")
                    elif isinstance(table.c[name].type, sa.DateTime):
                        # the same instant moved by whole days, its text as stored
                        values.append(
                            f"CASE WHEN {name} IS NULL THEN NULL ELSE "
                            f"datetime({name}, '{shift:+d} days') || substr({name}, 20) END"
                        )
                    else:
                        values.append(name)
                conn.exec_driver_sql(
                    f"INSERT INTO ticket ({', '.join(names)}) SELECT {', '.join(values)} "
                    f"FROM ticket WHERE centre = 'demo' AND day = '{seed_day.isoformat()}'"
                )
        conn.exec_driver_sql("DELETE FROM ticket WHERE centre = 'demo'")
        # no ANALYZE: a server's database has none (with it, SQLite skip-scans the
        # centre-led index and the day-led one matters less)
        return int(conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar_one())


def as_objects(store: Store, centre: str | None, day: date) -> list[TicketRow]:
    """The same read, a ``TicketRow`` built for each row, as ``tickets_for_day`` did
    until issue 12."""
    return [TicketRow(**r._mapping) for r in store.tickets_for_day(centre, day)]


def median_ms(action, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--centres", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="SQLite file to build (default: a temporary one)")
    args = parser.parse_args()
    path = args.db or str(Path(tempfile.mkdtemp()) / "year.db")
    store = Store(path)
    store.migrate()
    setup = load_config(ROOT / "examples" / "centre.toml").to_setup()
    started = time.perf_counter()
    generate_history(store, setup, days=len(SEED_DAYS), end=SEED_DAYS[-1], seed=1)
    rows = fill(store, args.centres, args.days)
    print(
        f"{rows:,} tickets, {args.centres} centres x {args.days} days, built in "
        f"{time.perf_counter() - started:.1f} s ({path})"
    )
    day = date(2026, 1, 1) + timedelta(days=args.days // 2)
    print("| index | read | rows | wall ms (median) | CPU ms (median) |")
    print("|---|---|---:|---:|---:|")
    for with_index in (True, False):
        if not with_index:
            with store.engine.begin() as conn:
                conn.exec_driver_sql("DROP INDEX ix_ticket_day")
        label = "ix_ticket_day" if with_index else "none led by the day (before 0006)"
        for what, centre in (("one day, every centre", None), ("one day, one centre", "demo-1")):
            found = len(store.tickets_for_day(centre, day))
            wall, cpu = median_ms(lambda c=centre: store.tickets_for_day(c, day), args.repeat)
            print(f"| {label} | {what} | {found:,} | {wall:,.1f} | {cpu:,.1f} |")
            wall, cpu = median_ms(lambda c=centre: as_objects(store, c, day), args.repeat)
            print(
                f"| {label} | {what}, a `TicketRow` each (as before) | {found:,} "
                f"| {wall:,.1f} | {cpu:,.1f} |"
            )
            sys.stdout.flush()
    store.close()


if __name__ == "__main__":
    main()
