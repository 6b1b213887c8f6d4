"""The kiosk has an Epson printer hold its tickets' labels before the first visitor, and
again when the printer is back after being off (issue 12: Urdu and Arabic tickets under
3 KB; docs/printing.md, "Fixed phrases by key")."""

from __future__ import annotations

from device_drivers.simulator import PrinterSimulator


async def test_the_labels_are_in_the_printer_before_the_first_visitor_and_after_a_power_cycle(
    live, start_kiosk_app, printer_sim: PrinterSimulator
) -> None:
    assert printer_sim.tcp_address is not None
    host, port = printer_sim.tcp_address
    kiosk = await start_kiosk_app(
        live.url, live.kiosk_token, f"tcp://{host}:{port}?profile=TM-T20II"
    )
    # your number, scan to follow, the footer: in Urdu and in Arabic (the other four
    # languages' labels are the printer's own text)
    await kiosk.until(lambda: len(printer_sim.download.images) == 6, "the labels in the printer")
    assert printer_sim.tickets == []  # held, not printed

    for number, language in enumerate(("ur", "ar"), start=1):
        before = printer_sim.bytes_received
        await kiosk.tap(language)
        await kiosk.wait_screen("services")
        await kiosk.tap("housing")
        await kiosk.wait_screen("confirm")
        await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
        assert kiosk.controller.visit.printed.printed
        printed = printer_sim.wait_for_tickets(number)[-1]
        assert printed.ticket.undefined_graphics == [] and printed.ticket.unknown_commands == []
        # the visitor's ticket carried only its service's phrase: under 3 KB with it
        assert printer_sim.bytes_received - before < 3000
        kiosk.controller.reset()
        await kiosk.wait_screen("welcome")

    # switched off (it stops answering), on again: it lost them, and gets them back
    printer = kiosk.app.printer.printer
    printer_sim.set_state("silent")
    assert not printer.status(0.2).answered
    printer_sim.power_cycle()
    printer_sim.set_state("ok")
    assert printer.status().answered
    await kiosk.until(lambda: len(printer_sim.download.images) == 6, "the labels back")
    assert len(printer_sim.tickets) == 2
