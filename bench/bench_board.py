"""Call-to-board latency: an adviser calls, and hundreds of connected boards show it.

Run (from the repository root)::

    .venv/bin/python bench/bench_board.py --boards 500 --calls 100

A real ``walkin serve`` in its own process on a new database; ``--calls`` housing
tickets issued beforehand by a kiosk; ``--boards`` board connections, each with its
own enrolled token, spread over ``--procs`` processes (plain ``websockets`` clients,
as light as a board can be: hello, welcome, snapshot, then read pushes). An adviser
signed in and open at Counter 1 repeats ``call_next`` -> (every board has the call)
-> ``start_service`` -> ``complete``, one call at a time.

Latency is from just before the adviser sends ``call_next`` to the moment a board's
read loop has the ``call`` frame for that ticket, for every board and every call.
All the processes read ``time.monotonic()``, which on Linux is CLOCK_MONOTONIC: one
clock for every process on the machine, so times taken in different processes
compare directly. Boards also get the ``queue`` and ``counters`` pushes every
call, start and complete cause, as real boards do.

The server runs with ``WALKIN_LOOP_LAG_LOG`` (``queue_server.net.serving.LoopLagLog``):
how late its event loop ran a 10 ms timer, and its garbage collections, reported
while the boards connect, within each call's fan-out (from ``call_next`` sent until
the last board had the call) and over the whole run of calls. Its resident memory
is read before the boards connect, with them idle, and after the calls (and its
high-water mark then).

``--stalled N``: N of the boards stop reading after their snapshot, on sockets that
take 4 KB (a hung screen, a phone in a tunnel). The server must not buffer for them
without bound (issue 12 measured +44 MB bursts): it drops one whose unsent backlog
passes ``SLOW_READER_BYTES``, and websockets' keepalive closes one that stops answering
pings. The report counts the first from the server's log, the connections still open
after the calls from ``/healthz``, and gives the memory sampled every 50 ms and the
high-water mark beside the idle figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
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
    LoopLag,
    add_staff,
    always_open_config,
    database,
    enroll,
    latency_summary_ms,
    machine_summary,
    markdown_table,
    postgres_backends,
    profiling,
    raise_open_file_limit,
    read_loop_lag,
    rss_kb,
    running_server,
)

from queue_server.client import QueueClient, new_idempotency_key  # noqa: E402
from queue_server.net.server import PING_INTERVAL, PING_TIMEOUT  # noqa: E402

COUNTER = "Counter 1"
SERVICE = "housing"  # Counter 1's primary service
CONNECT_BATCH = 50
TARGET_P99_MS = 150.0


# ---------------------------------------------------------------- the board processes


def board_process(
    url: str, tokens: list[str], compression: str | None, stalled: int, pipe: Connection
) -> None:
    """Entry point of one board process: connect every token, report ready, then
    report each call as soon as all of this process's reading boards have it; on
    "stop", send back every (number, receive time) seen. The first ``stalled`` boards
    stop reading after their snapshot (a screen whose browser hung, a phone in a
    tunnel), on a socket that takes 4 KB: the server's pushes back up behind them."""
    raise_open_file_limit(len(tokens) + 256)
    asyncio.run(_boards(url, tokens, compression, stalled, pipe))


