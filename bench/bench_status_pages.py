"""Ticket status pages: an adviser's call reaches the visitor's phone, and every other
phone hears that it moved up.

Run (from the repository root)::

    .venv/bin/python bench/bench_status_pages.py --visitors 100,300,1000 --calls 200

For each database and each ``--visitors`` N, a real ``walkin serve`` in its own
process on a new database, with ``--counters`` advisers signed in and their counters
open (their consoles connected, reading their pushes). Kiosks issue N tickets, the
services in turn; then one visitor page per ticket connects (plain ``websockets``
clients spread over ``--procs`` processes, at most ``CONNECT_CONCURRENCY`` handshakes
in flight per process): ``hello`` with the ticket's id, ``welcome``, the first
``ticket_status``, then every push, each with the moment it was read. A page closes
once its ticket is finished, as ``ticket.js`` does.

Then ``--calls`` steps, one counter after another in turn, so the queue stays at N:

1. the counter's current ticket, if any, is started and completed (``start_service``,
   ``complete``), a kiosk issues one new ticket and a new page connects for it;
2. a random pause of up to ``--phase`` seconds, so that calls fall at every moment of
   the server's one-second push cycle (the complete above has started one);
3. the adviser sends ``call_next`` (timed to its ``ok``: the adviser's own wait);
4. wait until at least 1.3 s after the call and no page has read anything for 0.3 s.

Measured, all on ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process
on the machine):

- **call to phone:** from just before ``call_next`` is sent to the called ticket's
  page reading a ``ticket_status`` with state ``called``;
- **position updates:** for every other page whose ticket was waiting when the call
  was sent, the first ``ticket_status`` with a different ``people_ahead`` read after
  the call and before the next step began, from the call; and per call, the last page
  to hear (the whole fan-out). The server sends these at most once a second, so this
  is the remainder of that second plus the time to build and send every page's status;
- **the adviser's ``call_next`` reply**, with N pages open and, with ``--baseline``,
  the same steps on the same queue with no page open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    STAFF_PASSWORD,
    CpuMeter,
    add_staff,
    always_open_config,
    centre_facts,
    database,
    enroll,
    latency_summary_ms,
    machine_summary,
    markdown_table,
    postgres_backends,
    profiling,
    raise_open_file_limit,
    rss_kb,
    running_server,
)

from queue_server.client import QueueClient, RemoteError, new_idempotency_key  # noqa: E402

#: visitor handshakes in flight at once, per visitor process
CONNECT_CONCURRENCY = 10
KIOSKS = 4
#: a step waits at least this long after its call (the server pushes others' moves
#: within 1 s) ...
MIN_SETTLE = 1.3
#: ... and until no page has read anything for this long
QUIET = 0.3
#: a step gives up waiting for quiet after this long
MAX_SETTLE = 15.0
FINAL = frozenset({"done", "no_show", "cancelled"})
QUEUED = frozenset({"waiting", "transferred"})
#: targets: a called visitor's phone within 1 s; the adviser's reply with 1 000 phones
TARGET_CALLED_P99_MS = 1000.0
TARGET_REPLY_P99_MS = 100.0

#: one ticket_status read by a page: (ticket id, when, state, people_ahead, minutes)
Frame = tuple[str, float, str, int | None, int | None]


# ---------------------------------------------------------------- the visitor processes


def visitor_process(url: str, ticket_ids: list[str], pipe: Connection, last_read: Any) -> None:
    """Entry point of one visitor process: open a page per ticket, report ready, then
    open one more page on each ("watch", id); on ("stop",) close every page and send
    back every frame read. ``last_read`` (a shared double) holds the time of the last
    frame any page of this process read, so the driver can tell when pushes are over."""
    raise_open_file_limit(2 * len(ticket_ids) + 1024)
    asyncio.run(_visitors(url, ticket_ids, pipe, last_read))


async def _visitors(url: str, ticket_ids: list[str], pipe: Connection, last_read: Any) -> None:
    from websockets.asyncio.client import connect

    frames: list[Frame] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    pages: set[asyncio.Task[None]] = set()
    opened: list[Any] = []

    async def page(ticket_id: str, ready: asyncio.Future[None] | None) -> None:
        try:
            async with gate:
                ws = await connect(url, open_timeout=60, max_size=2**20)
                opened.append(ws)
                await ws.send(
                    json.dumps({"type": "hello", "ticket": ticket_id, "client": "bench-visitor"})
                )
                welcome = json.loads(await ws.recv())
                if welcome.get("type") != "welcome":
                    raise RuntimeError(f"page refused: {welcome}")
        except Exception as exc:
            errors.append(f"{ticket_id}: {exc!r}")
            if ready is not None:
                ready.set_result(None)
            return
        first = True
        try:
            async for raw in ws:
                at = time.monotonic()
                message = json.loads(raw)
                if message.get("type") != "ticket_status":
                    continue
                last_read.value = at
                frames.append(
                    (ticket_id, at, message["state"], message["people_ahead"], message["minutes"])
                )
                if first and ready is not None:
                    ready.set_result(None)
                first = False
                if message["state"] in FINAL:
                    break  # as ticket.js: nothing more will change
        except Exception as exc:  # a dropped page is an error, not the end of the run
            errors.append(f"{ticket_id}: {exc!r}")
        finally:
            if ready is not None and not ready.done():
                ready.set_result(None)
            with contextlib.suppress(Exception):
                await ws.close()

    def start(ticket_id: str, ready: asyncio.Future[None] | None = None) -> None:
        task = asyncio.create_task(page(ticket_id, ready))
        pages.add(task)
        task.add_done_callback(pages.discard)

    loop = asyncio.get_running_loop()
    started = time.monotonic()
    readies = []
    for ticket_id in ticket_ids:
        ready: asyncio.Future[None] = loop.create_future()
        readies.append(ready)
        start(ticket_id, ready)
    await asyncio.gather(*readies)
    pipe.send(("ready", len(ticket_ids) - len(errors), time.monotonic() - started, errors[:5]))

    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def listen() -> None:  # a thread: the pipe blocks
        while True:
            command = pipe.recv()
            loop.call_soon_threadsafe(commands.put_nowait, command)
            if command[0] == "stop":
                return

    threading.Thread(target=listen, daemon=True).start()
    while True:
        command = await commands.get()
        if command[0] == "watch":
            start(command[1])
        elif command[0] == "stop":
            break
    for task in list(pages):
        task.cancel()
    await asyncio.gather(*pages, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    pipe.send(("frames", frames, errors))


# ---------------------------------------------------------------- the driver


@dataclass
class Step:
    counter: str
    #: when the step's first request (start_service, complete or the issue) was sent
    began: float
    #: just before call_next was sent, and its ok read
    sent: float
    replied: float
    #: the ticket called (None: nothing to call)
    ticket: str | None


@dataclass
class Run:
    database: str
    #: the queue's length, and the pages open on it (0: the baseline)
    tickets: int
    visitors: int
    calls: int = 0
    steps: list[Step] = field(default_factory=list)
    connect_seconds: float = 0.0
    connect_errors: list[str] = field(default_factory=list)
    unsettled: int = 0
    #: results, from ``analyse``
    called: list[float] = field(default_factory=list)
    called_missing: int = 0
    called_before_page: int = 0
    moved: list[float] = field(default_factory=list)
    last_moved: list[float] = field(default_factory=list)
    unmoved: int = 0
    frames: int = 0
    page_errors: list[str] = field(default_factory=list)
    cpu: str = ""
    server_cpu: float = math.nan
    #: the server's resident memory (KB): before the pages open, with them open
    rss_kb: dict[str, int] = field(default_factory=dict)

    @property
    def reply(self) -> list[float]:
        return [s.replied - s.sent for s in self.steps]


async def _drain(client: QueueClient) -> None:
    async for _ in client.pushes():
        pass


async def _issue(kiosk: QueueClient, service: str) -> str:
    reply = await kiosk.request(
        "issue_ticket", service=service, idempotency_key=new_idempotency_key(), timeout=60
    )
    return str(reply["ticket"]["id"])


async def drive(
    server_url: str,
    kiosk_tokens: list[str],
    counters: list[str],
    services: list[str],
    run: Run,
    args: argparse.Namespace,
    start_visitors: Any,
) -> None:
    """Open the counters, issue the queue, have ``start_visitors(ticket_ids)`` open the
    pages (it returns the pipes and shared last-read times), then the steps."""
    rng = random.Random(args.seed)
    consoles = []
    for i, counter in enumerate(counters):
        console = QueueClient(
            server_url,
            username=f"adviser-{i + 1}",
            password=STAFF_PASSWORD,
            client_name="bench-console",
            reconnect=False,
        )
        await console.connect(timeout=30)
        await console.request("sign_in_counter", counter=counter)
        await console.request("open_counter", counter=counter)
        consoles.append(console)
    kiosks = [
        await QueueClient(server_url, token=t, client_name="bench-kiosk", reconnect=False).connect(
            timeout=30
        )
        for t in kiosk_tokens
    ]
    drains = [asyncio.create_task(_drain(c)) for c in (*consoles, *kiosks)]
    try:
        ticket_ids: list[str] = []
        for i in range(0, run.tickets, len(kiosks)):
            batch = range(i, min(run.tickets, i + len(kiosks)))
            ticket_ids += await asyncio.gather(
                *(_issue(kiosks[j % len(kiosks)], services[j % len(services)]) for j in batch)
            )
        loop = asyncio.get_running_loop()
        pipes, last_reads = await loop.run_in_executor(None, start_visitors, ticket_ids)
        holding: list[str | None] = [None] * len(counters)
        issued = len(ticket_ids)
        for s in range(args.calls):
            k = s % len(counters)
            console, counter = consoles[k], counters[k]
            began = time.monotonic()
            if holding[k] is not None:
                await console.request("start_service", counter=counter)
                await console.request("complete", counter=counter, outcome="resolved")
            new = await _issue(kiosks[s % len(kiosks)], services[issued % len(services)])
            issued += 1
            if pipes:
                pipes[s % len(pipes)].send(("watch", new))
            await asyncio.sleep(rng.uniform(0, args.phase))
            sent = time.monotonic()
            try:
                reply = await console.request("call_next", counter=counter)
                holding[k] = str(reply["ticket"]["id"])
            except RemoteError as exc:
                if exc.code != "nothing_to_call":
                    raise
                holding[k] = None
            replied = time.monotonic()
            run.steps.append(Step(counter, began, sent, replied, holding[k]))
            while True:
                await asyncio.sleep(0.02)
                now = time.monotonic()
                last = max((v.value for v in last_reads), default=0.0)
                if now >= sent + MIN_SETTLE and now - last >= QUIET:
                    break
                if now >= sent + MAX_SETTLE:
                    run.unsettled += 1
                    break
        run.calls = sum(1 for step in run.steps if step.ticket is not None)
    finally:
        for task in drains:
            task.cancel()
        await asyncio.gather(*(c.close() for c in (*consoles, *kiosks)), return_exceptions=True)


def bench_one(kind: str, visitors: int, watch: bool, args: argparse.Namespace) -> Run:
    """One server, one database, N tickets; pages open on them if ``watch``."""
    run = Run(kind, visitors, visitors if watch else 0)
    context = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    pipes: list[Connection] = []
    with tempfile.TemporaryDirectory(prefix="walkin-bench-") as folder:
        config = always_open_config(folder)
        facts = centre_facts(config)
        counters = list(facts.counters)[: args.counters]
        with database(kind, folder) as db_url, running_server(config, db_url, folder) as server:
            kiosk_tokens = enroll(db_url, "kiosk", [f"kiosk-{i + 1}" for i in range(KIOSKS)])
            add_staff(db_url, [f"adviser-{i + 1}" for i in range(len(counters))])
            meter = CpuMeter()

            def start_visitors(ticket_ids: list[str]) -> tuple[list[Connection], list[Any]]:
                last_reads = []
                run.rss_kb["before"] = rss_kb(server.pid)
                if watch:
                    for k in range(args.procs):
                        mine, theirs = context.Pipe()
                        last_read = context.RawValue("d", 0.0)
                        process = context.Process(
                            target=visitor_process,
                            args=(server.url, ticket_ids[k :: args.procs], theirs, last_read),
                            daemon=True,
                        )
                        process.start()
                        processes.append(process)
                        pipes.append(mine)
                        last_reads.append(last_read)
                    for pipe in pipes:
                        if not pipe.poll(300):
                            raise RuntimeError("a visitor process did not connect within 300 s")
                        _, connected, seconds, errors = pipe.recv()
                        run.connect_seconds = max(run.connect_seconds, seconds)
                        run.connect_errors += errors
                    time.sleep(2.0)  # every page has had its first status and a push or two
                    run.rss_kb["open"] = rss_kb(server.pid)
                meter.start()
                meter.add(server.pid, "server")
                for k, process in enumerate(processes):
                    meter.add(process.pid, f"pages {k + 1}")
                return pipes, last_reads

            profile = None
            if args.profile and watch and visitors == max(args.visitors):
                profile = f"{args.profile}-{kind}-{visitors}.folded"
            seconds = args.calls * (args.phase / 2 + MIN_SETTLE + 0.15) + 60
            frames: list[Frame] = []
            try:
                with profiling(server.pid, profile, seconds):
                    asyncio.run(
                        drive(
                            server.url,
                            kiosk_tokens,
                            counters,
                            facts.services,
                            run,
                            args,
                            start_visitors,
                        )
                    )
                if kind == "postgresql":
                    for pid in postgres_backends(db_url):
                        meter.add(pid, "postgres backends", whole_life=True)
                meter.stop()
                run.cpu = meter.describe()
                run.server_cpu = meter.percent.get("server", math.nan)
                for pipe in pipes:
                    pipe.send(("stop",))
                for pipe in pipes:
                    if not pipe.poll(120):
                        raise RuntimeError("a visitor process did not report")
                    _, got, errors = pipe.recv()
                    frames += got
                    run.page_errors += errors
            finally:
                for process in processes:
                    process.join(timeout=10)
                    if process.is_alive():
                        process.kill()
                        process.join(timeout=5)
    analyse(run, frames)
    return run


def analyse(run: Run, frames: list[Frame]) -> None:
    """Fill in ``run``'s results from the steps and every frame the pages read."""
    run.frames = len(frames)
    by_ticket: dict[str, list[Frame]] = {}
    for frame in sorted(frames, key=lambda f: f[1]):
        by_ticket.setdefault(frame[0], []).append(frame)
    steps = run.steps
    ends = [steps[i + 1].began for i in range(len(steps) - 1)] + [math.inf]

    for step in steps:
        if step.ticket is None or not by_ticket:
            continue
        seen = by_ticket.get(step.ticket, [])
        if not seen or seen[0][1] > step.sent:
            run.called_before_page += 1
            continue
        at = next((f[1] for f in seen if f[1] >= step.sent and f[2] == "called"), None)
        if at is None:
            run.called_missing += 1
        else:
            run.called.append(at - step.sent)

    last: list[float] = [-1.0] * len(steps)
    for ticket_id, seen in by_ticket.items():
        i = 0  # frames of this ticket before the current step's call
        for s, step in enumerate(steps):
            while i < len(seen) and seen[i][1] < step.sent:
                i += 1
            if i == 0 or ticket_id == step.ticket:
                continue  # the page was not open yet, or this is the call itself
            _, _, state, ahead, _ = seen[i - 1]
            if state not in QUEUED:
                continue
            moved = next(
                (f[1] for f in seen[i:] if f[1] < ends[s] and f[3] != ahead),
                None,
            )
            if moved is None:
                run.unmoved += 1
            else:
                run.moved.append(moved - step.sent)
                last[s] = max(last[s], moved - step.sent)
    run.last_moved = [v for v in last if v >= 0]


