"""Durable ticket issue: kiosks over websockets against a real ``walkin serve``.

Run (from the repository root)::

    .venv/bin/python bench/bench_issue.py --db both --rate 50 --seconds 30 --clients 20

For each database (a SQLite file in a temporary folder; a fresh PostgreSQL database,
dropped afterwards) and each load, a new server process on a new database:

- open loop: ``--rate`` tickets a second in total, request *i* due at ``i / rate``
  seconds and sent by kiosk ``i % clients`` whether or not earlier ones have been
  answered (so a slow server cannot slow the load down and hide its own latency);
- closed loop: every kiosk issues back to back for ``--closed-seconds``: the most
  the server can do, and so the headroom over the target.

Latency is from the moment a request was due (open loop) or sent (closed loop) to
its ``ok`` reply, which the server sends only after the ticket is committed (SQLite
WAL with ``synchronous=FULL``; PostgreSQL's default ``synchronous_commit=on``). The
services are used round robin. ``--open-counters`` advisers are signed in with their
counters open and their consoles connected, as on a working day, so each issue runs
the full wait estimate and every ticket is pushed to the staff as well as the kiosks.
At the end the tickets in the database are counted against the ``ok`` replies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    EXAMPLE_CONFIG,
    STAFF_PASSWORD,
    CpuMeter,
    add_staff,
    always_open_config,
    centre_facts,
    count_tickets,
    database,
    enroll,
    latency_summary_ms,
    machine_summary,
    markdown_table,
    postgres_backends,
    process_ticks,
    profiling,
    running_server,
)

from queue_server import views  # noqa: E402
from queue_server.client import (  # noqa: E402
    ClientError,
    ConnectionLost,
    QueueClient,
    RemoteError,
    new_idempotency_key,
)
from queue_server.config import load_config  # noqa: E402
from queue_server.core import Centre, estimate_wait  # noqa: E402
from queue_server.core import commands as cmd  # noqa: E402
from queue_server.core.model import OpeningHours  # noqa: E402
from queue_server.store import Store  # noqa: E402
from queue_server.store.tables import AppointmentRow  # noqa: E402

WARMUP_PER_CLIENT = 2
#: the latency target from the issue, at the target rate
TARGET_P99_MS = 25.0


@dataclass
class Run:
    database: str
    load: str
    offered: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    #: how late the open-loop generator was in sending, per request (client health)
    send_lag: list[float] = field(default_factory=list)
    #: (seconds since the run began, latency) for the trend over the run
    timeline: list[tuple[float, float]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    stored: int = 0
    expected_stored: int = 0
    #: the queue length when the load ended (None: not asked, the server was behind)
    waiting_at_end: int | None = None
    cpu: str = ""
    #: the server's CPU seconds over the measured load only (not setup, prefill, warm-up)
    server_cpu_seconds: float = 0.0
    #: of which in the kernel (system time: the writes and fsyncs, the sockets)
    server_system_seconds: float = 0.0
    #: the people waiting when the measured load began (``--waiting``)
    waiting_at_start: int = 0
    #: how long a counter console took to connect (sign-in and snapshot) after the load
    console_connect_seconds: float | None = None

    @property
    def cpu_ms_per_ticket(self) -> float | None:
        return self.server_cpu_seconds / self.answered * 1000 if self.answered else None

    @property
    def answered(self) -> int:
        return sum(1 for latency in self.latencies if latency != math.inf)

    @property
    def achieved(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


async def _drain(client: QueueClient) -> None:
    """Read the pushes (queue, event) a real kiosk or console would read, and drop them."""
    async for _ in client.pushes():
        pass


async def _issue(client: QueueClient, service: str, timeout: float = 30.0) -> dict[str, object]:
    return await client.request(
        "issue_ticket", service=service, idempotency_key=new_idempotency_key(), timeout=timeout
    )


async def _open_counters(url: str, counters: Sequence[str]) -> list[QueueClient]:
    consoles = []
    for i, counter in enumerate(counters):
        console = QueueClient(
            url,
            username=f"adviser-{i + 1}",
            password=STAFF_PASSWORD,
            client_name="bench-console",
            reconnect=False,
        )
        await console.connect()
        await console.request("sign_in_counter", counter=counter)
        await console.request("open_counter", counter=counter)
        consoles.append(console)
    return consoles


async def _prefill(kiosks: Sequence[QueueClient], services: Sequence[str], count: int) -> None:
    """Issue ``count`` tickets, every kiosk back to back (before any counter opens, so
    each reply's estimate is only a count): the queue the measured load starts from."""
    numbers = iter(range(count))

    async def back_to_back(kiosk: QueueClient) -> None:
        for i in numbers:
            await _issue(kiosk, services[i % len(services)], timeout=120.0)

    await asyncio.gather(*(back_to_back(k) for k in kiosks))


async def _console_connect_seconds(url: str) -> float:
    """How long a counter console takes to connect: sign in, hello, the snapshot."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    console = QueueClient(
        url,
        username="adviser-late",
        password=STAFF_PASSWORD,
        client_name="bench-console-late",
        reconnect=False,
    )
    await console.connect(timeout=60.0)
    took = loop.time() - started
    await console.close()
    return took


async def measure(
    url: str,
    tokens: Sequence[str],
    services: Sequence[str],
    counters: Sequence[str],
    run: Run,
    *,
    rate: float | None,
    seconds: float,
    grace: float,
    waiting: int = 0,
    server_pid: int | None = None,
) -> None:
    """One load against the server at ``url``; fills in ``run``. ``rate=None``: closed loop.

    A request that fails (an error reply, a dropped connection, no reply ``grace``
    seconds after the load ends) is counted as an error and its latency taken as
    infinite (shown as "failed"), so the percentiles cover every request sent.
    """
    loop = asyncio.get_running_loop()
    kiosks = [
        QueueClient(url, token=token, client_name=f"bench-kiosk-{i}", reconnect=False)
        for i, token in enumerate(tokens)
    ]
    await asyncio.gather(*(k.connect() for k in kiosks))
    drains = [asyncio.create_task(_drain(c)) for c in kiosks]
    consoles: list[QueueClient] = []
    try:
        if waiting:
            await _prefill(kiosks, services, waiting)
        consoles = await _open_counters(url, counters)
        drains += [asyncio.create_task(_drain(c)) for c in consoles]
        for round_ in range(WARMUP_PER_CLIENT):
            await asyncio.gather(
                *(_issue(k, services[(i + round_) % len(services)]) for i, k in enumerate(kiosks))
            )
        run.expected_stored = waiting + WARMUP_PER_CLIENT * len(kiosks)
        run.waiting_at_start = run.expected_stored
        ticks_at_start = process_ticks(server_pid) if server_pid else (0, 0)
        begun = loop.time()
        give_up = begun + seconds + grace

        async def one(kiosk: QueueClient, service: str, due: float) -> None:
            sent = loop.time()
            run.send_lag.append(sent - due)
            try:
                await _issue(kiosk, service, timeout=max(0.0, give_up - sent))
            except RemoteError as exc:
                run.errors[exc.code] += 1
                run.latencies.append(math.inf)
                return
            except ClientError as exc:
                # The client raises ConnectionLost both when its deadline passes and when
                # the connection drops (a server too busy to answer keepalive pings).
                kind = "connection dropped" if not kiosk.connected else "no reply in time"
                if not isinstance(exc, ConnectionLost):
                    kind = type(exc).__name__
                run.errors[kind] += 1
                run.latencies.append(math.inf)
                return
            done = loop.time()
            run.latencies.append(done - due)
            run.timeline.append((due - begun, done - due))

        if rate is not None:
            total = round(rate * seconds)
            tasks = []
            for i in range(total):
                due = begun + i / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(
                    asyncio.create_task(
                        one(kiosks[i % len(kiosks)], services[i % len(services)], due)
                    )
                )
            await asyncio.gather(*tasks)
        else:
            end = begun + seconds
            counter = iter(range(10**9))

            async def back_to_back(kiosk: QueueClient) -> None:
                while loop.time() < end:
                    await one(kiosk, services[next(counter) % len(services)], loop.time())

            await asyncio.gather(*(back_to_back(k) for k in kiosks))
        run.seconds = loop.time() - begun
        if server_pid:
            user, system = process_ticks(server_pid)
            hertz = os.sysconf("SC_CLK_TCK")
            run.server_cpu_seconds = (user + system - sum(ticks_at_start)) / hertz
            run.server_system_seconds = (system - ticks_at_start[1]) / hertz
        run.expected_stored += run.answered
        run.console_connect_seconds = await _console_connect_seconds(url)
        if not run.errors:
            snapshot = await kiosks[0].request("snapshot")
            run.waiting_at_end = int(snapshot["snapshot"]["queue"]["total_waiting"])
    finally:
        for task in drains:
            task.cancel()
        await asyncio.gather(*(c.close() for c in (*kiosks, *consoles)), return_exceptions=True)


@contextlib.contextmanager
def booked(db_url: str, config: Path, bookings: int) -> Iterator[None]:
    """``bookings`` appointments in the centre's diary, booked evenly over the next four
    weeks (the first within minutes), written before the server starts as the bookings
    feed would have left them: the server holds every booking from yesterday on, and
    routing and each issue's wait estimate plan for those due soon."""
    if bookings:
        setup = load_config(config).to_setup()
        store = Store(db_url)
        try:
            store.migrate()
            table = AppointmentRow.__table__  # type: ignore[attr-defined]
            start = datetime.now(UTC).replace(second=0, microsecond=0)
            codes = [s.code for s in setup.services]
            rows = [
                {
                    "centre": setup.centre_id,
                    "ref": f"BENCH-{n}",
                    "service": codes[n % len(codes)],
                    "at": start + BOOKED_AHEAD * (n + 1) / bookings,
                    "status": "booked",
                }
                for n in range(bookings)
            ]
            with store.engine.begin() as conn:
                conn.execute(sa.insert(table), rows)
        finally:
            store.close()
    yield


#: how far ahead ``--bookings`` are spread
BOOKED_AHEAD = timedelta(days=28)


def bench_one(kind: str, load: str, args: argparse.Namespace, profile: str | None) -> Run:
    rate = args.rate if load == "open" else None
    seconds = args.seconds if load == "open" else args.closed_seconds
    offered = f"{args.rate:g}/s" if rate else f"max ({args.clients} × back-to-back)"
    run = Run(kind, "open loop" if rate else "closed loop", offered)
    with tempfile.TemporaryDirectory(prefix="walkin-bench-") as folder:
        config = with_counters(always_open_config(folder), args.counters)
        if args.routing:
            with_routing(config, args.routing)
        facts = centre_facts(config)
        counters = list(facts.counters)[: args.open_counters]
        serve_options = ("--cpus", args.server_cpus) if args.server_cpus else ()
        with (
            database(kind, folder) as db_url,
            booked(db_url, config, args.bookings),
            running_server(config, db_url, folder, extra=serve_options) as server,
        ):
            tokens = enroll(db_url, "kiosk", [f"kiosk-{i + 1}" for i in range(args.clients)])
            add_staff(db_url, [*(f"adviser-{i + 1}" for i in range(len(counters))), "adviser-late"])
            meter = CpuMeter().start()
            meter.add(server.pid, "server")
            with (
                profiling(server.pid, profile, seconds + 5, gil=args.profile_gil),
                on_cpus(args.generator_cpus),
            ):
                asyncio.run(
                    measure(
                        server.url,
                        tokens,
                        facts.services,
                        counters,
                        run,
                        rate=rate,
                        seconds=seconds,
                        grace=args.grace,
                        waiting=args.waiting,
                        server_pid=server.pid,
                    )
                )
            if kind == "postgresql":
                for pid in postgres_backends(db_url):
                    meter.add(pid, "postgres backends", whole_life=True)
            meter.stop()
            run.cpu = meter.describe()
            run.stored = count_tickets(db_url)
    return run


@contextlib.contextmanager
def on_cpus(cpus: str | None) -> Iterator[None]:
    """This process's main thread (the kiosks' event loop) on ``cpus`` for the load, as
    it was afterwards (the next server, started from it, must not inherit them). The
    CPU meter's thread and py-spy, started before, stay where they were."""
    if not cpus:
        yield
        return
    from queue_server.affinity import parse_cpus

    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, parse_cpus(cpus))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def with_counters(config: Path, total: int) -> Path:
    """``config`` (the example centre's six counters) with counters added up to ``total``,
    each like the one six before it ("Counter 7" serves what "Counter 1" does)."""
    text = config.read_text(encoding="utf-8")
    blocks = re.findall(r"(?ms)^\[\[counters\]\]\n.*?(?=^\[|\Z)", text)
    if total <= len(blocks):
        return config
    extra = []
    for n in range(len(blocks) + 1, total + 1):
        model = blocks[(n - 1) % len(blocks)]
        extra.append(re.sub(r'(?m)^name = ".*"$', f'name = "Counter {n}"', model).rstrip())
    config.write_text(text.rstrip() + "\n\n" + "\n\n".join(extra) + "\n", encoding="utf-8")
    return config


