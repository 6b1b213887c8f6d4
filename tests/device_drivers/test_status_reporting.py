"""A printer running out of paper reaches the queue server and the staff watching it."""

from __future__ import annotations

import asyncio

from device_drivers.printer import open_printer
from device_drivers.reporting import StatusReporter
from device_drivers.simulator import PrinterSimulator
from queue_server.client import QueueClient


async def _push_of_type(client: QueueClient, kind: str, timeout: float = 5.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        push = await client.next_push(timeout=max(0.01, remaining))
        if push.get("type") == kind:
            return push


async def test_paper_out_reaches_server_and_managers(
    live, simulator: PrinterSimulator, tcp_url: str, staff_password: str
) -> None:
    async with (
        QueueClient(live.url, token=live.kiosk_token) as kiosk,
        QueueClient(live.url, username="mina", password=staff_password) as manager,
    ):
        reporter = StatusReporter(kiosk, asyncio.get_running_loop())
        printer = open_printer(tcp_url)
        printer.add_status_listener(reporter)
        try:
            first = await asyncio.to_thread(printer.status, 1.0)
            assert first.state.value == "ready"
            simulator.set_state("paper-out")
            second = await asyncio.to_thread(printer.status, 1.0)
            assert second.state.value == "paper_out"
            push = await _push_of_type(manager, "device_status")
            while push["status"] != "paper_out":
                push = await _push_of_type(manager, "device_status")
        finally:
            printer.close()
        assert push["component"] == "printer"
        assert push["device"].startswith("kiosk-")
        rows = live.store.device_statuses(live.setup.centre_id)
        assert [(r.component, r.status) for r in rows] == [("printer", "paper_out")]
        assert reporter.sent == ["ready", "paper_out"]