# ---------------------------------------------------------------- the report


def report(runs: Sequence[Run], args: argparse.Namespace) -> str:
    rows = []
    for run in runs:
        called = latency_summary_ms(run.called)
        moved = latency_summary_ms(run.moved)
        last = latency_summary_ms(run.last_moved)
        reply = latency_summary_ms(run.reply)
        rows.append(
            [
                run.database,
                run.tickets,
                run.visitors if run.visitors else "none",
                run.calls,
                called["p50"],
                called["p99"],
                called["max"],
                len(run.moved),
                moved["p50"],
                moved["p99"],
                last["p99"],
                reply["p50"],
                reply["p99"],
                reply["max"],
                f"{run.server_cpu:.0f} %",
            ]
        )
    lines = [
        f"Machine: {machine_summary()}",
        f"Counters open: {args.counters}; pages in {args.procs} process(es); "
        f"{args.calls} steps each, pause before each call up to {args.phase:g} s; "
        f"the queue holds about N tickets throughout.",
        "",
        markdown_table(
            [
                "database",
                "waiting",
                "pages",
                "calls",
                "called p50 ms",
                "called p99 ms",
                "called max ms",
                "moved n",
                "moved p50 ms",
                "moved p99 ms",
                "last page of a call p99 ms",
                "call_next p50 ms",
                "call_next p99 ms",
                "call_next max ms",
                "server CPU",
            ],
            rows,
        ),
        "",
    ]
    for run in runs:
        lines.append(
            f"- {run.database}, {run.tickets} waiting, {run.visitors or 'no'} pages: connected in "
            f"{run.connect_seconds:.1f} s ({len(run.connect_errors)} failed); "
            f"{run.frames} ticket_status frames read; called frames missing "
            f"{run.called_missing}, called before the page opened {run.called_before_page}; "
            f"waiting pages not moved by a call {run.unmoved}; steps that never went quiet "
            f"{run.unsettled}; page errors {len(run.page_errors)}"
            + (f" (e.g. {run.page_errors[0]})" if run.page_errors else "")
            + f"; {run.cpu}"
        )
        if len(run.rss_kb) == 2 and run.visitors:
            before, opened = run.rss_kb["before"], run.rss_kb["open"]
            lines.append(
                f"  Server memory (RSS): {before / 1024:.1f} MB before the pages, "
                f"{opened / 1024:.1f} MB with {run.visitors} open "
                f"({(opened - before) / run.visitors:.1f} KB a page)."
            )
    for run in runs:
        if run.visitors == max(args.visitors):
            called = latency_summary_ms(run.called)["p99"]
            reply = latency_summary_ms(run.reply)["p99"]
            ok_called = called < TARGET_CALLED_P99_MS and not run.called_missing
            lines.append(
                f"Targets, {run.database}, {run.visitors} pages: called phone p99 < "
                f"{TARGET_CALLED_P99_MS:g} ms {'met' if ok_called else 'NOT met'} "
                f"({called:.1f} ms); call_next reply p99 < {TARGET_REPLY_P99_MS:g} ms "
                f"{'met' if reply < TARGET_REPLY_P99_MS else 'NOT met'} ({reply:.1f} ms)"
            )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--visitors",
        type=lambda text: [int(v) for v in text.split(",")],
        default=[100, 300, 1000],
        help="comma-separated: the queue's length and the pages open, one run each",
    )
    parser.add_argument("--calls", type=int, default=200, help="steps (calls) per run")
    parser.add_argument("--counters", type=int, default=6, help="counters open (the centre has 6)")
    parser.add_argument("--procs", type=int, default=2, help="processes the pages are spread over")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--phase", type=float, default=1.2, help="longest random pause before each call, s"
    )
    parser.add_argument(
        "--baseline",
        choices=("largest", "all", "none"),
        default="largest",
        help="also run the same steps with no page open: for the largest N, every N, or none",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="sample the server with py-spy during the largest N: PREFIX-DB-N.folded",
    )
    args = parser.parse_args(argv)
    limit = raise_open_file_limit(2 * max(args.visitors) + 1024)
    if limit < max(args.visitors) + 256:
        raise SystemExit(f"open-file limit {limit} is too low for {max(args.visitors)} pages")
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    runs = []
    for kind in kinds:
        for n in args.visitors:
            plan = [True]
            if args.baseline == "all" or (args.baseline == "largest" and n == max(args.visitors)):
                plan.append(False)
            for watch in plan:
                started = time.monotonic()
                runs.append(bench_one(kind, n, watch, args))
                print(
                    f"... {kind}, {n} tickets, {'pages open' if watch else 'no pages'}: "
                    f"done in {time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                )
    print(report(runs, args))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
