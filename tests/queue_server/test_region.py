"""The regional view: two centres, each with its own server, on one database (SQLite
file and PostgreSQL). A manager at either sees both live — waiting, the longest wait
against its target, appointments at risk, counters, devices — and the history of both,
their counters of the same name kept apart."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from queue_server.client import QueueClient, RemoteError, new_idempotency_key
from queue_server.core import commands as cmd
from queue_server.core.model import CentreSetup
from queue_server.store import Store
from tests.conftest import STAFF_PASSWORD, Clock, LiveServer, start_live_server


@pytest.fixture
async def two_centres(
    empty_url: str, setup: CentreSetup
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Riverside (the demo) and Abingdon, each its own server and store, one database,
    one clock."""
    clock = Clock()
    abingdon = dataclasses.replace(setup, centre_id="abingdon", name="Abingdon One Stop Shop")
    stores = [Store(empty_url), Store(empty_url)]
    stores[0].migrate()
    servers = []
    try:
        for store, centre in zip(stores, (setup, abingdon), strict=True):
            servers.append(await start_live_server(store, centre, clock))
        yield servers[0], servers[1]
    finally:
        for server in servers:
            await server.server.close()
        for store in stores:
            store.close()


async def client(live: LiveServer, **hello: Any) -> QueueClient:
    return await QueueClient(live.url, min_backoff=0.05, **hello).connect()


async def issue(kiosk: QueueClient, service: str) -> dict[str, Any]:
    reply = await kiosk.request(
        "issue_ticket", service=service, idempotency_key=new_idempotency_key()
    )
    return dict(reply["ticket"])


def centre_of(region: dict[str, Any], centre_id: str) -> dict[str, Any]:
    return next(c for c in region["centres"] if c["id"] == centre_id)


async def test_a_manager_at_either_centre_sees_both_live(
    two_centres: tuple[LiveServer, LiveServer],
) -> None:
    riverside, abingdon = two_centres
    clock = riverside.clock
    assert clock is not None
    kiosks = [await client(s, token=s.kiosk_token) for s in (riverside, abingdon)]
    for _ in range(3):
        await issue(kiosks[0], "housing")
    await issue(kiosks[1], "council_tax")
    # a booking at Abingdon, checked in, its ten minutes nearly over
    due = clock.now + timedelta(minutes=2)
    await abingdon.server.execute(
        cmd.BookAppointment(actor="system:bookings", ref="AB-1", service="planning", at=due)
    )
    await kiosks[1].request("check_in", ref="AB-1", idempotency_key=new_idempotency_key())
    await kiosks[1].request("device_status", component="printer", status="paper_out")
    alice = await client(riverside, username="alice", password=STAFF_PASSWORD)
    await alice.request("sign_in_counter", counter="Counter 1")
    await alice.request("open_counter", counter="Counter 1")
    clock.advance(minutes=10)

    for asking in (riverside, abingdon):
        mina = await client(asking, username="mina", password=STAFF_PASSWORD)
        region = (await mina.request("region"))["region"]
        assert region["centre"] == asking.setup.centre_id
        assert [c["id"] for c in region["centres"]] == sorted(["demo", "abingdon"])
        mine, theirs = centre_of(region, "demo"), centre_of(region, "abingdon")
        assert mine["name"] == riverside.setup.name and theirs["name"] == "Abingdon One Stop Shop"
        assert (mine["issued_today"], theirs["issued_today"]) == (3, 2)
        assert mine["waiting_by_service"] == {"housing": 3}
        assert theirs["waiting_by_service"] == {"council_tax": 1, "planning": 1}
        assert mine["longest_wait_minutes"] == 10.0
        assert mine["longest_wait_service"] == "housing"
        target = next(s.target_wait for s in riverside.setup.services if s.code == "housing")
        assert mine["longest_wait_target_minutes"] == target / timedelta(minutes=1)
        # checked in at 10:00 for 10:02: its ten minutes end at 10:12, two minutes away
        assert (theirs["appointments_waiting"], theirs["appointments_at_risk"]) == (1, 1)
        assert theirs["appointments_past_standard"] == 0
        assert (mine["counters_open"], mine["counters_staffed"]) == (1, 1)
        assert theirs["counters_open"] == 0
        assert theirs["devices_attention"] == 1
        assert theirs["devices"][0]["status"] == "paper_out"
        assert theirs["devices"][0]["severity"] == "fault"
        assert region["totals"]["waiting"] == mine["waiting"] + theirs["waiting"]
        await mina.close()

    clock.advance(minutes=5)  # 10:15: past the standard
    mina = await client(abingdon, username="mina", password=STAFF_PASSWORD)
    theirs = centre_of((await mina.request("region"))["region"], "abingdon")
    assert (theirs["appointments_at_risk"], theirs["appointments_past_standard"]) == (0, 1)
    await mina.close()
    for c in (*kiosks, alice):
        await c.close()


async def test_the_history_of_every_centre_keeps_their_counters_apart(
    two_centres: tuple[LiveServer, LiveServer],
) -> None:
    riverside, abingdon = two_centres
    clock = riverside.clock
    assert clock is not None
    today = clock.now.date().isoformat()
    for live in two_centres:
        kiosk = await client(live, token=live.kiosk_token)
        alice = await client(live, username="alice", password=STAFF_PASSWORD)
        await issue(kiosk, "housing")
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        await alice.request("call_next", counter="Counter 1")
        await kiosk.close()
        await alice.close()
    mina = await client(riverside, username="mina", password=STAFF_PASSWORD)
    ranged = (
        await mina.request("report", from_day=today, to_day=today, by="centre", all_centres=True)
    )["range"]
    assert set(ranged["groups"]) >= {"demo", "abingdon"}
    assert {"demo/Counter 1", "abingdon/Counter 1"} <= set(ranged["counters"])
    assert ranged["centre_names"]["abingdon"] == "Abingdon One Stop Shop"
    assert ranged["overall"]["issued"] == sum(g["issued"] for g in ranged["groups"].values())
    csv = await mina.request(
        "report", from_day=today, to_day=today, by="week", all_centres=True, format="csv"
    )
    assert csv["filename"] == f"walkin-all-centres-{today}-{today}-by-week.csv"
    for wrong, field in (({"all_centres": True}, "all_centres"), ({"by": "centre"}, "by")):
        with pytest.raises(RemoteError) as refused:
            await mina.request("report", from_day=today, to_day=today, **wrong)
        assert refused.value.code == "invalid_request"
        assert refused.value.details.get("field") == field
    await mina.close()


async def test_only_managers_see_the_region(two_centres: tuple[LiveServer, LiveServer]) -> None:
    riverside, _ = two_centres
    alice = await client(riverside, username="alice", password=STAFF_PASSWORD)
    with pytest.raises(RemoteError) as refused:
        await alice.request("region")
    assert refused.value.code == "forbidden"
    kiosk = await client(riverside, token=riverside.kiosk_token)
    with pytest.raises(RemoteError):
        await kiosk.request("region")
    await alice.close()
    await kiosk.close()
