"""A visitor takes a ticket by touch: the ticket exists on the server and was printed."""

from __future__ import annotations

import os
from pathlib import Path

from device_drivers.simulator import PrinterSimulator

SHOTS = Path(os.environ.get("KIOSK_DEBUG_SHOTS", "/nonexistent"))


async def test_take_a_ticket_by_touch(
    live, printer_url, start_kiosk_app, printer_sim: PrinterSimulator
) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    assert kiosk.screen == "welcome"
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    await kiosk.tap("housing")  # no online alternative: straight to a ticket
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print to finish")

    ticket = kiosk.controller.visit.ticket["ticket"]
    on_server = live.server.centre.tickets[ticket["id"]]
    assert on_server.service == "housing"
    assert on_server.number == ticket["number"] == "H001"
    assert on_server.language == "en"
    # the number is on screen, whatever the paper did
    assert "H001" in kiosk.texts()
    printed = printer_sim.wait_for_tickets(1)
    assert "H001" in printed[0].text
    assert kiosk.controller.visit.printed.printed
    if SHOTS.is_dir():
        await kiosk.screenshot(SHOTS / "confirm.png")
