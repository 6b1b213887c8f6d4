"""PostgreSQL failover under load (issue 13, item 5): a primary and a synchronous
streaming-replication standby, one ``walkin serve`` on the multi-host URL, twenty
kiosks issuing; the primary is killed and the standby promoted, ``--kills`` times.

Run (from the repository root)::

    .venv/bin/python bench/bench_pg_failover.py --kills 10

The pair is built on this machine under a temporary folder (initdb, ``pg_basebackup
-R``, loopback ports of its own; tests/queue_server/store/pg_pair.py, as root the
servers run as ``postgres``), ``fsync = on``, ``synchronous_commit = on``,
``synchronous_standby_names = '*'``. ``walkin serve`` gets
``postgresql://postgres@127.0.0.1:A,127.0.0.1:B/walkin?target_session_attrs=read-write``.
Twenty ``QueueClient`` kiosks in this process issue tickets one after another (20 ms
apart each), every request with an idempotency key of its own and sent again with the
same key after an ``unavailable`` reply or a lost connection (``retry=True``).

Each round: after ``--between`` tickets, every process of the primary is SIGKILLed at
once (its machine dying) and the standby promoted at once (``pg_ctl promote -w``).
Measured: from the kill to the promotion done, and from the kill to the next ticket
acknowledged to a kiosk (the server's pool reconnects through libpq's host list). Then,
under the same load, the dead primary is made the new standby with ``pg_rewind -R``
(``--rebuild basebackup``: a fresh ``pg_basebackup -R``) and the new primary made
synchronous again, timed too. At the end every acknowledged ticket is looked up in
the last primary: lost (acknowledged but not stored), duplicates (a number stored
twice in a day; an idempotency key acknowledged as two tickets); and the errors the
kiosks were given, by code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "queue_server" / "store"))

import sqlalchemy as sa  # noqa: E402
from common import (  # noqa: E402
    CpuMeter,
    always_open_config,
    free_port,
    machine_summary,
    percentile,
    process_ticks,
    walkin_command,
)
from pg_pair import PgPair, unavailable  # noqa: E402

from queue_server.client import (  # noqa: E402
    ConnectionLost,
    NotConnected,
    QueueClient,
    RemoteError,
    new_idempotency_key,
)
from queue_server.store import Store  # noqa: E402

SERVICES = ("housing", "council_tax", "parking", "planning", "licensing", "waste")


@dataclass
class Load:
    acknowledged: list[tuple[str, str, str, float]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    resent: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def first_after(self, moment: float) -> float | None:
        later = [row[3] for row in self.acknowledged if row[3] > moment]
        return min(later) if later else None

    def count_after(self, moment: float) -> int:
        return sum(1 for row in self.acknowledged if row[3] > moment)


async def kiosk(url: str, token: str, n: int, load: Load) -> None:
    client = QueueClient(url, token=token)
    await client.connect()
    try:
        while not load.stop.is_set():
            key = new_idempotency_key()
            while True:
                try:
                    reply = await client.request(
                        "issue_ticket", service=SERVICES[n % len(SERVICES)],
                        idempotency_key=key, retry=True, timeout=60,
                    )  # fmt: skip
                    break
                except RemoteError as exc:  # not retried by the client: noted, sent again
                    load.errors[exc.code] += 1
                    await asyncio.sleep(0.5)
                except (ConnectionLost, NotConnected):
                    load.resent += 1
            ticket = reply["ticket"]
            load.acknowledged.append((key, ticket["id"], ticket["number"], time.monotonic()))
            await asyncio.sleep(0.02)
    finally:
        await client.close()


class PgCpu:
    """CPU of every process of the pair, sampled every half second (they die at each
    kill, so a process's last reading is its total)."""

    def __init__(self, pair: PgPair) -> None:
        self.pair = pair
        self.last: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _groups(self) -> set[int]:
        return {n.process.pid for n in (self.pair.primary, self.pair.standby) if n.process}

    def _sample(self) -> None:
        groups = self._groups()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[2]) in groups:  # pgrp
                    self.last[int(entry)] = sum(process_ticks(int(entry)))

    def _run(self) -> None:
        while not self.done.wait(0.5):
            self._sample()

    def seconds(self) -> float:
        return sum(self.last.values()) / os.sysconf("SC_CLK_TCK")


