"""Faults: the server away (at start, and mid-visit), the printer out of paper, and
double or impatient taps. None of them may lose or double a ticket."""

from __future__ import annotations

import socket

from device_drivers.simulator import PrinterSimulator
from queue_server.net.server import QueueServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_server_down_at_start_then_back(
    store, setup, printer_url, start_kiosk_app, printer_sim
) -> None:
    store.register_centre(setup)
    token = store.enroll_device(setup.centre_id, "kiosk", "Lobby kiosk")
    port = _free_port()
    kiosk = await start_kiosk_app(
        f"ws://127.0.0.1:{port}/ws", token, printer_url, wait_online=False
    )
    await kiosk.wait_screen("offline")
    assert "Please ask at reception" in kiosk.texts()
    await kiosk.tap("restart")  # a visitor tries: still nothing to offer
    await kiosk.wait_screen("offline")

    server = QueueServer(setup, store, status_url_template="https://q.example/t/{ticket_id}")
    await server.start(port=port)
    try:
        await kiosk.wait_screen("welcome", timeout=15)  # reconnected by itself
        await kiosk.tap("en")
        await kiosk.tap("housing")
        await kiosk.wait_screen("confirm")
        assert len(server.centre.tickets) == 1
        printer_sim.wait_for_tickets(1)
    finally:
        await server.close()


async def test_server_lost_mid_visit_issues_nothing(live, printer_url, start_kiosk_app) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    await live.server.close()
    await kiosk.wait_screen("offline")  # the visitor is told at once, not left to tap
    assert kiosk.controller.ticket_requests == []
    assert live.server.centre.tickets == {}
    # and a tap that slipped through on the old screen sends nothing either
    kiosk.controller.visit.service = "housing"
    kiosk.controller.take_ticket()
    await kiosk.pump(3)
    assert kiosk.controller.ticket_requests == []
    assert kiosk.screen == "offline"


async def test_printer_out_of_paper_shows_ticket_and_reports(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator
) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    printer_sim.set_state("paper-out")
    await kiosk.tap("en")
    await kiosk.tap("planning")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print attempt")

    outcome = kiosk.controller.visit.printed
    assert not outcome.printed and outcome.code == "paper_out"
    ticket = kiosk.controller.visit.ticket["ticket"]
    screen = kiosk.current()
    assert ticket["id"] in live.server.centre.tickets  # the queue ticket stands
    assert ticket["number"] in kiosk.texts()  # on screen, and named in the sentence
    assert any(ticket["number"] in t and "printer is not working" in t for t in kiosk.texts())
    qr = [w for w in kiosk.widgets() if type(w).__name__ == "QRCode" and w.data]
    assert [w.data for w in qr] == [ticket["status_url"]] and qr[0].texture is not None
    assert screen.hint  # "scan this code with your phone ..."
    # the fault reaches the server, for the managers
    await kiosk.until(
        lambda: (
            ("printer", "paper_out")
            in [(r.component, r.status) for r in live.store.device_statuses(live.setup.centre_id)]
        ),
        "the paper-out status on the server",
    )
    assert printer_sim.tickets == []


async def test_double_and_impatient_taps_make_one_ticket(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator
) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    # two presses with no frame between them (a double tap), then an impatient third
    # while the request is out
    housing = kiosk.button("housing")
    kiosk.press(housing, times=2)
    await kiosk.pump()
    kiosk.press(housing)
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
    kiosk.controller.choose_service("general")  # a tap that lands after the ticket
    kiosk.controller.take_ticket()
    await kiosk.pump(3)

    assert len(kiosk.controller.ticket_requests) == 1
    assert len(live.server.centre.tickets) == 1
    # and a retry of the same request (a lost reply, say) is the same ticket, printed once
    key = kiosk.controller.visit.key
    again = await kiosk.app.link.request(
        "issue_ticket", service="housing", idempotency_key=key, language="en"
    )
    assert (
        again["replayed"] and again["ticket"]["id"] == kiosk.controller.visit.ticket["ticket"]["id"]
    )
    second = await kiosk.app.printer.print_ticket(
        kiosk.controller.ticket_print(again), request_id=again["ticket"]["id"]
    )
    assert second.printed and second.message == "duplicate"
    assert len(printer_sim.wait_for_tickets(1)) == 1
    assert len(live.server.centre.tickets) == 1


async def test_double_tap_on_take_a_ticket_anyway(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator
) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("council_tax")
    await kiosk.wait_screen("online")
    kiosk.press("ticket", times=2)
    await kiosk.wait_screen("confirm")
    assert len(live.server.centre.tickets) == 1
    assert len(kiosk.controller.ticket_requests) == 1
