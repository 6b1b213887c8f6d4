"""Issue 13: the network between a server and PostgreSQL cut. A TCP proxy of the
test's own (asyncio, loopback) stands between a real ``walkin serve`` and the test
PostgreSQL server; twenty kiosks issue through the server; the proxy drops every
connection (both ends reset) and refuses new ones for a few seconds, then lets them
through again.

What is right (docs/operations.md, "PostgreSQL primary and standby"): with no other
server for the centre, the server **carries on**: while the database cannot be
reached each kiosk is told "unavailable" (nothing saved for sure) and sends the same
idempotency key again; a commit whose reply was lost in the cut is found in the
database, not given out twice; the claim connection (its advisory lock went with the
cut: PostgreSQL ends the session) reconnects and takes the lock again, and the
fencing epoch, untouched, still holds. Were another server to take the centre during
the cut, this one would step down instead: its lock is then held (``CentreInUse``) or
its next write refused by the epoch (``NotActive``), and it stops
(test_store_fencing.py, test_store_standby.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_for
from .pg_pair import free_port
from .tcp_proxy import LoopbackProxy, proxy_to
from .test_pg_failover import KIOSKS, Load, check_tickets, enrol_kiosks, kiosk, lock_holder


@pytest.fixture
def proxy(pg_url: str) -> Iterator[LoopbackProxy]:
    made = proxy_to(pg_url)
    try:
        yield made
    finally:
        made.close()


def test_the_server_carries_on_after_the_network_to_postgresql_is_cut(
    pg_url: str, proxy: LoopbackProxy, centre_file: Callable[[str], Path], serve: Any
) -> None:
    centre = f"pgcut{int(time.time() * 1000) % 10**9}"  # its own in the session's database
    config = centre_file(centre)
    through = proxy.url(pg_url)
    # a 3 s cut well inside the takeover timeout: at the default 5 s, reconnecting
    # after the cut on a loaded machine once took the rest, and the server, its lease
    # lapsed, rightly stepped down (test_pg_blackhole holds that case)
    server = serve(config, through, "--takeover-after", "15")
    assert server.wait_ready()["role"] == "active"
    tokens = enrol_kiosks(pg_url, KIOSKS, centre)

    async def run() -> tuple[Load, float]:
        load = Load()
        kiosks = [
            asyncio.create_task(kiosk(server.url, token, n, load)) for n, token in enumerate(tokens)
        ]
        try:
            while len(load.acknowledged) < 100 and not load.errors:
                await asyncio.sleep(0.02)
            await asyncio.to_thread(proxy.cut)
            await asyncio.sleep(3)
            await asyncio.to_thread(proxy.restore)
            restored = time.monotonic()
            while len(load.after(restored)) < 100 and not load.errors:
                await asyncio.sleep(0.02)
                assert all(not task.done() for task in kiosks), "a kiosk stopped"
        finally:
            load.stop.set()
            await asyncio.gather(*kiosks, return_exceptions=True)
        return load, restored

    load, restored = asyncio.run(asyncio.wait_for(run(), 120))
    assert not load.errors, load.errors[:5]
    check_tickets(load, pg_url, centre)
    assert server.process.poll() is None, server.logged
    assert server.wait_ready()["role"] == "active"
    # the claim's connection went with the cut; the server took the lock again
    holders = wait_for(lambda: lock_holder(pg_url, centre), "the lock retaken", 30, 0.1)
    assert f"pid {server.process.pid}" in holders[0].application_name
    assert "claimed again on a new connection" in server.logged
    print(
        f"\n{len(load.acknowledged)} tickets acknowledged, {len(load.after(restored))} "
        f"after the network came back; requests sent again: {dict(load.retries) or 'none'}"
    )


def test_a_server_cut_off_while_its_standby_takes_over_steps_down(
    pg_url: str, proxy: LoopbackProxy, centre_file: Callable[[str], Path], serve: Any
) -> None:
    """The other way a cut can end: a standby server (connected to PostgreSQL directly)
    takes the centre while the active one is cut off. When the network comes back the
    cut-off server must not issue again: it finds the lock held or its write refused by
    the epoch, and stops (status 1). The kiosks, given both addresses, move to the new
    active server; no acknowledged ticket is lost or given twice."""
    centre = f"pgcutb{int(time.time() * 1000) % 10**9}"
    config = centre_file(centre)
    through = proxy.url(pg_url)
    # ports of their own: a standby's address must stay its address once active
    first = serve(config, through, "--port", str(free_port()))
    assert first.wait_ready()["role"] == "active"
    second = serve(config, pg_url, "--port", str(free_port()))
    wait_for(lambda: "standby for centre" in second.logged, "the second is standby", 60, 0.05)
    wait_for(second.listening, "the standby listens", 30, 0.05)
    tokens = enrol_kiosks(pg_url, KIOSKS, centre)
    both = f"{first.url},{second.url}"

    async def run() -> tuple[Load, float]:
        load = Load()
        kiosks = [
            asyncio.create_task(kiosk(both, token, n, load)) for n, token in enumerate(tokens)
        ]
        try:
            while len(load.acknowledged) < 100 and not load.errors:
                await asyncio.sleep(0.02)
            await asyncio.to_thread(proxy.cut)
            # the standby takes over as soon as PostgreSQL ends the cut session
            await asyncio.to_thread(
                wait_for, lambda: "active server for" in second.logged, "takeover", 60, 0.05
            )
            await asyncio.sleep(1)
            await asyncio.to_thread(proxy.restore)
            restored = time.monotonic()
            while len(load.after(restored)) < 100 and not load.errors:
                await asyncio.sleep(0.02)
                assert all(not task.done() for task in kiosks), "a kiosk stopped"
                assert time.monotonic() - restored < 90, f"kiosks stuck: {load.retries}"
        finally:
            load.stop.set()
            await asyncio.gather(*kiosks, return_exceptions=True)
        return load, restored

    load, restored = asyncio.run(asyncio.wait_for(run(), 150))
    assert not load.errors, load.errors[:5]
    check_tickets(load, pg_url, centre)
    # the cut-off server stopped by itself, saying why; the other one serves
    assert first.process.wait(60) == 1, first.logged
    assert "This server stopped" in first.logged, first.logged
    assert second.wait_ready()["role"] == "active"
    holders = lock_holder(pg_url, centre)
    assert f"pid {second.process.pid}" in holders[0].application_name
