"""A restart test that kills the server process with SIGKILL while kiosks are issuing,
and checks that every acknowledged ticket is there after the restart and that
numbering continues (on a SQLite file and on PostgreSQL).

The server is a real ``walkin serve`` process; the kiosks are ``QueueClient``s in
this process. The server acknowledges a ticket only after its commit returns, so a
ticket a visitor was given must survive the power going off the moment after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from queue_server.client import ConnectionLost, NotConnected, QueueClient, new_idempotency_key
from queue_server.store import Store
from queue_server.store.tables import TicketRow

ROOT = Path(__file__).resolve().parents[2]
WALKIN = str(Path(sys.executable).with_name("walkin"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("WALKIN_")} | {
    "WALKIN_LOG": "WARNING"
}
LONDON = ZoneInfo("Europe/London")  # the demo centre's time zone
SERVICES = {"housing": "H", "council_tax": "C", "general": "G"}
KIOSKS = 4
#: acknowledged tickets to wait for before pulling the plug
BEFORE_KILL = 40


def not_just_before_midnight() -> None:
    """Wait out the last two minutes of the centre's day, so that a test's tickets
    and bookings all fall on one day (numbers start again at midnight)."""
    now = datetime.now(LONDON)
    if now.hour == 23 and now.minute >= 58:
        time.sleep(121 - (now.minute - 58) * 60 - now.second)


class Server:
    """One ``walkin serve`` process on a free port, in a session of its own."""

    def __init__(self, config: Path, db: str, log: Path) -> None:
        #: port 0: the OS picks a free one, and the server's log says which (``wait_ready``)
        self.port = 0
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [WALKIN, "serve", "--config", str(config), "--db", db, "--port", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=ENV | {"WALKIN_LOG": "INFO"},  # INFO: the line with the port
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/healthz"
        with urllib.request.urlopen(url, timeout=2) as reply:
            return dict(json.load(reply))

    def wait_ready(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"walkin serve exited with {self.process.returncode}:\n{self.logged}")
            if not self.port:
                found = re.search(r"on ws://\S+?:(\d+)/ws", self.logged)
                self.port = int(found[1]) if found else 0
            if self.port:
                with contextlib.suppress(OSError):
                    return self.health()
            time.sleep(0.05)
        pytest.fail(f"walkin serve not ready after {timeout} s:\n{self.logged}")

    @property
    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test starts; each is killed when the test ends, however it ends."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "walkin.db")  # a plain path, as an administrator types it
    return str(request.getfixturevalue("pg_url"))


def centre_config(folder: Path, centre_id: str) -> Path:
    """The demo centre under its own id (the PostgreSQL database is shared), open all day."""
    text = (ROOT / "examples" / "centre.toml").read_text()
    for old, new in (('\nid = "demo"\n', f'\nid = "{centre_id}"\n'),
                     ("\n[hours]\n", "\n[hours]\nalways_open = true\n")):  # fmt: skip
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = folder / "centre.toml"
    path.write_text(text)
    return path


def enroll_kiosk(db: str, centre_id: str) -> str:
    result = subprocess.run(
        [WALKIN, "enroll", "--db", db, "--role", "kiosk", "--name", "Lobby", "--centre", centre_id],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["token"])


def stored_tickets(db: str, centre_id: str) -> list[Any]:
    store = Store(db)
    try:
        table = TicketRow.__table__
        with store.engine.connect() as conn:
            return list(conn.execute(sa.select(table).where(table.c.centre == centre_id)))
    finally:
        store.close()


async def issue_until_killed(server: Server, token: str) -> tuple[list[tuple[str, str]], int]:
    """Kiosks issue as fast as they can; SIGKILL the server once BEFORE_KILL tickets
    are acknowledged. Returns every acknowledged (ticket id, number), and how many
    requests were awaiting their reply when the server died."""
    acknowledged: list[tuple[str, str]] = []
    awaiting = 0
    clients = [
        await QueueClient(
            server.url, token=token, reconnect=False, client_name=f"kiosk-{n}"
        ).connect(timeout=15)
        for n in range(KIOSKS)
    ]

    async def kiosk(n: int, client: QueueClient) -> None:
        nonlocal awaiting
        services = list(SERVICES)
        for i in range(10_000):
            awaiting += 1
            try:
                reply = await client.request(
                    "issue_ticket",
                    service=services[(n + i) % len(services)],
                    idempotency_key=new_idempotency_key(),
                    timeout=15,
                )
            except (ConnectionLost, NotConnected):
                return  # the server died under this request: unacknowledged
            finally:
                awaiting -= 1
            acknowledged.append((reply["ticket"]["id"], reply["ticket"]["number"]))

    kiosks = [asyncio.create_task(kiosk(n, c)) for n, c in enumerate(clients)]
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < BEFORE_KILL and time.monotonic() < deadline:
            for done in (k for k in kiosks if k.done()):
                done.result()  # a refusal from the server surfaces here
                pytest.fail("a kiosk lost its connection before the kill")
            await asyncio.sleep(0.002)
        in_flight = awaiting
        server.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*kiosks), timeout=20)
    finally:
        for task in kiosks:
            task.cancel()
        for client in clients:
            await client.close()
    assert await asyncio.to_thread(server.process.wait, 10) == -signal.SIGKILL
    return acknowledged, in_flight


async def issue_one(server: Server, token: str, service: str) -> str:
    async with QueueClient(server.url, token=token, reconnect=False) as kiosk:
        reply = await kiosk.request(
            "issue_ticket", service=service, idempotency_key=new_idempotency_key()
        )
    return str(reply["ticket"]["number"])


def seq_of(number: str) -> int:
    return int(number[1:])


async def test_acknowledged_tickets_survive_sigkill_and_numbering_continues(
    database: str, tmp_path: Path, servers: list[Server]
) -> None:
    not_just_before_midnight()
    centre_id = f"restart_{secrets.token_hex(3)}"
    config = centre_config(tmp_path, centre_id)
    token = await asyncio.to_thread(enroll_kiosk, database, centre_id)

    servers.append(Server(config, database, tmp_path / "first.log"))
    await asyncio.to_thread(servers[0].wait_ready)
    acknowledged, in_flight = await issue_until_killed(servers[0], token)
    assert len(acknowledged) >= BEFORE_KILL
    assert in_flight > 0, "the kill should land while kiosks wait for replies"

    rows = await asyncio.to_thread(stored_tickets, database, centre_id)
    stored = {r.id: r.number for r in rows}
    # every ticket a kiosk was given is there, with the number the kiosk printed
    missing = {i: n for i, n in acknowledged if stored.get(i) != n}
    assert not missing, f"acknowledged but not stored as printed: {missing}"
    # ...and no number was given twice (a few unacknowledged ones may be there too)
    numbers = [(r.day, r.number) for r in rows]
    assert len(numbers) == len(set(numbers))
    assert len({n for _, n in acknowledged}) == len(acknowledged)

    servers.append(Server(config, database, tmp_path / "second.log"))
    health = await asyncio.to_thread(servers[1].wait_ready)
    assert health["centre"] == centre_id
    assert health["waiting"] == len(rows)  # the restarted queue holds every ticket

    highest = {p: max(seq_of(r.number) for r in rows if r.number[0] == p) for p in "HCG"}
    printed = {p: max(seq_of(n) for _, n in acknowledged if n[0] == p) for p in "HCG"}
    for service, prefix in SERVICES.items():
        number = await issue_one(servers[1], token, service)
        assert number[0] == prefix
        assert seq_of(number) == highest[prefix] + 1 > printed[prefix], number
    assert servers[1].health()["waiting"] == len(rows) + len(SERVICES)

    # and a plain stop is clean
    servers[1].process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(servers[1].process.wait, 15) == 0
    assert "Traceback" not in servers[1].logged
