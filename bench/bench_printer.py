"""Bytes per ticket and time on the wire, per language, native QR against raster QR.

Run: ``.venv/bin/python bench/bench_printer.py [--measure] [--options]``

Tickets: ``sample_ticket()`` in each language (its centre, service and footer are
English, as measured for issue 12); "kiosk" cases also have the service and the footer
in the visitor's language, from the kiosk catalogue, as ``kiosk.controller`` prints them;
"Tŷ" is a Welsh service name with a letter no code page holds.

The wire time is computed (10 bits per byte at 8N1) because that is what a real printer
at that baud rate costs; ``--measure`` also times the whole print path (layout, status
check, send, status check) against the simulator over a pseudo-terminal, which has no
baud-rate limit, so it shows our own overhead.

The second table is where a right-to-left ticket's bytes go (``ticket_job``): the drawn
rows of the fixed phrases (the same on every ticket), the drawn rows that change (people
ahead, the wait), and everything else (text, QR, styles, cut); "ink" is the drawn rows'
dots at 1 bit, cropped, in whole bytes a row, with no command around them: what any
uncompressed image command must send at least, since no profile has a compressed one.

``--options`` adds estimates of two options measured and not taken (docs/performance.md,
section 3): the drawn rows as shared glyph runs (``ESC &`` user-defined characters), and
rows taller than 24 dots set at the size whose ink fits 24.

The third table is fixed phrases printed by key from the printer's download graphics
(``device_drivers.phrases``): five tickets through the real driver to the simulator over
a pseudo-terminal, per profile and language, with a power cycle before the third and
another before the fourth, after which the labels (not the service) of the Urdu and
Arabic tickets are prepared ahead (``Printer.prepare_phrases``, not counted). "set-up"
is what goes before the ticket (``ESC @`` and the key list question), "answers" the key
lists the printer sends back before the cut (waited for, so they count on the wire);
"total" is what the visitor waits for. A phrase the printer lacks goes as an image and
is defined after the cut: "between" is those bytes both ways (definitions, questions,
answers), which the visitor does not wait for. A fifth ticket follows a power cycle
that the status reads did not see, and the status monitor's next poll
(``Printer.keep_phrases``, which finds the phrases gone and defines them again): its
"between" is that poll's bytes, before the ticket. The two status reads every ticket has
(9 bytes out, 3 back, either way) are left out, as in the first table. Every ticket's
picture is checked against the one sent as images.
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
from device_drivers import layout  # noqa: E402
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
            # a cheap printer its owner found keeps download graphics
            ("generic 58mm keys", "paper=58&phrases=keys", 58),
            ("generic 80mm keys", "paper=80&phrases=keys", 80),
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


#: where the bytes go: (label, profile, paper, language, wording)
BREAKDOWN_CASES = [
    (f"{name} {lang} {wording}", profile, paper, lang, wording)
    for name, profile, paper in (
        ("TM-T20II 80mm", "TM-T20II", None),
        ("generic 58mm", None, 58),
        ("generic 80mm", None, 80),
    )
    for wording in ("kiosk", "sample")
    for lang in ("ur", "ar")
]


def breakdown(base: TicketPrint) -> None:
    """Each case's bytes as images: fixed drawn rows, changing drawn rows, the rest."""
    print()
    print("where the bytes go, every drawn row as an image (bytes; rows as width x height dots)")
    print(
        f"{'case':24} {'total':>6} {'fixed rows':>10} {'changing':>8} {'other':>6}"
        f" {'ink':>6}  fixed rows; changing rows"
    )
    line, text_image = layout._TicketWriter.line, layout._TicketWriter.text_image
    drawn: list[tuple[bool, tuple[int, int], int]] = []  # (fixed, ink size, bytes sent)
    fixed_now = [False]

    def spy_line(writer: layout._TicketWriter, text: str, **style: object) -> None:
        fixed_now[0] = bool(style.get("fixed"))
        line(writer, text, **style)  # type: ignore[arg-type]

    def spy_image(writer: layout._TicketWriter, ink: Image.Image) -> None:
        start = len(writer.out.output)
        text_image(writer, ink)
        drawn.append((fixed_now[0], ink.size, len(writer.out.output) - start))

    layout._TicketWriter.line = spy_line  # type: ignore[assignment,method-assign]
    layout._TicketWriter.text_image = spy_image  # type: ignore[method-assign]
    try:
        for label, profile, paper, language, wording in BREAKDOWN_CASES:
            drawn.clear()
            total = len(ticket_bytes(worded(base, language, wording), load_profile(profile, paper)))
            fixed = sum(size for is_fixed, _, size in drawn if is_fixed)
            changing = sum(size for is_fixed, _, size in drawn if not is_fixed)
            ink = sum(-(-w // 8) * h for _, (w, h), _ in drawn)
            rows = "; ".join(
                ", ".join(f"{w}x{h}" for is_fixed, (w, h), _ in drawn if is_fixed == which)
                for which in (True, False)
            )
            print(
                f"{label:24} {total:>6} {fixed:>10} {changing:>8}"
                f" {total - fixed - changing:>6} {ink:>6}  {rows}"
            )
    finally:
        layout._TicketWriter.line = line  # type: ignore[method-assign]
        layout._TicketWriter.text_image = text_image  # type: ignore[method-assign]


def _drawn_rows(ticket: TicketPrint, profile: object) -> tuple[int, list[Image.Image]]:
    """The ticket's bytes as images, and the ink of each drawn row."""
    text_image = layout._TicketWriter.text_image
    inks: list[Image.Image] = []

    def spy(writer: layout._TicketWriter, ink: Image.Image) -> None:
        inks.append(ink)
        text_image(writer, ink)

    layout._TicketWriter.text_image = spy  # type: ignore[method-assign]
    try:
        return len(ticket_bytes(ticket, profile)), inks  # type: ignore[arg-type]
    finally:
        layout._TicketWriter.text_image = text_image  # type: ignore[method-assign]


def glyph_runs_estimate(inks: list[Image.Image]) -> int:
    """Bytes to send ``inks`` as user-defined characters (``ESC &``), each 24-dot band cut
    into pieces of 1-12 columns, a piece defined once per ticket (1 + 3 bytes a column)
    and printed as one byte wherever it recurs: greedy, the longest piece already defined
    at each column, else a new one up to the next change between ink and blank columns.
    Per band: ``ESC % 1``, ``ESC % 0`` and a line feed; 5 bytes of ``ESC &`` header. An
    estimate of an option not taken (docs/performance.md, section 3): the 95-code limit
    of a set and how a printer spaces such characters are left out."""
    known: set[tuple[tuple[bool, ...], ...]] = set()
    cost = 5
    for ink in inks:
        bands = -(-ink.height // 24)
        canvas = Image.new("1", (ink.width, 24 * bands), 1)
        canvas.paste(ink, (0, (24 - ink.height) // 2 if bands == 1 else 0))
        dots = canvas.load()
        for band in range(bands):
            cost += 7
            columns = [
                tuple(dots[x, 24 * band + y] == 0 for y in range(24)) for x in range(ink.width)
            ]
            x = 0
            while x < len(columns):
                for width in range(min(12, len(columns) - x), 0, -1):
                    if tuple(columns[x : x + width]) in known:
                        break
                else:
                    width = 1
                    blank = not any(columns[x])
                    while (
                        x + width < len(columns)
                        and width < 12
                        and (not any(columns[x + width])) == blank
                    ):
                        width += 1
                    known.add(tuple(columns[x : x + width]))
                    cost += 1 + 3 * width
                cost += 1
                x += width
    return cost


def options_not_taken(base: TicketPrint) -> None:
    """What two options measured and not taken would make of each case (estimates)."""
    print()
    print("options not taken: shared glyph runs (ESC & characters, estimated), and every")
    print("drawn row set at the largest size up to 24 px whose ink is at most 24 dots tall")
    print(f"{'case':24} {'now':>6} {'ESC & estimate':>14} {'rows fit 24':>11}  sizes")
    render_ink = layout.render_ink
    sizes: list[str] = []

    def fitted(text: str, *, size: int = 24, bold: bool = False, language: str = "en") -> object:
        ink = render_ink(text, size=size, bold=bold, language=language)
        px = size
        while ink is not None and ink.height > 24 and px > 16:
            px -= 1
            ink = render_ink(text, size=px, bold=bold, language=language)
        if px != size:
            sizes.append(f"{ink.width if ink else 0}x{ink.height if ink else 0} at {px} px")
        return ink

    for label, profile_name, paper, language, wording in BREAKDOWN_CASES:
        ticket = worded(base, language, wording)
        profile = load_profile(profile_name, paper)
        total, inks = _drawn_rows(ticket, profile)
        drawn = sum(len(row) for row in _row_bytes(inks, profile))
        glyphs = total - drawn + glyph_runs_estimate(inks)
        sizes.clear()
        layout.render_ink = fitted  # type: ignore[assignment]
        try:
            fit = len(ticket_bytes(ticket, profile))
        finally:
            layout.render_ink = render_ink
        print(f"{label:24} {total:>6} {glyphs:>14} {fit:>11}  {', '.join(sizes)}")


def _row_bytes(inks: list[Image.Image], profile: object) -> list[bytes]:
    """Each drawn row as the layout sends it."""
    writer = layout._TicketWriter(profile, "en")  # type: ignore[arg-type]
    out = []
    for ink in inks:
        writer.out.clear()
        writer.text_image(ink)
        out.append(bytes(writer.out.output))
    return out


def stored_phrases(base: TicketPrint) -> None:
    """Four tickets per case through the driver, a power cycle before the third and
    the fourth (labels prepared ahead before the fourth)."""
    print()
    print("fixed phrases by key (download graphics); bytes to the printer and back")
    print(
        f"{'case':24} {'which ticket':17} {'ticket':>6} {'set-up':>6} {'answers':>7}"
        f" {'total':>6} {'9600 baud':>10} {'115200':>8} {'between':>9}  paper"
    )
    for label, options, paper, language, wording in STORED_CASES:
        ticket = worded(base, language, wording)
        folder = Path(tempfile.mkdtemp(prefix="bench-printer-"))
        with PrinterSimulator(folder, tcp=None, pty=True, paper_mm=paper) as sim:
            # the paper every ticket should be: the ticket as images; with phrases=keys on
            # the generic profile its own first ticket (every fixed row a padded raster,
            # where phrases=images draws some as ESC * bands centred on the line)
            keys = "phrases=keys" in options
            if not keys:
                url = f"serial://{sim.pty_path}?baudrate=115200&{options}&phrases=images"
                with open_printer(url) as printer:
                    printer.print_ticket(ticket, "as-images")
            url = f"serial://{sim.pty_path}?baudrate=115200&{options}"
            rows = []
            with open_printer(url) as printer:
                names = (
                    "first",
                    "following",
                    "after power cycle",
                    "prepared ahead",
                    "after a poll",
                )
                for i, name in enumerate(names):
                    polled = 0
                    if i == 2:
                        sim.power_cycle()
                    if i == 3:  # as a kiosk can when it sees the printer back: no service
                        sim.power_cycle()
                        printer.prepare_phrases(
                            dataclasses.replace(worded(base, lang, wording), service_name="")
                            for lang in ("ur", "ar")
                        )
                    if i == 4:  # switched off and on between two polls: the next poll
                        sim.power_cycle()
                        printer.status()
                        answered = sim.bytes_answered
                        polled = printer.keep_phrases()
                        polled += sim.bytes_answered - answered
                    answered = sim.bytes_answered
                    result = printer.print_ticket(ticket, name)
                    (*_, cut) = sim.wait_for_tickets(i + (1 if keys else 2))
                    # the status read before the ticket is answered before the cut (3
                    # bytes), the one after it after (3)
                    answers = cut.answered_at_cut - answered - _STATUS_ANSWERS // 2
                    later = sim.bytes_answered - cut.answered_at_cut - _STATUS_ANSWERS // 2
                    after = result.after_bytes + later + polled
                    rows.append((name, result.bytes_sent, result.setup_bytes, answers, after))
            if keys:
                printed = sim.wait_for_tickets(len(names))
                reference = printed[0]
            else:
                reference, *printed = sim.wait_for_tickets(1 + len(names))
        expected = _dots(reference.png_path)
        for (name, sent, setup, answers, after), one in zip(rows, printed, strict=True):
            same = _dots(one.png_path) == expected and not one.ticket.undefined_graphics
            total = sent + setup + answers
            print(
                f"{label:24} {name:17} {sent:>6} {setup:>6} {answers:>7} {total:>6}"
                f" {total * 10 / BAUDS[0]:>8.3f} s {total * 10 / BAUDS[1]:>6.3f} s {after:>9}"
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
    parser.add_argument(
        "--options", action="store_true", help="also estimate two options not taken"
    )
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
    breakdown(base)
    if args.options:
        options_not_taken(base)
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