def with_routing(config: Path, name: str) -> Path:
    """``config`` with ``[policy] routing = name`` (the policy "call next" and the wait
    estimate's replay follow), whatever the example centre says."""
    text = config.read_text(encoding="utf-8")
    text, replaced = re.subn(r'(?m)^routing = ".*"$', f'routing = "{name}"', text)
    if not replaced:
        text = re.sub(r"(?m)^\[policy\]\n", f'[policy]\nrouting = "{name}"\n', text, count=1)
    config.write_text(text, encoding="utf-8")
    return config


def _cpu_ms(run: Run) -> str:
    """CPU per ticket answered, and the kernel's part of it."""
    value = run.cpu_ms_per_ticket
    if value is None:
        return "n/a"
    return f"{value:.2f} ({run.server_system_seconds / run.answered * 1000:.2f} system)"


def _connect_ms(run: Run) -> str:
    took = run.console_connect_seconds
    return "n/a" if took is None else f"{took * 1000:.0f}"


def report(runs: Sequence[Run], args: argparse.Namespace) -> str:
    rows = []
    for run in runs:
        ms = latency_summary_ms(run.latencies)
        errors = ", ".join(f"{k} {v}" for k, v in run.errors.items()) or "0"
        rows.append(
            [
                run.database,
                run.load,
                run.offered,
                f"{run.achieved:.1f}/s",
                len(run.latencies),
                run.answered,
                ms["p50"],
                ms["p90"],
                ms["p99"],
                ms["max"],
                errors,
                f"{run.stored}/{run.expected_stored}",
                _cpu_ms(run),
            ]
        )
    lines = [
        f"Machine: {machine_summary()}",
        f"Kiosks: {args.clients} websocket clients in one process; counters open: "
        f"{args.open_counters}; server: `walkin serve` in its own process"
        + (f", on CPU {args.server_cpus} (`--cpus`)" if args.server_cpus else "")
        + (f"; the kiosks on CPU {args.generator_cpus}" if args.generator_cpus else "")
        + ".",
        "",
        markdown_table(
            [
                "database",
                "load",
                "offered",
                "achieved",
                "sent",
                "answered",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "errors",
                "stored/acked",
                "server CPU ms/ticket",
            ],
            rows,
        ),
        "",
    ]
    for run in runs:
        lag = latency_summary_ms(run.send_lag) if run.load == "open loop" else None
        thirds = _by_third(run)
        lines.append(
            f"- {run.database}, {run.load}: waiting at the start {run.waiting_at_start}; "
            f"p99 by third of the run {thirds}; "
            f"queue at the end {'n/a' if run.waiting_at_end is None else run.waiting_at_end}"
            " waiting"
            + (
                f"; generator send lag p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms"
                if lag
                else ""
            )
            + f"; a counter console connected in {_connect_ms(run)} ms after the load"
            + f"; {run.cpu}"
        )
        if run.load == "open loop" and args.rate == 50:
            p99 = latency_summary_ms(run.latencies)["p99"]
            verdict = "met" if p99 < TARGET_P99_MS and not run.errors else "NOT met"
            lines.append(f"  target p99 < {TARGET_P99_MS:g} ms at 50/s: {verdict} ({p99:.1f} ms)")
    return "\n".join(lines)