def healthz(port: int) -> dict[str, Any] | None:
    import json

    with contextlib.suppress(OSError, ValueError):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return dict(json.load(reply))
    return None


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--between", type=int, default=200, help="tickets between kills")
    parser.add_argument("--rebuild", choices=("rewind", "basebackup"), default="rewind")
    args = parser.parse_args()
    # SIGTERM ends the run as Ctrl-C does: the pair and the server are stopped
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    why_not = unavailable()
    if why_not is not None:
        print(f"bench_pg_failover: cannot build the PostgreSQL pair: {why_not}", file=sys.stderr)
        return 2
    print(machine_summary())
    print(f"load average before: {loadavg()}")
    folder = Path(tempfile.mkdtemp(prefix="walkin-bench-pgfail-"))  # config and log
    with PgPair(fsync=True) as pair:
        url = pair.url()
        print(f"pair: {pair.bin}; walkin serve --db {url}")
        store = Store(url)
        store.migrate()
        store.close()
        config = always_open_config(folder)
        port = free_port()
        log = folder / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*walkin_command(), "serve", "--config", str(config), "--db", url,
                 "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while healthz(port) is None:
                if server.poll() is not None or time.monotonic() > deadline:
                    print(log.read_text())
                    return 1
                time.sleep(0.05)
            store = Store(url)
            try:
                centre = store.only_centre()
                tokens = [store.enroll_device(centre, "kiosk", f"k{i}") for i in range(args.kiosks)]
            finally:
                store.close()
            result = asyncio.run(rounds(pair, port, server.pid, tokens, args))
            server_alive = server.poll() is None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, 9)
            server.wait(10)
        load, rows_url, timings, cpu, pg_seconds, wall = result
        engine = sa.create_engine(rows_url)
        with engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.text("SELECT id, number, day, idempotency_key, issued_at FROM ticket")
                )
            )
        engine.dispose()
        next_tickets(timings, load, {row.id: row.issued_at.timestamp() for row in rows})
        logged = log.read_text(errors="replace")
    import shutil

    shutil.rmtree(folder, ignore_errors=True)

    stored = {row.id for row in rows}
    lost = [a for a in load.acknowledged if a[1] not in stored]
    numbers = Counter((row.day, row.number) for row in rows)
    dup_numbers = sum(c - 1 for c in numbers.values() if c > 1)
    ids_by_key: dict[str, set[str]] = {}
    for key, ticket_id, _, _ in load.acknowledged:
        ids_by_key.setdefault(key, set()).add(ticket_id)
    dup_keys = sum(1 for ids in ids_by_key.values() if len(ids) > 1)
    next_ticket = sorted(t["next"] for t in timings if t["next"] is not None)
    promote = sorted(t["promote"] for t in timings)
    rebuild = sorted(t["rebuild"] for t in timings)
    print(f"\nkills: {len(timings)} ({args.rebuild} between rounds), {args.kiosks} kiosks")
    print(f"tickets acknowledged {len(load.acknowledged)}, stored {len(rows)}, "
          f"lost {len(lost)}, numbers stored twice {dup_numbers}, "
          f"keys acknowledged as two tickets {dup_keys}")  # fmt: skip
    print(f"kiosk errors by code: {dict(load.errors) or 'none'}; requests resent after a "
          f"lost connection: {load.resent}")  # fmt: skip
    for name, values in (("kill -> promoted", promote), ("kill -> next ticket", next_ticket),
                         ("rebuild old primary", rebuild)):  # fmt: skip
        if values:
            print(f"{name}: p50 {statistics.median(values):.2f} s, p99 "
                  f"{percentile(values, 99):.2f} s, max {values[-1]:.2f} s "
                  f"(n={len(values)})")  # fmt: skip
    print("per round (promote / next ticket / rebuild, s): " + "; ".join(
        f"{t['promote']:.2f}/{t['next'] if t['next'] is None else round(t['next'], 2)}"
        f"/{t['rebuild']:.2f}" for t in timings))  # fmt: skip
    print(f"{cpu.describe()}; PostgreSQL pair {pg_seconds / wall * 100:.0f} % "
          f"(inside 'everything else'); {wall:.0f} s")  # fmt: skip
    print(f"load average after: {loadavg()}")
    print(f"server still running: {server_alive}; log lines: WARNING "
          f"{logged.count(' WARNING ')}, ERROR {logged.count(' ERROR ')}")  # fmt: skip
    return 0 if not lost and not dup_numbers and not dup_keys and server_alive else 1


