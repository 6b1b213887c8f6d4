"""The simulator: renders what it is sent, QR codes decode, states and control work."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from device_drivers.cli import print_test_main
from device_drivers.layout import ticket_bytes
from device_drivers.printer import open_printer
from device_drivers.profiles import load_profile
from device_drivers.simulator import Interpreter, PrintedTicket, PrinterSimulator
from device_drivers.simulator.interpreter import QrCode, Raster, TextLine
from device_drivers.textimage import render_ink, wrap_to_width
from device_drivers.ticket import TicketPrint
from device_drivers.translations import labels_for

pyzbar = pytest.importorskip("pyzbar.pyzbar", reason="needs pyzbar and Debian libzbar0")


def decoded_qr_payloads(png: Path) -> set[str]:
    return {found.data.decode() for found in pyzbar.decode(Image.open(png))}


def test_native_qr_on_the_rendered_ticket_decodes_to_the_status_url(
    simulator: PrinterSimulator, tcp_url: str, ticket: TicketPrint
) -> None:
    shifted = dataclasses.replace(ticket, online_url="https://www.leeds.gov.uk/housing")
    with open_printer(tcp_url, profile="TM-T20II") as printer:
        printer.print_ticket(shifted, "qr-1")
    (printed,) = simulator.wait_for_tickets(1)
    assert printed.png_path is not None
    assert decoded_qr_payloads(printed.png_path) == {
        ticket.status_url,
        "https://www.leeds.gov.uk/housing",
    }
    assert printed.ticket.unknown_commands == []
    assert "H023" in printed.text and "(cut)" in printed.text


@pytest.mark.parametrize("language", ["en", "ur"])
def test_raster_qr_over_the_pty_decodes_too(
    simulator: PrinterSimulator, ticket: TicketPrint, language: str
) -> None:
    url = f"serial://{simulator.pty_path}?baudrate=115200&qr=raster"
    with open_printer(url) as printer:
        printer.print_ticket(dataclasses.replace(ticket, language=language), "raster-1")
    (printed,) = simulator.wait_for_tickets(1)
    assert printed.png_path is not None
    assert decoded_qr_payloads(printed.png_path) == {ticket.status_url}


@pytest.mark.parametrize("language", ["ur", "ar"])
def test_right_to_left_ticket_renders_words_as_images_number_and_qr_native(
    simulator: PrinterSimulator, tcp_url: str, ticket: TicketPrint, language: str
) -> None:
    """Issue 12, item 6: only the Urdu/Arabic words are pictures, cropped to their ink;
    the number, the Latin lines and both QR codes are the printer's own, and decode."""
    shifted = dataclasses.replace(
        ticket, language=language, online_url="https://www.leeds.gov.uk/housing"
    )
    with open_printer(tcp_url, profile="TM-T20II") as printer:
        result = printer.print_ticket(shifted, f"rtl-{language}")
    (printed,) = simulator.wait_for_tickets(1)
    assert printed.ticket.unknown_commands == []
    elements = printed.ticket.elements
    rasters = [e for e in elements if isinstance(e, Raster)]
    assert len(rasters) == 5  # your number, ahead, wait, scan to follow, online too
    assert all(r.image.width < 576 // 1.4 and r.align == "center" for r in rasters)
    texts = {e.text for e in elements if isinstance(e, TextLine)}
    assert {"H023", "Leeds Merrion House", "Housing Options", "Please keep this ticket"} <= texts
    assert [e.data for e in elements if isinstance(e, QrCode)] == [
        ticket.status_url,
        "https://www.leeds.gov.uk/housing",
    ]
    assert printed.png_path is not None
    assert decoded_qr_payloads(printed.png_path) == {
        ticket.status_url,
        "https://www.leeds.gov.uk/housing",
    }
    assert result.bytes_sent <= 8000  # Urdu was 23,767 with full-width images


def test_interpreter_copes_with_bytes_split_anywhere(ticket: TicketPrint) -> None:
    payload = ticket_bytes(dataclasses.replace(ticket, language="pl"), load_profile("TM-T20II"))
    whole: list[PrintedTicket] = []
    Interpreter(whole.append, lambda n: b"").feed(payload)
    trickled: list[PrintedTicket] = []
    interpreter = Interpreter(trickled.append, lambda n: b"")
    for i in range(0, len(payload), 7):
        interpreter.feed(payload[i : i + 7])
    assert len(whole) == len(trickled) == 1
    assert whole[0].elements == trickled[0].elements


def test_paper_out_prints_nothing(simulator: PrinterSimulator, tcp_url: str) -> None:
    simulator.set_state("paper-out")
    with socket.create_connection(simulator.tcp_address or ("", 0), timeout=2) as raw:
        raw.sendall(b"\x1b@hello\n\x1dVB\x00\x10\x04\x04")
        assert raw.recv(1) == bytes([0x7E])  # roll sensor: paper end
    assert simulator.tickets == []


def control(address: tuple[str, int], command: str) -> dict[str, object]:
    with socket.create_connection(address, timeout=2) as conn:
        conn.sendall(command.encode() + b"\n")
        reply = conn.makefile().readline()
    return dict(json.loads(reply))


def test_control_channel_switches_state(simulator: PrinterSimulator) -> None:
    assert simulator.control_address is not None
    assert control(simulator.control_address, "state cover-open")["ok"] is True
    assert simulator.state == "cover-open"
    assert control(simulator.control_address, "status")["state"] == "cover-open"
    assert control(simulator.control_address, "state melted")["ok"] is False
    assert control(simulator.control_address, "dance")["ok"] is False


def test_command_line_simulator_and_print_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tickets"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "device_drivers.simulator",
            "--tcp",
            "127.0.0.1:0",
            "--pty",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["pty"].startswith("/dev/")
        host, port = info["control"].rsplit(":", 1)
        assert print_test_main(["--printer", info["urls"]["network"], "--out", str(out)]) == 0
        assert "picture: " in capsys.readouterr().out
        assert control((host, int(port)), "state paper-out")["state"] == "paper-out"
        assert print_test_main(["--printer", info["urls"]["serial"]]) == 1
        assert "code paper_out" in capsys.readouterr().err
        assert len(list(out.glob("ticket-*.png"))) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


def test_print_test_rejects_a_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert print_test_main(["--printer", "gopher://x"]) == 2
    assert "invalid_url" in capsys.readouterr().err


@pytest.mark.skipif(not os.environ.get("WALKIN_SCREENSHOTS"), reason="writes docs/screenshots")
def test_write_screenshots(ticket: TicketPrint, tmp_path: Path) -> None:
    """``WALKIN_SCREENSHOTS=1 pytest -k screenshots`` refreshes docs/screenshots/printer/."""
    target = Path(__file__).resolve().parents[2] / "docs/screenshots/printer"
    for name, sim_args, url_args, tk in [
        (
            "ticket-80mm-en.png",
            {},
            "?profile=TM-T20II",
            dataclasses.replace(ticket, online_url="https://www.leeds.gov.uk/housing"),
        ),
        (
            "ticket-58mm-ur.png",
            {"paper_mm": 58},
            "?paper=58",
            dataclasses.replace(ticket, language="ur"),
        ),
        (
            "ticket-80mm-ar.png",
            {},
            "?profile=TM-T20II",
            dataclasses.replace(ticket, language="ar"),
        ),
    ]:
        with PrinterSimulator(tmp_path / name, **sim_args) as sim:
            host, port = sim.tcp_address or ("", 0)
            with open_printer(f"tcp://{host}:{port}{url_args}") as printer:
                printer.print_ticket(tk, name)
            (printed,) = sim.wait_for_tickets(1)
            assert printed.png_path is not None
            target.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(printed.png_path.read_bytes())


def test_column_images_over_the_pty_carry_the_letters_dot_for_dot(
    simulator: PrinterSimulator, ticket: TicketPrint
) -> None:
    """On a generic 58 mm printer the Urdu rows go as ESC * bands, centred by ESC a; the
    simulator, fed over the pseudo-terminal, prints the same dots the font drew."""
    labels = labels_for("ur")
    rows = [labels.your_number, labels.people_ahead.format(n=4), labels.estimated_wait.format(n=25)]
    rows += wrap_to_width(labels.scan_for_status, width_px=384, language="ur")
    drawn = {ink.tobytes() for row in rows if (ink := render_ink(row, language="ur"))}
    with open_printer(f"serial://{simulator.pty_path}?baudrate=115200&paper=58") as printer:
        printer.print_ticket(dataclasses.replace(ticket, language="ur"), "bands-1")
    (printed,) = simulator.wait_for_tickets(1)
    assert printed.ticket.unknown_commands == []
    bands = [
        e.image for e in printed.ticket.elements if isinstance(e, Raster) and e.align == "center"
    ]
    assert bands and all(band.height == 24 for band in bands)
    found = []
    while bands:  # a row is one band, or two printed one under the other
        for count in (1, 2):
            stacked = Image.new("1", (bands[0].width, 24 * count), 1)
            for i, band in enumerate(bands[:count]):
                stacked.paste(band, (0, 24 * i))
            box = ImageOps.invert(stacked.convert("L")).getbbox()
            if box and stacked.crop(box).tobytes() in drawn:
                found.append(stacked.crop(box).tobytes())
                del bands[:count]
                break
        else:
            pytest.fail("a band that is no row the font drew")
    assert len(found) >= 4 and set(found) <= drawn
