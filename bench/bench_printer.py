"""Bytes per ticket and time on the wire, per language, native QR against raster QR.

Run: ``.venv/bin/python bench/bench_printer.py [--measure]``

Tickets: ``sample_ticket()`` in each language (its centre, service and footer are
English, as measured for issue 12); "kiosk" cases also have the service and the footer
in the visitor's language, from the kiosk catalogue, as ``kiosk.controller`` prints them;
"Tŷ" is a Welsh service name with a letter no code page holds.

The wire time is computed (10 bits per byte at 8N1) because that is what a real printer
at that baud rate costs; ``--measure`` also times the whole print path (layout, status
check, send, status check) against the simulator over a pseudo-terminal, which has no
baud-rate limit, so it shows our own overhead.

The second table is fixed phrases printed by key from the printer's download graphics
(``device_drivers.phrases``): three tickets through the real driver to the simulator over
a pseudo-terminal, per profile and language, with a power cycle before the third and
another before the fourth, after which the labels (not the service) of the Urdu and
Arabic tickets are prepared ahead (``Printer.prepare_phrases``, not counted). "set-up"
is what goes before the ticket (``ESC @``, the key list questions, the definitions),
"answers" the key lists the printer sends back (waited for, so they count on the wire);
the two status reads every ticket has (9 bytes out, 3 back, either way) are left out, as
in the first table. Every ticket's picture is checked against the one sent as images.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalogues import translator  # noqa: E402
from device_drivers.cli import sample_ticket  # noqa: E402
from device_drivers.layout import ticket_bytes  # noqa: E402
from device_drivers.printer import open_printer  # noqa: E402
from device_drivers.profiles import load_profile  # noqa: E402
from device_drivers.simulator import PrinterSimulator  # noqa: E402
from device_drivers.ticket import TicketPrint  # noqa: E402

BAUDS = (9600, 115200)
LANGUAGES = ("en", "cy", "pl", "ro", "ur", "ar")
CASES = [
    # (label, profile, paper, language, online QR, qr mode); a label ending in "kiosk"
    # has the kiosk's wording, one ending in "Tŷ" the Welsh service name
    ("80mm en raster", "TM-T20II", None, "en", False, "raster"),
    ("80mm en native +online", "TM-T20II", None, "en", True, "native"),
    ("80mm en raster +online", "TM-T20II", None, "en", True, "raster"),
    # every ticket language: an Epson 80 mm (centres rasters with ESC a) and a generic
    # 58 mm printer (an unknown printer may not centre rasters: rows go as ESC * bands,
    # which ESC a centres as it does text, or as rasters padded on the left)
    *[(f"80mm {lang} native", "TM-T20II", None, lang, False, "native") for lang in LANGUAGES],
    *[(f"58mm {lang} native", None, 58, lang, False, "native") for lang in LANGUAGES],
    ("80mm generic ur native", None, 80, "ur", False, "native"),
    ("80mm ur native +online", "TM-T20II", None, "ur", True, "native"),
    *[(f"80mm {lang} kiosk", "TM-T20II", None, lang, False, "native") for lang in LANGUAGES],
    *[(f"58mm {lang} kiosk", None, 58, lang, False, "native") for lang in ("ur", "ar")],
    *[(f"80mm generic {lang} kiosk", None, 80, lang, False, "native") for lang in ("ur", "ar")],
    ("80mm cy Tŷ", "TM-T20II", None, "cy", False, "native"),
    ("58mm cy Tŷ", None, 58, "cy", False, "native"),
    ("TSP100III graphics only", "TSP100III", None, "en", False, "raster"),
]
#: fixed phrases by key: (label, URL options, simulator paper, language, wording)
STORED_CASES = [
    *[
        (f"{name} {lang} {wording}", options, paper, lang, wording)
        for name, options, paper in (
            ("TM-T20II 80mm", "profile=TM-T20II", 80),
            ("TM-T20II 58mm", "profile=TM-T20II&paper=58", 58),
            ("TM-T88V 80mm", "profile=TM-T88V", 80),
            ("generic 58mm", "paper=58", 58),
            ("generic 80mm", "paper=80", 80),
        )
        for wording in ("kiosk", "sample")
        for lang in ("ur", "ar")
    ],
    ("TM-T20II 80mm ur +online", "profile=TM-T20II", 80, "ur", "online"),
    ("TM-T20II 80mm cy Tŷ", "profile=TM-T20II", 80, "cy", "Tŷ"),
]
#: the answers to the two status reads of every ticket (DLE EOT 1, 2, 4; before and after)
_STATUS_ANSWERS = 6


def worded(base: TicketPrint, language: str, wording: str) -> TicketPrint:
    """The sample ticket in ``language``: "kiosk" with the kiosk's own service and footer,
    "Tŷ" with a Welsh service name no code page holds, "online" with the channel-shift
    QR, "sample" as it is."""
    ticket = dataclasses.replace(base, language=language)
    if wording == "kiosk":
        t = translator("kiosk", language)
        return dataclasses.replace(
            ticket, service_name=t("Housing and benefits"), footer=t("Please keep this ticket")
        )
    if wording == "Tŷ":
        return dataclasses.replace(ticket, service_name="Gwasanaethau Tŷ")
    if wording == "online":
        return dataclasses.replace(ticket, online_url="https://www.leeds.gov.uk/housing")
    return ticket


def stored_phrases(base: TicketPrint) -> None:
    """Three tickets per case through the driver, a power cycle before the third."""
    print()
    print("fixed phrases by key (download graphics); bytes to the printer and back")
    print(
        f"{'case':24} {'which ticket':17} {'ticket':>6} {'set-up':>6} {'answers':>7}"
        f" {'total':>6} {'9600 baud':>10} {'115200':>8}  paper"
    )
    for label, options, paper, language, wording in STORED_CASES:
        ticket = worded(base, language, wording)
        folder = Path(tempfile.mkdtemp(prefix="bench-printer-"))
        with PrinterSimulator(folder, tcp=None, pty=True, paper_mm=paper) as sim:
            url = f"serial://{sim.pty_path}?baudrate=115200&{options}&phrases=images"
            with open_printer(url) as printer:
                printer.print_ticket(ticket, "as-images")
            url = f"serial://{sim.pty_path}?baudrate=115200&{options}"
            rows = []
            with open_printer(url) as printer:
                names = ("first", "following", "after power cycle", "prepared ahead")
                for i, name in enumerate(names):
                    if i == 2:
                        sim.power_cycle()
                    if i == 3:  # as a kiosk can when it sees the printer back: no service
                        sim.power_cycle()
                        printer.prepare_phrases(
                            dataclasses.replace(worded(base, lang, wording), service_name="")
                            for lang in ("ur", "ar")
                        )
                    answered = sim.bytes_answered
                    result = printer.print_ticket(ticket, name)
                    sim.wait_for_tickets(i + 2)
                    answers = sim.bytes_answered - answered - _STATUS_ANSWERS
                    rows.append((name, result.bytes_sent, result.setup_bytes, answers))
            reference, *printed = sim.wait_for_tickets(5)
        expected = _dots(reference.png_path)
        for (name, sent, setup, answers), one in zip(rows, printed, strict=True):
            same = _dots(one.png_path) == expected and not one.ticket.undefined_graphics
            total = sent + setup + answers
            print(
                f"{label:24} {name:17} {sent:>6} {setup:>6} {answers:>7} {total:>6}"
                f" {total * 10 / BAUDS[0]:>8.3f} s {total * 10 / BAUDS[1]:>6.3f} s"
                f"  {'same as images' if same else 'DIFFERENT'}"
            )
        shutil.rmtree(folder)


def _dots(png: Path | None) -> tuple[tuple[int, int], bytes]:
    """A rendered ticket's size and pixels, to compare two pictures dot for dot."""
    assert png is not None
    with Image.open(png) as image:
        return image.size, image.convert("L").tobytes()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true", help="also time prints to the simulator")
    args = parser.parse_args(argv)
    base = sample_ticket()
    print(
        "every drawn row as an image (ticket_bytes), as printers without download graphics get it"
    )
    print(f"{'case':28} {'bytes':>7} " + " ".join(f"{b:>9} baud" for b in BAUDS))
    for label, profile, paper, language, online, qr in CASES:
        ticket = dataclasses.replace(
            base,
            language=language,
            online_url="https://www.leeds.gov.uk/housing" if online else None,
        )
        if label.endswith("kiosk"):
            t = translator("kiosk", language)
            ticket = dataclasses.replace(
                ticket,
                service_name=t("Housing and benefits"),
                footer=t("Please keep this ticket"),
            )
        elif label.endswith("Tŷ"):
            ticket = dataclasses.replace(ticket, service_name="Gwasanaethau Tŷ")
        size = len(ticket_bytes(ticket, load_profile(profile, paper), qr_mode=qr))  # type: ignore[arg-type]
        wire = " ".join(f"{size * 10 / baud:>12.3f} s" for baud in BAUDS)
        print(f"{label:28} {size:>7} {wire}")
    stored_phrases(base)
    if args.measure:
        with PrinterSimulator(None, tcp=None, pty=True) as sim:
            for qr in ("native", "raster"):
                with open_printer(f"serial://{sim.pty_path}?baudrate=115200&qr={qr}") as printer:
                    times = []
                    for i in range(50):
                        started = time.perf_counter()
                        printer.print_ticket(base, f"{qr}-{i}")
                        times.append(time.perf_counter() - started)
                median_ms = statistics.median(times) * 1000
                print(
                    f"print_ticket over pty, {qr:6}: median {median_ms:.1f} ms,"
                    f" max {max(times) * 1000:.1f} ms (50 tickets; layout + 2 status reads + send)"
                )
            sim.wait_for_tickets(100, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