def _by_third(run: Run) -> str:
    if not run.timeline:
        return "n/a"
    span = max(t for t, _ in run.timeline) or 1.0
    parts = []
    for k in range(3):
        lo, hi = span * k / 3, span * (k + 1) / 3
        chunk = [lat for t, lat in run.timeline if lo <= t <= hi]  # answered ones only
        parts.append(f"{latency_summary_ms(chunk)['p99']:.1f}")
    return " / ".join(parts) + " ms"


def _median_ms(work: Callable[..., object], *args: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _centre_with_queue(size: int, open_counters: int) -> tuple[Centre, str, datetime]:
    """The example centre with ``open_counters`` counters open and ``size`` walk-ins
    waiting, issued 20 ms apart (50 a second); returns it, the newest ticket's id, and
    the time of that ticket."""
    setup = dataclasses.replace(
        load_config(EXAMPLE_CONFIG).to_setup(), hours=OpeningHours(always_open=True)
    )
    centre = Centre(setup)
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    def do(command: cmd.Command) -> str | None:
        decision = centre.decide(command, now)
        centre.apply(decision.events)
        return decision.ticket.id if decision.ticket else None

    for i, counter in enumerate(list(centre.counters)[:open_counters]):
        do(cmd.SignIn(actor="bench", counter=counter, staff=f"adviser-{i + 1}"))
        do(cmd.OpenCounter(actor="bench", counter=counter))
    services = list(centre.services)
    newest = None
    for i in range(size):
        now += timedelta(milliseconds=20)
        newest = do(
            cmd.IssueTicket(
                actor="kiosk:bench",
                service=services[i % len(services)],
                ticket_id=f"ticket-{i}",
                idempotency_key=f"key-{i:08d}",
            )
        )
    assert newest is not None
    return centre, newest, now


def estimate_curve(sizes: Sequence[int], open_counters: int) -> str:
    """In this process, no server: what one wait estimate for the newest ticket (the
    server computes one for every issue) and one ``queue`` push cost, by queue length."""
    rows = []
    for size in sizes:
        centre, newest, now = _centre_with_queue(size, open_counters)
        rows.append(
            [
                size,
                _median_ms(estimate_wait, centre, newest, now),
                _median_ms(views.queue_message, centre, now),
            ]
        )
    return "\n".join(
        [
            f"Wait estimate for the newest ticket, {open_counters} counters open "
            "(median of 5, in this process):",
            "",
            markdown_table(["waiting", "estimate_wait ms", "queue_message ms"], rows),
        ]
    )


def idle_server(seconds: float) -> str:
    """A ``walkin serve`` of the example centre (SQLite) with no client at all: its
    CPU over ``seconds`` once it has been up 5 s (the lease's beat, the credentials'
    poll, the sweeps: what a centre's server costs when nobody comes)."""
    with tempfile.TemporaryDirectory(prefix="walkin-bench-") as folder:
        config = always_open_config(folder)
        with running_server(config, f"sqlite:///{folder}/walkin.db", folder) as server:
            time.sleep(5)
            before = sum(process_ticks(server.pid))
            time.sleep(seconds)
            used = (sum(process_ticks(server.pid)) - before) / os.sysconf("SC_CLK_TCK")
    return (
        f"Idle server (no clients), {seconds:g} s: {used * 1000 / seconds:.1f} ms of CPU a second"
    )


def wake_control(rounds: int = 3, calls: int = 200) -> str:
    """The control for CPU per ticket at a low rate: one fixed piece of work that is not
    Walkin's (JSON, an in-memory SQLite insert and sum, a sort; about 0.5 ms) timed in
    thread CPU, back to back and then once every 20 ms. What it costs more when paced
    is the machine's waking from idle (cold caches), which every program here pays."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c REAL)")
    payload = {"type": "issue_ticket", "items": [{"k": i, "v": str(i) * 5} for i in range(40)]}

    def work() -> None:
        for _ in range(12):
            json.loads(json.dumps(payload))
        for i in range(30):
            db.execute("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", (str(i), i, i / 2))
        db.execute("SELECT count(*), sum(b) FROM t").fetchone()
        db.execute("DELETE FROM t")
        sorted(range(3000), key=lambda v: -v)

    def median_us(pace: float) -> float:
        spent = []
        for _ in range(calls):
            began = time.thread_time()
            work()
            spent.append(time.thread_time() - began)
            if pace:
                time.sleep(pace)
        return statistics.median(spent) * 1e6

    lines = ["| round | back to back µs | every 20 ms µs | ratio |", "|---:|---:|---:|---:|"]
    for number in range(1, rounds + 1):
        close, paced = median_us(0), median_us(0.02)
        lines.append(f"| {number} | {close:.0f} | {paced:.0f} | {paced / close:.2f} |")
    return "\n".join(lines)


def issue_path_in_process(issues: int, blocks: int, pace: float) -> str:
    """In this process, no sockets: CPU time (``time.process_time``, every thread) of
    an issue through ``QueueServer._answer`` (decode, decide, the estimate, the commit
    in its worker thread, apply, the reply; pushes built for nobody), on a fenced
    SQLite store (WAL, ``synchronous=FULL``) of the example centre, no counter open;
    and the thread CPU of ``Store.commit`` alone. ``pace``: seconds slept between
    issues (0.02: 50 a second, so that each issue starts cold, as in the server; 0:
    back to back, the Python alone). The first block warms up and is left out."""
    from queue_server.net.auth import Identity
    from queue_server.net.server import QueueServer
    from queue_server.store import Store

    setup = dataclasses.replace(
        load_config(EXAMPLE_CONFIG).to_setup(), hours=OpeningHours(always_open=True)
    )
    services = [service.code for service in setup.services]

    async def run(store: Store) -> tuple[list[float], float]:
        server = QueueServer(setup, store)
        commits = [0.0, 0]
        commit = store.commit

        def timed(*args: object, **kwargs: object) -> None:
            started = time.thread_time()
            try:
                commit(*args, **kwargs)  # type: ignore[arg-type]
            finally:
                commits[0] += time.thread_time() - started
                commits[1] += 1

        store.commit = timed  # type: ignore[method-assign]
        kiosk = Identity("kiosk", "kiosk-1")
        per_block = []
        for block in range(blocks + 1):
            started = time.process_time()
            for i in range(issues):
                frame = json.dumps(
                    {
                        "type": "issue_ticket",
                        "id": i,
                        "service": services[i % len(services)],
                        "idempotency_key": f"key-{block:03d}-{i:06d}",
                    }
                )
                reply = await server._answer(kiosk, frame)
                server._flush()
                assert reply is not None and reply["type"] != "error", reply
                if pace:
                    await asyncio.sleep(pace)
            if block:
                per_block.append((time.process_time() - started) / issues * 1e6)
            else:
                commits[:] = [0.0, 0]
        return per_block, commits[0] / commits[1] * 1e6

    with tempfile.TemporaryDirectory(prefix="walkin-bench-") as folder:
        store = Store(f"sqlite:///{folder}/walkin.db")
        store.migrate()
        store.register_centre(setup)
        store.take_lease(setup.centre_id, "bench")
        try:
            per_block, commit_us = asyncio.run(run(store))
        finally:
            store.close()
    return (
        f"In process, {issues} issues a block, {blocks} blocks, {pace * 1000:g} ms between "
        f"issues: CPU per issue median {statistics.median(per_block):.0f} us (blocks "
        f"{' '.join(f'{x:.0f}' for x in per_block)}); Store.commit's thread CPU "
        f"{commit_us:.0f} us"
    )


MATRIX_COUNTERS = (0, 6, 12)
MATRIX_WAITING = (100, 1000, 10000)


def matrix(kinds: Sequence[str], args: argparse.Namespace) -> str:
    """Issue 12's grid: for each database, counters open and people waiting, one
    open-loop run at ``--rate`` on a new server and database."""
    rows = []
    for kind in kinds:
        for open_counters in MATRIX_COUNTERS:
            for waiting in MATRIX_WAITING:
                started = time.monotonic()
                one = argparse.Namespace(
                    **{
                        **vars(args),
                        "open_counters": open_counters,
                        "counters": max(args.counters, open_counters),
                        "waiting": waiting,
                    }
                )
                run = bench_one(kind, "open", one, None)
                ms = latency_summary_ms(run.latencies)
                rows.append(
                    [
                        kind,
                        open_counters,
                        f"{waiting:,}",
                        f"{run.achieved:.1f}/s",
                        ms["p50"],
                        ms["p99"],
                        ms["max"],
                        ", ".join(f"{k} {v}" for k, v in run.errors.items()) or "0",
                        _cpu_ms(run),
                        _connect_ms(run),
                    ]
                )
                print(
                    f"... {kind}, {open_counters} open, {waiting} waiting: "
                    f"p99 {ms['p99']:.1f} ms, {_cpu_ms(run)} ms CPU a ticket "
                    f"({time.monotonic() - started:.0f} s)",
                    file=sys.stderr,
                )
    return "\n".join(
        [
            f"Machine: {machine_summary()}",
            f"Open loop {args.rate:g} tickets/s for {args.seconds:g} s from "
            f"{args.clients} kiosks; a new server and database for each row; CPU is the "
            "server's over the measured load only, per ticket answered.",
            "",
            markdown_table(
                [
                    "database",
                    "counters open",
                    "waiting at start",
                    "achieved",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                    "errors",
                    "server CPU ms/ticket",
                    "console connect ms",
                ],
                rows,
            ),
        ]
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rate", type=float, default=50.0, help="open-loop tickets/s in total")
    parser.add_argument("--seconds", type=float, default=30.0, help="open-loop duration")
    parser.add_argument("--clients", type=int, default=20, help="kiosk connections")
    parser.add_argument(
        "--closed-seconds", type=float, default=10.0, help="closed-loop duration (0: skip)"
    )
    parser.add_argument(
        "--open-counters",
        type=int,
        default=6,
        help="counters with an adviser signed in and open (the example centre has 6)",
    )
    parser.add_argument(
        "--counters",
        type=int,
        default=6,
        help="counters in the centre: the example's six, or more like them (12: two of each)",
    )
    parser.add_argument(
        "--waiting",
        type=int,
        default=0,
        help="people already waiting when the load begins (issued first, before counters open)",
    )
    parser.add_argument(
        "--bookings",
        type=int,
        default=0,
        help="appointments booked over the next four weeks before the server starts",
    )
    parser.add_argument(
        "--routing",
        help="the centre's [policy] routing (rules, fifo, standards; default: the example "
        "centre's own)",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="open loop only, for 0/6/12 counters open and 100/1,000/10,000 waiting: "
        "p99, server CPU per ticket and a console's connect time for each",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=30.0,
        help="seconds after the load ends to wait for replies before giving up on them",
    )
    parser.add_argument(
        "--estimate-curve",
        action="store_true",
        help="only time the wait estimate by queue length, in this process, and stop",
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="sample the server with py-spy: PREFIX-DB-LOAD.folded",
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL (where Python "
        "spends CPU, not where threads wait)",
    )
    parser.add_argument(
        "--in-process",
        type=int,
        metavar="ISSUES",
        help="only time the issue path in this process, no sockets (ISSUES a block, "
        "6 blocks; --pace), and stop",
    )
    parser.add_argument(
        "--pace", type=float, default=0.02, help="with --in-process: seconds between issues"
    )
    parser.add_argument(
        "--server-cpus",
        metavar="LIST",
        help="start the server with `walkin serve --cpus LIST` (e.g. 1)",
    )
    parser.add_argument(
        "--generator-cpus",
        metavar="LIST",
        help="keep this process (the kiosks) on these CPUs (e.g. 0), away from the server's",
    )
    parser.add_argument(
        "--wake-control",
        action="store_true",
        help="only time a fixed piece of work that is not Walkin's, back to back and "
        "every 20 ms, in this process, and stop (the machine's cost of waking)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        metavar="SECONDS",
        help="only measure a server with no clients for SECONDS (its CPU a second), and stop",
    )
    args = parser.parse_args(argv)
    if args.idle:
        print(idle_server(args.idle))
        return 0
    if args.wake_control:
        print(wake_control())
        return 0
    if args.in_process:
        print(issue_path_in_process(args.in_process, 6, args.pace))
        return 0
    if args.estimate_curve:
        print(estimate_curve((25, 50, 100, 200, 400, 800, 1500), args.open_counters))
        return 0
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    if args.matrix:
        print(matrix(kinds, args))
        return 0
    loads = ("open", "closed") if args.closed_seconds > 0 else ("open",)
    runs = []
    for kind in kinds:
        for load in loads:
            profile = f"{args.profile}-{kind}-{load}.folded" if args.profile else None
            started = time.monotonic()
            runs.append(bench_one(kind, load, args, profile))
            print(
                f"... {kind} {load} loop done in {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
    print(report(runs, args))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
