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
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalogues import translator  # noqa: E402
from device_drivers.cli import sample_ticket  # noqa: E402
from device_drivers.layout import ticket_bytes  # noqa: E402
from device_drivers.printer import open_printer  # noqa: E402
from device_drivers.profiles import load_profile  # noqa: E402
from device_drivers.simulator import PrinterSimulator  # noqa: E402

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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true", help="also time prints to the simulator")
    args = parser.parse_args(argv)
    base = sample_ticket()
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