async def _boards(
    url: str, tokens: list[str], compression: str | None, stalled: int, pipe: Connection
) -> None:
    import socket
    from urllib.parse import urlsplit

    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    received: dict[str, list[float]] = {}

    def on_call(number: str, at: float) -> None:
        times = received.setdefault(number, [])
        times.append(at)
        if len(times) == len(tokens) - stalled:
            pipe.send(("all", number))

    async def open_board(token: str, stall: bool = False) -> Any:
        sock = None
        if stall:
            where = urlsplit(url)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((where.hostname, where.port))
        ws = await connect(url, compression=compression, open_timeout=60, max_size=2**22, sock=sock)
        await ws.send(json.dumps({"type": "hello", "token": token, "client": "bench-board"}))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"board refused: {welcome}")
        await ws.recv()  # the snapshot
        if stall:
            ws.transport.pause_reading()
        return ws

    async def read(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for frame in ws:
                at = time.monotonic()
                message = json.loads(frame)
                if message.get("type") == "call":
                    on_call(message["number"], at)

    started = time.monotonic()
    connections = [await open_board(t, stall=True) for t in tokens[:stalled]]
    reading = tokens[stalled:]
    for i in range(0, len(reading), CONNECT_BATCH):
        connections += await asyncio.gather(
            *(open_board(t) for t in reading[i : i + CONNECT_BATCH])
        )
    readers = [asyncio.create_task(read(ws)) for ws in connections[stalled:]]
    pipe.send(("ready", len(connections), time.monotonic() - started))
    # wait for "stop" without blocking the loop
    await loop.run_in_executor(None, pipe.recv)
    pipe.send(("received", received))
    for task in readers:
        task.cancel()
    for ws in connections[:stalled]:
        ws.transport.abort()
    await asyncio.gather(*(ws.close() for ws in connections[stalled:]), return_exceptions=True)


# ---------------------------------------------------------------- memory while it runs


def tcp_memory_kb() -> int:
    """The kernel's memory for every TCP socket on the machine, in KB (``mem`` of
    /proc/net/sockstat, in pages): what the server's kernel holds for readers that
    stopped reading, which the server's own RSS does not show."""
    with open("/proc/net/sockstat", encoding="ascii") as sockstat:
        for line in sockstat:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    raise RuntimeError("no TCP line in /proc/net/sockstat")


class MemorySampler:
    """The server's RSS and the kernel's TCP memory every 50 ms while it runs, so a
    burst between the benchmark's own readings is seen, and when it came."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.samples.append((time.monotonic(), rss_kb(self.pid), tcp_memory_kb()))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, window: tuple[float, float]) -> tuple[int, int]:
        """The highest RSS and TCP memory (KB) sampled within ``window``."""
        inside = [s for s in self.samples if window[0] <= s[0] <= window[1]]
        return max((s[1] for s in inside), default=0), max((s[2] for s in inside), default=0)


# ---------------------------------------------------------------- the adviser


@dataclass
class Result:
    boards: int
    procs: int
    compression: str
    #: boards that stop reading after their snapshot, and how many the server dropped
    stalled: int = 0
    dropped: int = 0
    #: connections the server still had after the calls (its /healthz)
    still_connected: int = -1
    calls: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)
    call_reply: list[float] = field(default_factory=list)
    deliveries: list[float] = field(default_factory=list)
    #: per call: when the last board had it
    slowest: list[float] = field(default_factory=list)
    missing: int = 0
    connect_seconds: float = 0.0
    cpu: str = ""
    #: CPU seconds the server used during the calls
    server_cpu_seconds: float = 0.0
    #: (start, end) in time.monotonic(): the boards connecting, the calls
    connect_window: tuple[float, float] = (0.0, 0.0)
    calls_window: tuple[float, float] = (0.0, 0.0)
    #: the server's event loop (``WALKIN_LOOP_LAG_LOG``): while the boards connected,
    #: within each call's fan-out, over the whole run of calls
    lag_connect: LoopLag | None = None
    lag_fan_out: LoopLag | None = None
    lag_calls: LoopLag | None = None
    #: the server's resident memory (KB): before the boards, with them idle, after;
    #: "peak": its high-water mark (VmHWM) at the end of the calls
    rss_kb: dict[str, int] = field(default_factory=dict)


async def adviser(
    url: str, kiosk_token: str, pipes: list[Connection], result: Result, calls: int, pause: float
) -> None:
    async with QueueClient(url, token=kiosk_token, reconnect=False) as kiosk:
        for _ in range(calls):
            await kiosk.request(
                "issue_ticket", service=SERVICE, idempotency_key=new_idempotency_key()
            )
    async with QueueClient(
        url, username="adviser-1", password=STAFF_PASSWORD, reconnect=False
    ) as console:
        await console.request("sign_in_counter", counter=COUNTER)
        await console.request("open_counter", counter=COUNTER)
        console_drain = asyncio.create_task(_drain(console))
        started = time.monotonic()
        for _ in range(calls):
            waiting = {id(p) for p in pipes}
            sent = time.monotonic()
            reply = await console.request("call_next", counter=COUNTER)
            result.call_reply.append(time.monotonic() - sent)
            number = reply["ticket"]["number"]
            result.sent_at[number] = sent
            deadline = time.monotonic() + 10
            while waiting and time.monotonic() < deadline:
                for pipe in pipes:
                    if id(pipe) in waiting and pipe.poll():
                        kind, got = pipe.recv()
                        if kind == "all" and got == number:
                            waiting.discard(id(pipe))
                if waiting:
                    await asyncio.sleep(0.002)
            await console.request("start_service", counter=COUNTER)
            await console.request("complete", counter=COUNTER, outcome="resolved")
            result.calls += 1
            await asyncio.sleep(pause)
        result.calls_window = (started, time.monotonic())
        console_drain.cancel()


async def _drain(client: QueueClient) -> None:
    async for _ in client.pushes():
        pass


def run(args: argparse.Namespace) -> Result:
    limit = raise_open_file_limit(2 * args.boards + 512)
    if limit < args.boards + 64:
        raise SystemExit(f"open-file limit {limit} is too low for {args.boards} boards")
    result = Result(args.boards, args.procs, args.compression, args.stalled)
    compression = None if args.compression == "none" else "deflate"
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="walkin-bench-") as folder:
        config = always_open_config(folder)
        lag_log = Path(args.lag_log or Path(folder) / "loop-lag.log")
        env = {"WALKIN_LOOP_LAG_LOG": str(lag_log)}
        with (
            database(args.db, folder) as db_url,
            running_server(config, db_url, folder, env) as server,
        ):
            board_tokens = enroll(db_url, "board", [f"board-{i + 1}" for i in range(args.boards)])
            (kiosk_token,) = enroll(db_url, "kiosk", ["kiosk-1"])
            add_staff(db_url, ["adviser-1"])
            pipes: list[Connection] = []
            processes = []
            time.sleep(1.0)  # the server settled after enrolling
            result.rss_kb["before"] = rss_kb(server.pid)
            connecting = time.monotonic()
            try:
                for k in range(args.procs):
                    mine, theirs = context.Pipe()
                    process = context.Process(
                        target=board_process,
                        args=(
                            server.url,
                            board_tokens[k :: args.procs],
                            compression,
                            len(range(k, args.stalled, args.procs)),
                            theirs,
                        ),
                        daemon=True,
                    )
                    process.start()
                    pipes.append(mine)
                    processes.append(process)
                for pipe in pipes:
                    if not pipe.poll(120):
                        raise RuntimeError("a board process did not connect within 120 s")
                    kind, connected, seconds = pipe.recv()
                    result.connect_seconds = max(result.connect_seconds, seconds)
                result.connect_window = (connecting, time.monotonic())
                time.sleep(2.0)  # every board idle after its snapshot
                result.rss_kb["idle"] = rss_kb(server.pid)
                meter = CpuMeter().start()
                meter.add(server.pid, "server")
                for k, process in enumerate(processes):
                    meter.add(process.pid, f"boards {k + 1}")
                result.rss_kb["tcp idle"] = tcp_memory_kb()
                with (
                    profiling(server.pid, args.profile, args.calls * (args.pause + 0.1) + 10),
                    MemorySampler(server.pid) as sampler,
                ):
                    asyncio.run(
                        adviser(server.url, kiosk_token, pipes, result, args.calls, args.pause)
                    )
                before_calls = (result.connect_window[1], result.calls_window[0])
                result.rss_kb["peak before calls"], _ = sampler.peak(before_calls)
                result.rss_kb["peak calls"], result.rss_kb["tcp peak calls"] = sampler.peak(
                    result.calls_window
                )
                if args.db == "postgresql":
                    for pid in postgres_backends(db_url):
                        meter.add(pid, "postgres backends", whole_life=True)
                meter.stop()
                result.cpu = meter.describe()
                result.server_cpu_seconds = meter.seconds["server"]
                result.rss_kb["after"] = rss_kb(server.pid)
                health = server.health()
                if health is not None:
                    result.still_connected = health[1]["connections"]
                result.rss_kb["peak"] = rss_kb(server.pid, "VmHWM")
                received: dict[str, list[float]] = {}
                for pipe in pipes:
                    pipe.send("stop")
                for pipe in pipes:
                    while True:
                        if not pipe.poll(60):
                            raise RuntimeError("a board process did not report")
                        kind, got = pipe.recv()
                        if kind == "received":
                            for number, times in got.items():
                                received.setdefault(number, []).extend(times)
                            break
            finally:
                for process in processes:
                    process.join(timeout=10)
                    if process.is_alive():
                        process.kill()
                        process.join(timeout=5)
            result.dropped = server.log_path.read_text(errors="replace").count("could not keep up")
        # read once the server has stopped (and so written every line)
        fan_outs = []
        for number, sent in result.sent_at.items():
            times = received.get(number, [])
            result.missing += args.boards - args.stalled - len(times)
            latencies = [t - sent for t in times]
            result.deliveries += latencies
            if latencies:
                result.slowest.append(max(latencies))
                fan_outs.append((sent, sent + max(latencies)))
        result.lag_connect = read_loop_lag(lag_log, [result.connect_window])
        result.lag_fan_out = read_loop_lag(lag_log, fan_outs)
        result.lag_calls = read_loop_lag(lag_log, [result.calls_window])
    return result


def memory_line(result: Result) -> str:
    rss = result.rss_kb
    if len(rss) < 3:
        return "Server memory: not measured."
    per_board = (rss["idle"] - rss["before"]) / result.boards
    return (
        f"Server memory (RSS): {rss['before'] / 1024:.1f} MB before the boards, "
        f"{rss['idle'] / 1024:.1f} MB with {result.boards} idle boards "
        f"({per_board:.1f} KB a board), {rss['after'] / 1024:.1f} MB after the calls; "
        f"sampled every 50 ms, at most {rss['peak calls'] / 1024:.1f} MB during the calls "
        f"and {rss['peak before calls'] / 1024:.1f} MB while the kiosk issued their "
        f"tickets and the adviser signed in (argon2id, 64 MiB a password check); "
        f"high-water mark {rss['peak'] / 1024:.1f} MB. The kernel's TCP memory (the "
        f"machine's): {rss['tcp idle'] / 1024:.1f} MB with the boards idle, at most "
        f"{rss['tcp peak calls'] / 1024:.1f} MB during the calls."
    )


def report(result: Result, args: argparse.Namespace) -> str:
    every = latency_summary_ms(result.deliveries)
    slowest = latency_summary_ms(result.slowest)
    reply = latency_summary_ms(result.call_reply)
    rows = [
        ["every board delivery", len(result.deliveries), *every.values()],
        ["last board of each call", len(result.slowest), *slowest.values()],
        ["adviser's call_next reply", len(result.call_reply), *reply.values()],
    ]
    verdict = "met" if every["p99"] < TARGET_P99_MS and not result.missing else "NOT met"
    per_call = result.server_cpu_seconds / max(1, result.calls) * 1000
    lags = [
        ("while the boards connected", result.lag_connect),
        ("within each call's fan-out", result.lag_fan_out),
        ("over the whole run of calls", result.lag_calls),
    ]
    return "\n".join(
        [
            f"Machine: {machine_summary()}",
            f"Boards: {result.boards} websocket connections in {result.procs} process(es), "
            f"compression {result.compression}; database {args.db}; {result.calls} calls, "
            f"{args.pause * 1000:g} ms pause between calls; boards connected in "
            f"{result.connect_seconds:.1f} s.",
            f"{result.cpu}. Server CPU per call (call_next, start_service, complete and "
            f"their pushes): {per_call:.1f} ms.",
            memory_line(result),
            "Server event loop, lateness of a 10 ms timer:",
            *(f"- {label}: {lag.summary() if lag else 'not measured'}." for label, lag in lags),
            "",
            markdown_table(
                ["latency from call_next", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows
            ),
            "",
            f"Stalled boards: {result.stalled} (never read after their snapshot), "
            f"{result.dropped} dropped by the server as too slow (unsent backlog), "
            f"{result.still_connected} connections still open after the calls (the "
            f"rest closed by the keepalive: no pong within {PING_INTERVAL + PING_TIMEOUT:g} s); "
            f"deliveries missing "
            f"(reading boards): {result.missing}. "
            f"Target p99 < {TARGET_P99_MS:g} ms: {verdict} ({every['p99']:.1f} ms).",
        ]
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2, help="processes the boards are spread over")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="what the boards negotiate (websockets' default, and so the real board's, is deflate)",
    )
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between calls")
    parser.add_argument(
        "--stalled",
        type=int,
        default=0,
        help="boards (of --boards) that stop reading after their snapshot",
    )
    parser.add_argument("--profile", metavar="FILE", help="sample the server with py-spy into FILE")
    parser.add_argument(
        "--lag-log",
        metavar="FILE",
        help="keep the server's loop-lag log (WALKIN_LOOP_LAG_LOG) in FILE (appended to)",
    )
    args = parser.parse_args(argv)
    result = run(args)
    print(report(result, args))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