def next_tickets(timings: list[dict[str, Any]], load: Load, issued: dict[str, float]) -> None:
    """Each round's time from the kill to the next ticket: the first acknowledgement of
    a ticket the server decided once every process of the old primary was gone (its
    ``issued_at``), so committed on the new one: a reply to a ticket committed just
    before the kill can arrive after it, and is not the next one."""
    for timing in timings:
        later = [
            at for _, ticket_id, _, at in load.acknowledged
            if issued.get(ticket_id, 0.0) > timing["dead_wall"]
        ]  # fmt: skip
        timing["next"] = min(later) - timing["killed"] if later else None


async def rounds(
    pair: PgPair, port: int, server_pid: int, tokens: list[str], args: argparse.Namespace
) -> tuple[Load, str, list[dict[str, Any]], CpuMeter, float, float]:
    load = Load()
    url = f"ws://127.0.0.1:{port}/ws"
    kiosks = [asyncio.create_task(kiosk(url, token, n, load)) for n, token in enumerate(tokens)]
    cpu = CpuMeter().start()
    pg = PgCpu(pair)
    pg.thread.start()
    started = time.monotonic()
    timings: list[dict[str, Any]] = []
    try:
        cpu.add(server_pid, "server")
        for n in range(args.kills):
            mark = time.monotonic()
            while load.count_after(mark) < args.between:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(pg._sample)
            killed = time.monotonic()
            await asyncio.to_thread(pair.kill_primary)
            dead_wall = time.time()  # no process of the old primary left
            await asyncio.to_thread(pair.promote)
            promoted = time.monotonic()
            while load.count_after(promoted) < 20:
                await asyncio.sleep(0.01)
                if time.monotonic() - promoted > 120:
                    break
            first = load.first_after(promoted)
            rebuilding = time.monotonic()
            await asyncio.to_thread(pair.rebuild_old_primary, rewind=args.rebuild == "rewind")
            timings.append({
                "killed": killed,
                "dead_wall": dead_wall,
                "promote": promoted - killed,
                "next": None,  # from the database at the end (``next_tickets``)
                "rebuild": time.monotonic() - rebuilding,
            })  # fmt: skip
            print(f"round {n + 1}: promoted {promoted - killed:.2f} s, a ticket "
                  f"{'none' if first is None else f'{first - killed:.2f} s'} after the kill, "
                  f"acknowledged so far {len(load.acknowledged)}", flush=True)  # fmt: skip
        mark = time.monotonic()
        while load.count_after(mark) < args.between:
            await asyncio.sleep(0.05)
    finally:
        load.stop.set()
        await asyncio.gather(*kiosks, return_exceptions=True)
        cpu.stop()
        pg.done.set()
        pg._sample()
    wall = time.monotonic() - started
    return load, pair.node_url(pair.primary), timings, cpu, pg.seconds(), wall


if __name__ == "__main__":
    sys.exit(main())
