"""An active server and its standby (issue 13, item 2): kill -9 of the active, then the
first ticket through the standby; and a server's own restart to ready with a day of
tickets in the table.

Run (from the repository root)::

    .venv/bin/python bench/bench_failover.py --db both --kills 10 --tickets 2000
    .venv/bin/python bench/bench_failover.py --db both --kills 10 --load --how kill
    .venv/bin/python bench/bench_failover.py --db both --kills 10 --load --how hang
    .venv/bin/python bench/bench_failover.py --db postgresql --kills 10 --load --how blackhole

``--load`` (issue 13's fault test): while the active server is killed (``--how kill``:
SIGKILL) or hung (``--how hang``: SIGSTOP until the standby has taken over, then
SIGCONT, and it must stop by itself), 20 kiosks issue a ticket a second each and two
advisers call, start and complete tickets, all through clients given both servers'
addresses; the time from the kill (or stop) to the next ticket acknowledged to any
kiosk is the takeover. ``--how blackhole`` (PostgreSQL): each server reaches the
database through a loopback proxy of its own (tests/queue_server/store/tcp_proxy.py),
and the active server's proxy stops forwarding without closing anything (a pulled
cable); the cut-off server must step down by itself (the time from the cut to its log
saying so is reported) and stand by; its proxy is restored once the other serves, and
it stays the standby for the next round. Afterwards the database is checked: every
ticket acknowledged to a kiosk is there (lost), no number given twice (duplicates), no
ticket called twice (double calls: its ``ticket_called`` rows in the audit), and a hung
server never wrote after the takeover.

For each database (a SQLite file in a temporary folder; a fresh PostgreSQL database,
dropped afterwards): a server on port A issues ``--tickets`` tickets from ten kiosks (a
busy day); a second ``walkin serve`` for the same centre on port B becomes its standby.
Then, ``--kills`` times: the active server is killed with SIGKILL, and a kiosk tries to
issue through the standby every 20 ms until one succeeds; the time from the kill to that
ticket's reply is the takeover. The killed server is started again at once (it becomes
the new standby), so the roles swap each round. Every ticket's number is checked: none
given twice. Last, with every server stopped, ``--restarts`` times a server is started
alone and timed from its start to ``/healthz`` answering 200 (the day's tickets in the
table).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the tests' loopback proxy, for --how blackhole
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "queue_server" / "store"))

from common import (  # noqa: E402
    STAFF_PASSWORD,
    ServerProcess,
    add_staff,
    always_open_config,
    database,
    enroll,
    free_port,
    machine_summary,
    markdown_table,
    percentile,
    start_server,
)
from tcp_proxy import proxy_to  # noqa: E402

from queue_server.client import (  # noqa: E402
    ClientError,
    QueueClient,
    RemoteError,
    new_idempotency_key,
)

#: the takeover goal (issue 13): kill -9 to the first ticket through the standby
TAKEOVER_GOAL_S = 10.0
#: a server's restart to ready with a day of 2,000 tickets
RESTART_GOAL_S = 2.0


def stepped_down_at(server: ServerProcess, since: float) -> float | None:
    """When the server's log says it stepped down, the first time after ``since``
    (this machine's clock, as ``time.time()``); None if it has not."""
    for line in server.log_path.read_text(errors="replace").splitlines():
        if " ERROR " in line and "This server stepped down" in line:
            at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()
            if at >= since - 0.01:  # the log's stamps are to the millisecond
                return at
    return None


def stood_by(server: ServerProcess, since: float) -> bool:
    """Whether the server stepped down after ``since`` and now answers as a standby."""
    found = server.health()
    return stepped_down_at(server, since) is not None and bool(
        found and found[1].get("role") == "standby"
    )


async def issue_many(port: int, tokens: Sequence[str], count: int) -> list[str]:
    kiosks = [
        await QueueClient(f"ws://127.0.0.1:{port}/ws", token=t, reconnect=False).connect()
        for t in tokens
    ]
    numbers: list[str] = []
    left = iter(range(count))

    async def one(kiosk: QueueClient) -> None:
        for _ in left:
            reply = await kiosk.request(
                "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
            )
            numbers.append(reply["ticket"]["number"])

    try:
        await asyncio.gather(*(one(k) for k in kiosks))
    finally:
        await asyncio.gather(*(k.close() for k in kiosks))
    return numbers


async def first_ticket_through(port: int, token: str, timeout: float = 60) -> str:
    """Try to issue through ``port`` every 20 ms until one succeeds: its number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ClientError, OSError):
            kiosk = await QueueClient(
                f"ws://127.0.0.1:{port}/ws", token=token, reconnect=False
            ).connect(timeout=1)
            try:
                reply = await kiosk.request(
                    "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
                )
                return str(reply["ticket"]["number"])
            finally:
                await kiosk.close()
        await asyncio.sleep(0.02)
    raise RuntimeError(f"no ticket through port {port} within {timeout} s")


def bench(kind: str, args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="walkin-failover-") as tmp:
        folder = Path(tmp)
        config = always_open_config(folder)
        with database(kind, folder) as db_url:
            ports = [free_port(), free_port()]
            servers = [start_server(config, db_url, folder, ports[0], wait=False)]
            servers[0].wait_role("active")
            tokens = enroll(db_url, "kiosk", [f"kiosk-{i}" for i in range(10)])
            numbers = asyncio.run(issue_many(ports[0], tokens, args.tickets))
            servers.append(start_server(config, db_url, folder, ports[1], wait=False))
            servers[1].wait_role("standby")
            takeovers = []
            for round_ in range(args.kills):
                active, standby = servers[round_ % 2], servers[(round_ + 1) % 2]
                active.kill()
                killed = time.monotonic()
                numbers.append(asyncio.run(first_ticket_through(standby.port, tokens[0])))
                takeovers.append(time.monotonic() - killed)
                servers[round_ % 2] = start_server(config, db_url, folder, active.port, wait=False)
                servers[round_ % 2].wait_role("standby")
            for server in servers:
                server.kill()
            restarts = []
            for _ in range(args.restarts):
                alone = start_server(config, db_url, folder, ports[0], wait=False)
                restarts.append(alone.wait_role("active"))
                alone.kill()
            duplicates = len(numbers) - len(set(numbers))
    return {
        "kind": kind,
        "takeovers": takeovers,
        "restarts": restarts,
        "tickets": len(numbers),
        "duplicates": duplicates,
    }


class Load:
    """20 kiosks and two advisers working through clients that know both servers."""

    def __init__(self, ports: Sequence[int], tokens: Sequence[str]) -> None:
        self.urls = ",".join(f"ws://127.0.0.1:{p}/ws" for p in ports)
        self.tokens = tokens
        #: (monotonic time of the reply, ticket id, number) of every acknowledged ticket
        self.acknowledged: list[tuple[float, str, str]] = []
        self.calls = 0
        self.errors: dict[str, int] = {}
        self.running = True

    def note(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    async def kiosk(self, token: str) -> None:
        # as the kiosk app's link does (kiosk/link.py: backoff up to 3 s)
        client = await QueueClient(self.urls, token=token, keepalive=1.0, max_backoff=3.0).connect(
            timeout=30
        )
        try:
            while self.running:
                started = time.monotonic()
                try:
                    reply = await client.request(
                        "issue_ticket",
                        service="housing",
                        idempotency_key=new_idempotency_key(),
                        retry=True,
                        timeout=60,
                    )
                    ticket = reply["ticket"]
                    self.acknowledged.append((time.monotonic(), ticket["id"], ticket["number"]))
                except ClientError as exc:
                    self.note(f"kiosk {type(exc).__name__} {getattr(exc, 'code', '')}".strip())
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        finally:
            await client.close()

    async def adviser(self, username: str, counter: str) -> None:
        client = await QueueClient(
            self.urls, username=username, password=STAFF_PASSWORD, keepalive=1.0, max_backoff=3.0
        ).connect(timeout=30)
        steps = ("sign_in_counter", "open_counter")
        try:
            while self.running:
                try:
                    for step in steps:
                        with contextlib.suppress(RemoteError):
                            await client.request(step, counter=counter)
                    steps = ()
                    reply = await client.request("call_next", counter=counter)
                    if reply.get("ticket") is None:
                        await asyncio.sleep(0.2)
                        continue
                    self.calls += 1
                    await client.request("start_service", counter=counter)
                    await client.request("complete", counter=counter, outcome="resolved")
                except RemoteError as exc:
                    if exc.code == "nothing_to_call":  # the queue is empty for now
                        await asyncio.sleep(0.2)
                        continue
                    self.note(f"adviser {exc.code}")
                    if exc.code == "forbidden":  # signed out of the counter: again
                        steps = ("sign_in_counter", "open_counter")
                    else:  # a call whose reply was lost: finish what the counter has
                        for step, extra in (
                            ("start_service", {}),
                            ("complete", {"outcome": "resolved"}),
                        ):
                            with contextlib.suppress(ClientError):
                                await client.request(step, counter=counter, **extra)
                    await asyncio.sleep(0.1)
                except ClientError as exc:
                    self.note(f"adviser {type(exc).__name__}")
                    await asyncio.sleep(0.1)
        finally:
            await client.close()

    def first_after(self, moment: float) -> float | None:
        later = [at for at, _, _ in self.acknowledged if at > moment]
        return min(later) - moment if later else None


def check_database(db_url: str, acknowledged: Sequence[tuple[float, str, str]]) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, number FROM ticket")).all()
            called = conn.execute(
                sa.text(
                    "SELECT ticket_id, COUNT(*) AS n FROM audit WHERE kind = 'ticket_called'"
                    " GROUP BY ticket_id HAVING COUNT(*) > 1"
                )
            ).all()
    finally:
        engine.dispose()
    stored = {r.id for r in rows}
    numbers = [r.number for r in rows]
    return {
        "stored": len(rows),
        "lost": sum(1 for _, ticket_id, _ in acknowledged if ticket_id not in stored),
        "duplicates": len(numbers) - len(set(numbers)),
        "double_calls": len(called),
    }


def bench_load(kind: str, args: argparse.Namespace) -> dict[str, object]:
    """Kills (or hangs) of the active server under 20 kiosks and two advisers."""
    import os
    import signal

    extra = ("--takeover-after", str(args.takeover_after))
    with (
        tempfile.TemporaryDirectory(prefix="walkin-failover-") as tmp,
        contextlib.ExitStack() as cleanup,
    ):
        folder = Path(tmp)
        config = always_open_config(folder)
        with database(kind, folder) as db_url:
            ports = [free_port(), free_port()]
            # each server's own way to the database: through a proxy to blackhole
            proxies = [proxy_to(db_url), proxy_to(db_url)] if args.how == "blackhole" else []
            for proxy in proxies:
                cleanup.callback(proxy.close)
            urls = [p.url(db_url) for p in proxies] or [db_url, db_url]
            servers = [start_server(config, urls[0], folder, ports[0], extra=extra, wait=False)]
            servers[0].wait_role("active")
            tokens = enroll(db_url, "kiosk", [f"kiosk-{i}" for i in range(20)])
            add_staff(db_url, ["adviser1", "adviser2"])
            servers.append(start_server(config, urls[1], folder, ports[1], extra=extra, wait=False))
            servers[1].wait_role("standby")
            load = Load(ports, tokens)
            takeovers: list[float] = []
            stepped_down: list[int | None] = []
            serving: list[float] = []  # to the standby's /healthz saying active
            step_downs: list[float] = []  # blackhole: the cut to the old server's log line

            async def run() -> None:
                workers = [asyncio.create_task(load.kiosk(t)) for t in tokens]
                workers += [
                    asyncio.create_task(load.adviser(f"adviser{n}", f"Counter {n}")) for n in (1, 2)
                ]
                await asyncio.sleep(5)  # the load settles
                for round_ in range(args.kills):
                    active, standby = servers[round_ % 2], servers[(round_ + 1) % 2]
                    moment, wall = time.monotonic(), time.time()
                    if args.how == "kill":
                        await asyncio.to_thread(active.kill)
                    elif args.how == "blackhole":
                        proxies[round_ % 2].blackhole()
                    else:
                        os.kill(active.process.pid, signal.SIGSTOP)
                    await asyncio.to_thread(standby.wait_role, "active", 120)
                    serving.append(time.monotonic() - moment)
                    while load.first_after(moment) is None:
                        await asyncio.sleep(0.01)
                    takeovers.append(load.first_after(moment) or 0.0)
                    if args.how == "blackhole":  # it stepped down and stands by
                        await asyncio.to_thread(active.wait_role, "standby", 60)
                        step_downs.append((stepped_down_at(active, wall) or wall) - wall)
                        proxies[round_ % 2].restore()
                        await asyncio.sleep(3)
                        continue
                    if args.how == "hang":
                        # woken, it stops by itself (refused by the epoch: exit status 1),
                        # or, paused past the takeover timeout, steps down and stands by
                        os.kill(active.process.pid, signal.SIGCONT)
                        deadline = time.monotonic() + 60
                        while active.process.poll() is None and not stood_by(active, wall):
                            if time.monotonic() > deadline:
                                raise RuntimeError(f"woken, it did neither:\n{active.log_tail()}")
                            await asyncio.sleep(0.05)
                        stepped_down.append(active.process.poll())
                        if active.process.poll() is None:  # the standby already
                            await asyncio.sleep(3)
                            continue
                    servers[round_ % 2] = start_server(
                        config, db_url, folder, active.port, extra=extra, wait=False
                    )
                    await asyncio.to_thread(servers[round_ % 2].wait_role, "standby")
                    await asyncio.sleep(3)
                load.running = False
                await asyncio.gather(*workers, return_exceptions=True)

            asyncio.run(run())
            for server in servers:
                server.kill()
            checked = check_database(db_url, load.acknowledged)
    return {
        "kind": kind,
        "how": args.how,
        "takeovers": takeovers,
        "serving": serving,
        "acknowledged": len(load.acknowledged),
        "calls": load.calls,
        "stepped_down": stepped_down,
        "step_downs": step_downs,
        "errors": load.errors,
        **checked,
    }


def report_load(results: Sequence[dict[str, object]], args: argparse.Namespace) -> str:
    rows = []
    for r in results:
        takeovers = sorted(r["takeovers"])  # type: ignore[arg-type]
        rows.append(
            [
                "SQLite" if r["kind"] == "sqlite" else "PostgreSQL",
                f"{r['how']} x {len(takeovers)}",
                f"{statistics.median(takeovers):.2f}",
                f"{percentile(takeovers, 99):.2f}",
                f"{max(takeovers):.2f}",
                f"{r['acknowledged']:,}",
                r["lost"],
                r["duplicates"],
                f"{r['calls']:,}",
                r["double_calls"],
            ]
        )
    worst = max(max(r["takeovers"]) for r in results)  # type: ignore[type-var]
    lines = [
        f"Machine: {machine_summary()}",
        "20 kiosks (a ticket a second each) and two advisers (call, start, complete) "
        "through clients given both addresses; --takeover-after "
        f"{args.takeover_after:g} s. Takeover: from the kill (SIGSTOP, blackhole) to the next "
        "ticket acknowledged to any kiosk.",
        "",
        markdown_table(
            [
                "database",
                "failures",
                "takeover p50 s",
                "p99 s",
                "max s",
                "tickets acknowledged",
                "lost",
                "numbers given twice",
                "calls",
                "tickets called twice",
            ],
            rows,
        ),
        "",
        f"takeover ≤ {TAKEOVER_GOAL_S:g} s (p99): "
        f"{'met' if worst <= TAKEOVER_GOAL_S else 'NOT met'} (worst {worst:.2f} s)",
    ]
    for r in results:
        lines.append(
            f"{r['kind']}: the standby said active after "
            + ", ".join(f"{t:.2f}" for t in r["serving"])  # type: ignore[attr-defined]
            + " s"
        )
        if r["stepped_down"]:
            outcomes = ["stood by" if x is None else f"exit {x}" for x in r["stepped_down"]]  # type: ignore[attr-defined]
            lines.append(f"{r['kind']}: each woken server: {', '.join(outcomes)}")
        if r["step_downs"]:
            lines.append(
                f"{r['kind']}: the cut-off server stepped down after "
                + ", ".join(f"{t:.2f}" for t in r["step_downs"])  # type: ignore[attr-defined]
                + " s"
            )
        lines.append(f"{r['kind']}: client errors seen (then retried): {r['errors']}")
    return "\n".join(lines)


def report(results: Sequence[dict[str, object]], args: argparse.Namespace) -> str:
    rows = []
    for r in results:
        takeovers = sorted(r["takeovers"])  # type: ignore[arg-type]
        restarts = sorted(r["restarts"])  # type: ignore[arg-type]
        rows.append(
            [
                "SQLite" if r["kind"] == "sqlite" else "PostgreSQL",
                len(takeovers),
                f"{statistics.median(takeovers):.2f}",
                f"{percentile(takeovers, 99):.2f}",
                f"{max(takeovers):.2f}",
                f"{statistics.median(restarts):.2f}",
                f"{max(restarts):.2f}",
                f"{r['tickets']:,}",
                r["duplicates"],
            ]
        )
    worst_takeover = max(max(r["takeovers"]) for r in results)  # type: ignore[type-var]
    worst_restart = max(max(r["restarts"]) for r in results)  # type: ignore[type-var]
    return "\n".join(
        [
            f"Machine: {machine_summary()}",
            f"{args.tickets} tickets issued before the first kill; each kill: SIGKILL of the "
            "active server, then a ticket through the standby (tried every 20 ms).",
            "",
            markdown_table(
                [
                    "database",
                    "kills",
                    "takeover p50 s",
                    "p99 s",
                    "max s",
                    "restart to ready p50 s",
                    "max s",
                    "tickets",
                    "numbers given twice",
                ],
                rows,
            ),
            "",
            f"takeover ≤ {TAKEOVER_GOAL_S:g} s (p99): "
            f"{'met' if worst_takeover <= TAKEOVER_GOAL_S else 'NOT met'} "
            f"(worst {worst_takeover:.2f} s); restart to ready ≤ {RESTART_GOAL_S:g} s: "
            f"{'met' if worst_restart <= RESTART_GOAL_S else 'NOT met'} "
            f"(worst {worst_restart:.2f} s)",
        ]
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument(
        "--load", action="store_true", help="fail the active server under 20 kiosks"
    )
    parser.add_argument("--how", choices=("kill", "hang", "blackhole"), default="kill")
    parser.add_argument("--takeover-after", type=float, default=5.0)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    if args.how == "blackhole" and (not args.load or args.db != "postgresql"):
        parser.error("--how blackhole cuts a server from PostgreSQL: give --load --db postgresql")
    if args.load:
        print(report_load([bench_load(kind, args) for kind in kinds], args))
        return 0
    results = [bench(kind, args) for kind in kinds]
    print(report(results, args))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
