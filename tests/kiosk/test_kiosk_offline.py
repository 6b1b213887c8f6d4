"""Kiosks that issue through an outage (issue 13 item 4): the real Kivy kiosk and a
second kiosk (its link, journal and sync, without a screen) lease numbers from a real
server, the server stops, both issue from their blocks (the Kivy one prints on the
printer simulator), the server comes back on its port and the uploads land: no number
twice, none lost, the queue in arrival order, a re-upload changes nothing. And a kiosk
process killed with SIGKILL after journaling, before uploading, uploads on restart.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from device_drivers.simulator import PrinterSimulator
from kiosk.journal import OfflineJournal
from kiosk.link import ServerLink
from kiosk.offline import OfflineSync
from queue_server.client import new_idempotency_key, stop_task
from queue_server.net.server import QueueServer

ROOT = Path(__file__).resolve().parents[2]


async def restart(live) -> QueueServer:
    """The server again, on the port the kiosks know, rebuilt from its database."""
    server = QueueServer(
        live.setup, live.store, status_url_template="https://q.example/t/{ticket_id}"
    )
    await server.start(port=live.port)
    live.server = server
    return server


async def test_two_kiosks_issue_through_an_outage_and_upload_once(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator, tmp_path: Path
) -> None:
    kiosk = await start_kiosk_app(
        live.url, live.kiosk_token, printer_url, offline_journal=str(tmp_path / "one.db")
    )
    other_token = live.store.enroll_device(live.setup.centre_id, "kiosk", "Lobby kiosk 2")
    other_link = ServerLink(live.url, other_token)
    other = OfflineSync(other_link, OfflineJournal(tmp_path / "two.db"), every=0.2)
    other_link.start()
    other.start()
    sync = kiosk.app.offline
    assert sync is not None
    try:
        # blocks leased ahead while online, for every service
        await kiosk.until(lambda: sync.can_issue("housing"), "a block of housing numbers")
        await kiosk.until(lambda: other.can_issue("housing"), "the second kiosk's block")
        blocks = list(live.server.centre.blocks.values())
        housing = sorted((b.first, b.last) for b in blocks if b.service == "housing")
        assert len(housing) == 2 and housing[0][1] < housing[1][0]  # no overlap

        await live.server.close()
        await kiosk.until(lambda: kiosk.controller.working_offline, "the kiosk to work offline")
        assert kiosk.screen == "welcome"  # not "ask at reception": it can still issue
        numbers = []
        for _turn in range(3):
            await kiosk.tap("en")
            await kiosk.wait_screen("services")
            assert "working offline" in kiosk.current().message
            await kiosk.tap("housing")
            await kiosk.wait_screen("confirm")
            assert "not available" in kiosk.current().wait
            await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
            assert kiosk.controller.visit.printed.printed
            numbers.append(kiosk.controller.visit.ticket["ticket"]["number"])
            kiosk.controller.reset()
            issued = other.issue("housing", "pl", new_idempotency_key())
            assert issued is not None
            numbers.append(issued.number)
        assert len(set(numbers)) == 6
        printed = printer_sim.wait_for_tickets(3)
        assert all("Wait estimate not available" in p.text for p in printed)
        assert [n for n in numbers[::2]] == [
            next(line.strip() for line in p.text.splitlines() if line.strip() in numbers)
            for p in printed
        ]
        # nothing uploaded yet: both journals hold them, pending
        assert len(sync.journal.pending()) == 3 and len(other.journal.pending()) == 3

        server = await restart(live)
        await kiosk.until(
            lambda: not sync.journal.pending() and not other.journal.pending(),
            "both journals uploaded",
            timeout=20,
        )
        queued = server.centre.queued()
        assert sorted(t.number for t in queued) == sorted(numbers)  # 0 lost, 0 twice
        assert [t.number for t in queued] == numbers  # in arrival order
        assert [t.arrival_at for t in queued] == sorted(t.arrival_at for t in queued)
        journal_times = {t.number: t.arrival_at for t in sync.journal.tickets()}
        for ticket in queued:
            if ticket.number in journal_times:
                assert ticket.arrival_at == journal_times[ticket.number]
        # the uploaded tickets stay in the journal, marked
        assert {t.state for t in sync.journal.tickets()} == {"accepted"}
        # a second upload of the same tickets is acknowledged and changes nothing
        again = await other_link.request(
            "upload_offline", tickets=[t.upload_entry() for t in other.journal.tickets()]
        )
        assert [a["status"] for a in again["tickets"]] == ["already"] * 3
        assert len(server.centre.tickets) == 6
        # the board is told the centre ran offline, and for how long
        await kiosk.until(lambda: server.centre.offline_runs, "the outage recorded")
        snapshot = await other_link.request("snapshot")
        assert "offline" not in snapshot["snapshot"]  # kiosks are not told; boards are
        from queue_server import views

        board = views.snapshot(server.centre, live.server.clock(), "board")
        assert board["offline"]["tickets"] == 6 and board["offline"]["spans"]
        first, last = min(t.arrival_at for t in queued), max(t.arrival_at for t in queued)
        assert min(r.since for r in server.centre.offline_runs.values()) <= first
        assert max(r.until for r in server.centre.offline_runs.values()) >= last
        # a new ticket online takes a number past every block
        online = await other_link.request(
            "issue_ticket", service="housing", idempotency_key=new_idempotency_key()
        )
        assert int(online["ticket"]["number"][1:]) > max(b.last for b in blocks)
    finally:
        await other.close()
        await other_link.close()
        other.journal.close()


async def test_no_numbers_left_says_so_and_prints_nothing(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator, tmp_path: Path
) -> None:
    kiosk = await start_kiosk_app(
        live.url, live.kiosk_token, printer_url, offline_journal=str(tmp_path / "one.db")
    )
    sync = kiosk.app.offline
    services = [s.code for s in kiosk.app.link.centre.services]
    await kiosk.until(lambda: all(sync.can_issue(c) for c in services), "a block of each")
    await live.server.close()
    await kiosk.until(lambda: kiosk.controller.working_offline, "the kiosk to work offline")
    while sync.issue("housing", "en", new_idempotency_key()) is not None:
        pass  # other visitors took every housing number in hand
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("offline")
    assert "no ticket numbers left" in kiosk.current().message
    await kiosk.pump(5)
    assert printer_sim.tickets == []
    await restart(live)


KILLED_KIOSK = textwrap.dedent(
    """
    import asyncio, sys
    from kiosk.journal import OfflineJournal
    from kiosk.link import ServerLink
    from kiosk.offline import OfflineSync

    async def main():
        link = ServerLink(sys.argv[1], sys.argv[2])
        link.start()
        sync = OfflineSync(link, OfflineJournal(sys.argv[3]))
        for n in range(3):
            ticket = sync.issue("housing", "en", f"killed-kiosk-{n:04d}")
            print(ticket.number, flush=True)
        print("journaled", flush=True)
        await asyncio.sleep(3600)  # killed here, before any upload

    asyncio.run(main())
    """
)


async def test_a_kiosk_killed_after_journaling_uploads_on_restart(live, tmp_path: Path) -> None:
    journal_path = tmp_path / "killed.db"
    link = ServerLink(live.url, live.kiosk_token)
    sync = OfflineSync(link, OfflineJournal(journal_path), every=0.2)
    link.start()
    sync.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not sync.can_issue("housing"):
        assert loop.time() < deadline, "no block leased"
        await asyncio.sleep(0.05)
    await sync.close()
    await link.close()
    sync.journal.close()
    await live.server.close()

    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_KIOSK, live.url, live.kiosk_token, str(journal_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        lines = []
        assert process.stdout is not None
        while (line := await asyncio.to_thread(process.stdout.readline)) != "journaled\n":
            assert line, "the kiosk process ended before journaling"
            lines.append(line.strip())
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert len(lines) == 3

    server = await restart(live)
    link = ServerLink(live.url, live.kiosk_token)
    sync = OfflineSync(link, OfflineJournal(journal_path), every=0.2)
    link.start()
    sync.start()
    try:
        deadline = loop.time() + 20
        while sync.journal.pending():
            assert loop.time() < deadline, "the journal was not uploaded"
            await asyncio.sleep(0.05)
        assert sorted(t.number for t in server.centre.queued()) == sorted(lines)
        assert {t.idempotency_key for t in server.centre.tickets.values()} == {
            f"killed-kiosk-{n:04d}" for n in range(3)
        }
        assert all(isinstance(t.arrival_at, datetime) for t in server.centre.tickets.values())
    finally:
        await sync.close()
        await link.close()
        sync.journal.close()


async def test_screenshots_of_the_kiosk_working_offline(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator, tmp_path: Path
) -> None:
    """The services screen offline, an offline ticket, and no numbers left; to
    docs/screenshots/kiosk/ with WALKIN_SCREENSHOTS=1 (full size), else a temporary
    folder (half size)."""
    final = os.environ.get("WALKIN_SCREENSHOTS") == "1"
    out = ROOT / "docs" / "screenshots" / "kiosk" if final else tmp_path / "shots"
    size = (1080, 1920) if final else (540, 960)
    kiosk = await start_kiosk_app(
        live.url,
        live.kiosk_token,
        printer_url,
        offline_journal=str(tmp_path / "one.db"),
        size=size,
    )
    sync = kiosk.app.offline
    services = [s.code for s in kiosk.app.link.centre.services]
    await kiosk.until(lambda: all(sync.can_issue(c) for c in services), "a block of each")
    await live.server.close()
    await kiosk.until(lambda: kiosk.controller.working_offline, "the kiosk to work offline")
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    shots = [await kiosk.screenshot(out / "offline_services-en.png", final=final)]
    await kiosk.tap("planning")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
    shots.append(await kiosk.screenshot(out / "offline_confirm-en.png", final=final))
    (paper,) = printer_sim.wait_for_tickets(1)
    assert "Wait estimate not available" in paper.text, paper.text
    assert paper.png_path is not None
    if final:  # the paper as the simulator rendered it
        shutil.copyfile(
            paper.png_path, ROOT / "docs" / "screenshots" / "printer" / "offline-en.png"
        )
    kiosk.controller.reset()
    while sync.issue("housing", "en", new_idempotency_key()) is not None:
        pass
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("offline")
    shots.append(await kiosk.screenshot(out / "offline_no_numbers-en.png", final=final))
    await kiosk.saved()
    assert all(path.stat().st_size > 10_000 for path in shots)
    await restart(live)


async def test_a_visit_whose_request_reached_the_server_issues_offline_under_a_new_key(
    live, printer_url, start_kiosk_app, tmp_path: Path
) -> None:
    """The server may have made a ticket with the key before it went away (its reply
    lost): the offline ticket must not carry that key, or its upload would clash."""
    kiosk = await start_kiosk_app(
        live.url, live.kiosk_token, printer_url, offline_journal=str(tmp_path / "one.db")
    )
    sync = kiosk.app.offline
    services = [s.code for s in kiosk.app.link.centre.services]
    await kiosk.until(lambda: all(sync.can_issue(c) for c in services), "a block of each")
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    sent = kiosk.controller.visit.key
    made = await kiosk.app.link.request(
        "issue_ticket", service="housing", idempotency_key=sent, language="en"
    )
    kiosk.controller.ticket_requests.append(("issue_ticket", sent))  # its reply "lost"
    await live.server.close()
    await kiosk.until(lambda: kiosk.controller.working_offline, "the kiosk to work offline")
    await kiosk.tap("housing")
    await kiosk.wait_screen("confirm")
    offline_key = kiosk.controller.visit.key
    assert offline_key != sent
    server = await restart(live)
    await kiosk.until(lambda: not sync.journal.pending(), "the upload")
    assert [t.state for t in sync.journal.tickets()] == ["accepted"]
    keys = {t.idempotency_key: t.number for t in server.centre.tickets.values()}
    assert keys[sent] == made["ticket"]["number"]
    assert keys[offline_key] == kiosk.controller.visit.ticket["ticket"]["number"]


class DownLink:
    """A link that is never online: the sync's rounds only note it."""

    online = False
    centre = None


@pytest.mark.parametrize("turns", range(4))
async def test_the_sync_ends_when_cancelled_as_it_is_poked(turns: int, tmp_path: Path) -> None:
    """Its wait between rounds must not lose a cancellation that comes as a poke wakes
    it: with ``asyncio.wait_for`` on Python 3.11 it did (CPython gh-86296), its loop ran
    on, and the kiosk's ``close_async`` waited for it for ever (the suite hung in
    this file's teardowns, under -n 2). ``turns`` of the loop between the poke and the
    cancellation put one of them in that window."""
    sync = OfflineSync(DownLink(), OfflineJournal(tmp_path / "j.db"), every=30)  # type: ignore[arg-type]
    sync.start()
    task = sync._task  # noqa: SLF001
    assert task is not None
    try:
        await asyncio.sleep(0.01)  # in its wait between rounds
        sync.poke()
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()  # once, as a plain ``await task`` closer relies on
        await asyncio.wait({task}, timeout=2.0)
        assert task.cancelled(), "the sync lost its cancellation and ran on"
    finally:
        await stop_task(task)
        sync.journal.close()
