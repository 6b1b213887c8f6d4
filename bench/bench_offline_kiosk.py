"""Kiosks through an outage (issue 13 item 4): several kiosks issue under load, the
server is killed (SIGKILL) for ``--outage`` seconds while they go on issuing from
their leased blocks, then it is started again on the same port and database, and the
kiosks' journals are uploaded. Counts duplicate numbers, lost tickets and offline
tickets out of arrival order.

Each kiosk is the real kiosk's code without its screen: ``kiosk.link.ServerLink``,
``kiosk.offline.OfflineSync`` and ``kiosk.journal.OfflineJournal`` (a SQLite file,
synchronous=FULL), in this process; the server is a real ``walkin serve`` process.
A visitor every ``1/--rate`` seconds per kiosk, for a random service; online they get
an ``issue_ticket``, offline a ticket from the journal (as ``kiosk.controller``
does). Afterwards the database is read: every acknowledged online ticket and every
journaled offline ticket must be there once, with the offline ones at their journal's
arrival time, and the queue (as the server rebuilds it) must be in arrival order.

    .venv/bin/python bench/bench_offline_kiosk.py                   # 60 s, 6 kiosks, SQLite
    .venv/bin/python bench/bench_offline_kiosk.py --outage 10 --kiosks 3 --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import (
    always_open_config,
    database,
    enroll,
    free_port,
    machine_summary,
    markdown_table,
    start_server,
)

from kiosk.journal import OfflineJournal
from kiosk.link import ServerLink
from kiosk.offline import OfflineSync
from queue_server.client import ClientError, new_idempotency_key
from queue_server.config import load_config
from queue_server.store import Store


class Kiosk:
    def __init__(self, name: str, url: str, token: str, journal: Path, args: Any) -> None:
        self.name = name
        self.link = ServerLink(url, token, max_backoff=1.0)
        self.sync = OfflineSync(
            self.link,
            OfflineJournal(journal),
            block_size=args.block_size,
            low_water=args.low_water,
            every=0.5,
        )
        self.online: list[tuple[str, str]] = []  # (key, number) acknowledged online
        self.offline = 0
        self.turned_away = 0  # offline with no number left for the service
        self.failed = 0  # online request lost with the server: the visitor tries again

    def start(self) -> None:
        self.link.start()
        self.sync.start()

    async def visitor(self, service: str) -> None:
        if self.link.online:
            key = new_idempotency_key()
            try:
                reply = await self.link.request(
                    "issue_ticket", service=service, idempotency_key=key, timeout=5.0
                )
                self.online.append((key, reply["ticket"]["number"]))
                return
            except ClientError:
                self.failed += 1  # the kiosk shows "ask at reception"; they try again
        ticket = self.sync.issue(service, "en", new_idempotency_key())
        if ticket is None:
            self.turned_away += 1
        else:
            self.offline += 1

    async def close(self) -> None:
        await self.sync.close()
        await self.link.close()
        self.sync.journal.close()


async def visitors(kiosks: list[Kiosk], services: list[str], rate: float, until: float) -> None:
    rng = random.Random(13)

    async def one(kiosk: Kiosk) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(rng.random() / rate)  # kiosks out of step
        while loop.time() < until:
            await kiosk.visitor(rng.choice(services))
            await asyncio.sleep(rng.expovariate(rate))

    await asyncio.gather(*(one(k) for k in kiosks))


async def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, database(kind, folder) as db_url:
        config = always_open_config(folder)
        setup = load_config(config).to_setup()
        services = [s.code for s in setup.services]
        port = free_port()
        server = start_server(config, db_url, folder, port)
        url = f"ws://127.0.0.1:{port}/ws"
        tokens = enroll(db_url, "kiosk", [f"kiosk-{n + 1}" for n in range(args.kiosks)])
        kiosks = [
            Kiosk(f"kiosk-{n + 1}", url, token, Path(folder) / f"journal-{n + 1}.db", args)
            for n, token in enumerate(tokens)
        ]
        for kiosk in kiosks:
            kiosk.start()
        loop = asyncio.get_running_loop()
        try:
            deadline = loop.time() + 60
            while not all(k.sync.can_issue(s) for k in kiosks for s in services):
                assert loop.time() < deadline, "the kiosks did not lease their blocks"
                await asyncio.sleep(0.1)
            # online, then the outage, then back: visitors all along
            load = asyncio.ensure_future(
                visitors(
                    kiosks,
                    services,
                    args.rate,
                    loop.time() + args.before + args.outage + args.after,
                )
            )
            await asyncio.sleep(args.before)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            killed_at = time.monotonic()
            await asyncio.sleep(args.outage)
            started = time.monotonic()
            server = start_server(config, db_url, folder, port)
            ready = time.monotonic()
            deadline = loop.time() + 120
            while any(k.sync.journal.pending() for k in kiosks):
                assert loop.time() < deadline, "the journals were not uploaded"
                await asyncio.sleep(0.05)
            uploaded = time.monotonic()
            await load
            # the kiosks' last tickets: every journal answered
            deadline = loop.time() + 60
            while any(k.sync.journal.pending() for k in kiosks):
                assert loop.time() < deadline, "the last journals were not uploaded"
                await asyncio.sleep(0.05)
            journals = {k.name: k.sync.journal.tickets() for k in kiosks}
        finally:
            for kiosk in kiosks:
                await kiosk.close()
            server.stop()
        return check(kind, db_url, setup, kiosks, journals, args) | {
            "outage_s": round(started - killed_at, 1),
            "restart_to_ready_s": round(ready - started, 2),
            "ready_to_uploaded_s": round(uploaded - ready, 2),
        }


def check(kind, db_url, setup, kiosks, journals, args) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    store = Store(db_url)
    try:
        from datetime import UTC, datetime

        centre = store.load_centre(setup, datetime.now(UTC))
    finally:
        store.close()
    tickets = list(centre.tickets.values())
    by_key = {t.idempotency_key: t for t in tickets}
    numbers = Counter((t.day, t.number) for t in tickets)
    duplicates = sum(n - 1 for n in numbers.values() if n > 1)
    offline = [t for journal in journals.values() for t in journal]
    online = [(key, number) for k in kiosks for key, number in k.online]
    lost_online = sum(
        1 for key, number in online if by_key.get(key) is None or by_key[key].number != number
    )
    lost_offline = sum(
        1 for t in offline if by_key.get(t.key) is None or by_key[t.key].number != t.number
    )
    refused = sum(1 for t in offline if t.state == "refused")
    moved = sum(1 for t in offline if t.key in by_key and by_key[t.key].arrival_at != t.arrival_at)
    out_of_order = called_out_of_order(centre)
    return {
        "db": kind,
        "kiosks": args.kiosks,
        "rate_per_kiosk": args.rate,
        "tickets": len(tickets),
        "online": len(online),
        "offline": len(offline),
        "turned_away": sum(k.turned_away for k in kiosks),
        "online_failed": sum(k.failed for k in kiosks),
        "duplicates": duplicates,
        "lost": lost_online + lost_offline,
        "refused": refused,
        "arrival_moved": moved,
        "called_out_of_arrival_order": out_of_order,
        "runs": len(centre.offline_runs),
    }


def called_out_of_order(centre: Any) -> int:
    """Serve the rebuilt queue one service at a time at a counter that takes only that
    service ("call next", start, complete, through the core): how many tickets were
    called before one that arrived earlier."""
    from datetime import UTC, datetime, timedelta

    from queue_server.core import commands as cmd
    from queue_server.core.model import Outcome

    now = datetime.now(UTC) + timedelta(seconds=1)
    counter = next(iter(centre.counters))
    wrong = 0

    def run(command: Any) -> Any:
        decision = centre.decide(command, now)
        centre.apply(decision.events)
        return decision

    run(cmd.SignIn(actor="bench", counter=counter, staff="bench"))
    for service in list(centre.services):
        run(cmd.SetCounterSkills(actor="bench", counter=counter, primary=frozenset({service})))
        if centre.counters[counter].state.value == "closed":
            run(cmd.OpenCounter(actor="bench", counter=counter))
        last = None
        while any(t.service == service for t in centre.queued()):
            ticket = run(cmd.CallNext(actor="bench", counter=counter)).ticket
            if last is not None and ticket.arrival_at < last:
                wrong += 1
            last = ticket.arrival_at
            run(cmd.StartService(actor="bench", counter=counter))
            run(cmd.Complete(actor="bench", counter=counter, outcome=Outcome.RESOLVED))
    return wrong


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    keys = list(results[0])
    lines = [
        f"bench_offline_kiosk: {args.kiosks} kiosks, {args.rate}/s each, "
        f"{args.outage:g} s outage (SIGKILL), blocks of {args.block_size}",
        machine_summary(),
        "",
        markdown_table(keys, [[r[k] for k in keys] for r in results]),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--kiosks", type=int, default=6)
    parser.add_argument("--rate", type=float, default=0.5, help="visitors per second per kiosk")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the server is down")
    parser.add_argument("--before", type=float, default=10.0, help="seconds online before")
    parser.add_argument("--after", type=float, default=10.0, help="seconds online after")
    parser.add_argument("--block-size", type=int, default=20)
    parser.add_argument("--low-water", type=int, default=10)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [asyncio.run(run(kind, args)) for kind in kinds]
    print(report(results, args))
    bad = [r for r in results if r["duplicates"] or r["lost"] or r["called_out_of_arrival_order"]]
    return 1 if bad else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
