"""Fixed phrases printed by key from the printer's download graphics (issue 12, item 6).

Through the real driver (``open_printer``) to the simulator over a pseudo-terminal or
TCP: the bytes on the wire, the printer's state kept honest (asked before each ticket,
a power cycle, keys it holds from before, no room, no answer), the same paper dot for
dot as the ticket sent as images, and profiles that keep today's path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from catalogues import translator
from device_drivers.errors import InvalidDeviceURL, PrinterDisconnected
from device_drivers.layout import ticket_bytes, ticket_job
from device_drivers.phrases import (
    CLEAR_ALL,
    KeyListError,
    PhraseMemory,
    StoredRow,
    define_command,
    key_for,
    parse_key_list_block,
    print_command,
)
from device_drivers.printer import open_printer
from device_drivers.profiles import load_profile
from device_drivers.simulator import PrinterSimulator, RenderedTicket
from device_drivers.simulator.server import wait_until
from device_drivers.status import PaperLevel, StatusMonitor, encode_status_reply
from device_drivers.textimage import render_ink
from device_drivers.ticket import TicketPrint

ESC, GS = b"\x1b", b"\x1d"
STATUS = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"  # DLE EOT 1, 2, 4: before and after
KEY_LIST = GS + b"(L\x04\x000PKC"


def kiosk_ticket(ticket: TicketPrint, language: str, **changes: object) -> TicketPrint:
    """The service and the footer in the visitor's language, as kiosk.controller does."""
    t = translator("kiosk", language)
    return dataclasses.replace(
        ticket,
        language=language,
        service_name=t("Housing and benefits"),
        footer=t("Please keep this ticket"),
        **changes,  # type: ignore[arg-type]
    )


def serial_url(sim: PrinterSimulator, options: str = "profile=TM-T20II") -> str:
    return f"serial://{sim.pty_path}?baudrate=115200&{options}"


def paper(png: Path | None) -> Image.Image:
    assert png is not None
    return Image.open(png).convert("L")


def same_dots(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def as_images(ticket: TicketPrint, tmp_path: Path, profile: str = "TM-T20II") -> Image.Image:
    """The ticket's paper when every row goes as an image (today's path)."""
    with PrinterSimulator(tmp_path / "as-images", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim, f"profile={profile}&phrases=images")) as printer:
            result = printer.print_ticket(ticket, "as-images")
        (printed,) = sim.wait_for_tickets(1)
    assert result.setup_bytes == 0
    assert printed.ticket.unknown_commands == []
    return paper(printed.png_path)


def assert_paper_as_images(
    printed: Sequence[RenderedTicket], ticket: TicketPrint, tmp_path: Path
) -> None:
    """Every ticket in ``printed`` left no graphic undefined and put on paper, dot for
    dot, what ``ticket`` sent as images does."""
    reference = as_images(ticket, tmp_path)
    for one in printed:
        assert one.ticket.undefined_graphics == []
        assert same_dots(paper(one.png_path), reference)


def expected_key(picture: Image.Image) -> bytes:
    """The key the contract promises, computed here from the picture: SHA-256 of
    "WxH:" and the 1-bit rows, its first 8 bytes mod 95 * 95, as two bytes from 32."""
    digest = hashlib.sha256(f"{picture.width}x{picture.height}:".encode() + picture.tobytes())
    index = int.from_bytes(digest.digest()[:8], "big") % (95 * 95)
    return bytes((32 + index // 95, 32 + index % 95))


# -- golden bytes ---------------------------------------------------------------------


def test_golden_bytes_first_and_following_ticket_over_the_pty(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """A Welsh ticket whose service has ŷ (no code page has it): the first ticket draws
    that row as an image (the printer does not hold it yet) and, after the cut, defines
    it as download graphics; the next prints it by key. The rest is today's text."""
    welsh = dataclasses.replace(ticket, language="cy", service_name="Gwasanaethau Tŷ")
    ink = render_ink("Gwasanaethau Tŷ", size=24, bold=True, language="cy")
    assert ink is not None and ink.height <= 24
    band = Image.new("1", (ink.width, 24), 1)  # one ESC * band, the ink in its middle
    band.paste(ink, (0, (24 - ink.height) // 2))
    key = expected_key(band)
    whole_bytes = Image.new("1", (-(-ink.width // 8) * 8, 24), 1)  # rows padded blank
    whole_bytes.paste(band, (0, 0))
    rows = bytes(b ^ 0xFF for b in whole_bytes.tobytes())
    body = b"0S0" + key + b"\x01" + ink.width.to_bytes(2, "little") + b"\x18\x00" + b"1" + rows
    definition = GS + b"(L" + len(body).to_bytes(2, "little") + body
    # ESC * 24-dot double density: per column 3 bytes, top dot the high bit, 1 = ink
    columns = b"".join(
        sum((band.getpixel((x, 8 * byte + bit)) == 0) << (7 - bit) for bit in range(8)).to_bytes(
            1, "big"
        )
        for x in range(band.width)
        for byte in range(3)
    )
    as_image = ESC + b"*\x21" + ink.width.to_bytes(2, "little") + columns + b"\n"
    by_key = GS + b"(L\x06\x000U" + key + b"\x01\x01" + ESC + b"J\x06"

    def after_init(service: bytes) -> bytes:
        return (
            ESC + b"a\x01" + ESC + b"E\x01" + b"Leeds Merrion House\n"
            + ESC + b"E\x00" + b"Eich rhif\n"
            + ESC + b"E\x01" + GS + b"!\x33" + b"H023\n"
            + service
            + ESC + b"E\x00" + GS + b"!\x00" + b"12 Maw 2026 10:42\n"
            + b"Pobl o'ch blaen: 4\n"
            + b"Amser aros tebygol: 25 munud\n"
            + b"\n"
            + GS + b"(k\x04\x001A2\x00" + GS + b"(k\x03\x001C\x06" + GS + b"(k\x03\x001E1"
            + GS + b"(k$\x001P0https://q.leeds.gov.uk/t/7Kq2xW9p" + GS + b"(k\x03\x001Q0"
            + b"\n"
            + b"Sganiwch i ddilyn eich lle yn y ciw\n"
            + b"Please keep this ticket\n"
            + GS + b"VB\x00"
        )  # fmt: skip

    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, keep_input=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            first = printer.print_ticket(welsh, "first")
            on_the_wire = len(sim.received)
            following = printer.print_ticket(welsh, "following")
        sim.wait_for_tickets(2)
        received = bytes(sim.received)
    assert received[:on_the_wire] == (
        STATUS + ESC + b"@" + KEY_LIST + after_init(as_image) + STATUS  # the ticket
        + ESC + b"@" + KEY_LIST + definition + KEY_LIST  # after the cut
    )  # fmt: skip
    assert received[on_the_wire:] == STATUS + ESC + b"@" + KEY_LIST + after_init(by_key) + STATUS
    assert (first.bytes_sent, first.setup_bytes) == (len(after_init(as_image)), 11)
    assert first.after_bytes == 11 + len(definition) + 9
    assert (following.bytes_sent, following.setup_bytes) == (len(after_init(by_key)), 11)
    assert following.after_bytes == 0
    # as images, the first ticket is no dearer than a printer without stored phrases
    assert 2 + first.bytes_sent == len(ticket_bytes(welsh, load_profile("TM-T20II")))


# -- the same paper, fewer bytes ------------------------------------------------------


@pytest.mark.parametrize("language", ["ur", "ar"])
def test_the_kiosks_right_to_left_tickets_by_key_are_the_same_paper_and_under_3_kb(
    tmp_path: Path, ticket: TicketPrint, language: str
) -> None:
    shown = kiosk_ticket(ticket, language)
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            results = [printer.print_ticket(shown, f"t{i}") for i in range(3)]
        printed = sim.wait_for_tickets(3)
    reference = as_images(shown, tmp_path)
    for one in printed:
        assert one.ticket.undefined_graphics == one.ticket.unknown_commands == []
        assert same_dots(paper(one.png_path), reference)
    first, *following = results
    # the first ticket is the ticket as images (after ESC @ and the key list question);
    # the phrases are defined after its cut, once
    assert first.bytes_sent + 2 == len(ticket_bytes(shown, load_profile("TM-T20II")))
    assert first.setup_bytes == 11 and first.after_bytes > 2000
    for result in following:
        assert result.setup_bytes == 11 and result.after_bytes == 0
        assert result.bytes_sent + result.setup_bytes <= 3000


def test_the_paper_is_the_same_on_a_58_mm_roll_in_an_epson(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, paper_mm=58) as sim:
        with open_printer(serial_url(sim, "profile=TM-T20II&paper=58")) as printer:
            printer.print_ticket(shown, "one")
            second = printer.print_ticket(shown, "two")
        printed = sim.wait_for_tickets(2)
    assert second.setup_bytes == 11
    with PrinterSimulator(tmp_path / "images", tcp=None, pty=True, paper_mm=58) as sim:
        with open_printer(serial_url(sim, "profile=TM-T20II&paper=58&phrases=images")) as p:
            p.print_ticket(shown, "images")
        (reference,) = sim.wait_for_tickets(1)
    for one in printed:
        assert same_dots(paper(one.png_path), paper(reference.png_path))


# -- the printer's state, kept honest -------------------------------------------------


def test_a_power_cycle_between_tickets_means_the_phrases_are_sent_again(
    tmp_path: Path, ticket: TicketPrint, tcp_url: str, simulator: PrinterSimulator
) -> None:
    shown = kiosk_ticket(ticket, "ar")
    with open_printer(tcp_url, profile="TM-T20II") as printer:
        before = printer.print_ticket(shown, "before")
        kept = printer.print_ticket(shown, "kept")
        simulator.power_cycle()
        after = printer.print_ticket(shown, "after")
        again = printer.print_ticket(shown, "again")
    printed = simulator.wait_for_tickets(4)
    assert [r.setup_bytes for r in (before, kept, after, again)] == [11] * 4
    assert [r.after_bytes for r in (kept, again)] == [0, 0]
    assert after.after_bytes == before.after_bytes > 2000
    assert after.bytes_sent == before.bytes_sent > kept.bytes_sent == again.bytes_sent
    assert_paper_as_images(printed, shown, tmp_path)


def test_on_a_slow_serial_line_the_key_list_waits_for_the_definitions_to_arrive(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """At 9600 baud the Welsh service's definition (756 bytes) takes 0.8 s to reach the
    printer, longer than the 0.3 s allowed for an answer: the wait allows for it."""
    welsh = dataclasses.replace(ticket, language="cy", service_name="Gwasanaethau Tŷ")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, line_baud=9600) as sim:
        url = serial_url(sim, "profile=TM-T20II&after_print_timeout=0.3").replace(
            "baudrate=115200", "baudrate=9600"
        )
        with open_printer(url) as printer:
            first = printer.print_ticket(welsh, "first")
            following = printer.print_ticket(welsh, "following")
        printed = sim.wait_for_tickets(2)
    assert first.after_bytes > 700 and following.setup_bytes == 11
    assert following.after_bytes == 0  # the key list after the cut saw the definition
    assert first.bytes_sent > following.bytes_sent < 300  # then the service by key
    assert_paper_as_images(printed, welsh, tmp_path)


def test_a_printer_whose_esc_at_clears_its_graphics_gets_images_and_stops_being_given_them(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """Every ticket finds the memory empty: as images, and after twice running with
    everything lost, no more definitions after the cut (they would only be lost)."""
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", pty=True, init_clears_downloads=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            results = [printer.print_ticket(shown, f"t{i}") for i in range(4)]
        printed = sim.wait_for_tickets(4)
    today = ticket_bytes(shown, load_profile("TM-T20II"))
    assert [r.bytes_sent + 2 for r in results] == [len(today)] * 4
    assert [r.setup_bytes for r in results] == [11] * 4
    assert results[0].after_bytes == results[1].after_bytes > 2000
    assert results[2].after_bytes == results[3].after_bytes == 0
    assert_paper_as_images(printed, shown, tmp_path)


def test_a_printer_given_no_more_phrases_is_tried_again_after_a_while(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """Two power cycles each just before a ticket look like a printer whose ESC @
    clears its phrases; after the key list backoff the printer is given them again."""
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            printer.print_ticket(shown, "t0")
            for i in (1, 2):
                sim.power_cycle()
                lost = printer.print_ticket(shown, f"t{i}")
            assert lost.after_bytes == 0  # given up on
            printer._forgot_until = 0.0  # the backoff (10 minutes) is over
            sim.power_cycle()
            again = printer.print_ticket(shown, "t3")
            following = printer.print_ticket(shown, "t4")
        sim.wait_for_tickets(5)
    assert again.after_bytes > 2000
    assert (following.setup_bytes, following.after_bytes) == (11, 0)
    assert following.bytes_sent < again.bytes_sent - 2000


def test_keys_the_printer_held_before_are_cleared_not_trusted(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """A key this kiosk did not define in this session may hold another picture (an
    older translation, another program's logo): it is never printed by."""
    shown = kiosk_ticket(ticket, "ar")
    rows = ticket_job(shown, load_profile("TM-T20II"), stored=True).rows
    keys = [key_for(row.digest) for row in rows]
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, keep_input=True) as sim:
        for key in keys:  # the very keys the driver will want, holding a wrong picture
            assert sim.download.define(key, Image.new("1", (64, 24), 0))
        with open_printer(serial_url(sim)) as printer:
            first = printer.print_ticket(shown, "first")
        (printed,) = sim.wait_for_tickets(1)
        received = bytes(sim.received)
    assert GS + b"(L\x05\x000QCLR" in received  # function 81: delete them all first
    assert first.setup_bytes == 11 and first.after_bytes > 2000
    assert same_dots(paper(printed.png_path), as_images(shown, tmp_path))


def test_a_changed_translation_is_a_new_key_never_the_old_picture(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    old = kiosk_ticket(ticket, "ar")
    new = dataclasses.replace(old, footer="يرجى الاحتفاظ بهذه التذكرة معك")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            printer.print_ticket(old, "old")
            changed = printer.print_ticket(new, "new")
        _, printed = sim.wait_for_tickets(2)
    assert changed.setup_bytes == 11
    assert 11 + 9 < changed.after_bytes < 1500  # the new footer only, and a check
    assert same_dots(paper(printed.png_path), as_images(new, tmp_path))


def test_no_room_in_the_printer_prints_the_phrases_as_images(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, download_capacity=0) as sim:
        with open_printer(serial_url(sim)) as printer:
            results = [printer.print_ticket(shown, f"t{i}") for i in range(2)]
        printed = sim.wait_for_tickets(2)
    today = ticket_bytes(shown, load_profile("TM-T20II"))
    # ESC @ went with the key list question; the phrases are refused once, then left be
    assert [r.bytes_sent for r in results] == [len(today) - 2] * 2
    assert [r.setup_bytes for r in results] == [11, 11]
    assert results[0].after_bytes > 2 * 2000 and results[1].after_bytes == 0
    for one in printed:
        assert one.ticket.undefined_graphics == []
        assert same_dots(paper(one.png_path), as_images(shown, tmp_path))


def test_a_printer_that_never_answers_the_key_list_gets_images_and_is_not_asked_again(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """Its profile says it keeps download graphics, the printer does not: it answers
    status but not the key list. One wait, then images, and no more questions."""
    shown = kiosk_ticket(ticket, "ar")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, download_graphics=False) as sim:
        with open_printer(serial_url(sim, "profile=TM-T20II&after_print_timeout=0.3")) as p:
            first = p.print_ticket(shown, "first")
            second = p.print_ticket(shown, "second")
        printed = sim.wait_for_tickets(2)
    today = ticket_bytes(shown, load_profile("TM-T20II"))
    assert (first.bytes_sent, first.setup_bytes) == (len(today), 11)
    assert (second.bytes_sent, second.setup_bytes) == (len(today), 0)
    for one in printed:
        assert same_dots(paper(one.png_path), as_images(shown, tmp_path))


def test_a_reprint_prints_its_mark_by_key_as_well(tmp_path: Path, ticket: TicketPrint) -> None:
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            printer.print_ticket(shown, "first")
            again = printer.reprint_ticket(shown, "first")
        _, printed = sim.wait_for_tickets(2)
    assert again.request_id == "first:reprint-1"
    assert printed.ticket.undefined_graphics == []
    assert same_dots(
        paper(printed.png_path), as_images(dataclasses.replace(shown, reprint=True), tmp_path)
    )


# -- profiles that keep today's path --------------------------------------------------


@pytest.mark.parametrize(
    ("options", "paper_mm"),
    [
        ("paper=58", 58),  # the generic profile: an unknown printer
        ("paper=80", 80),
        ("profile=TM-T88IV", 80),  # an Epson not on the list
        ("profile=TM-T20II&phrases=images", 80),  # turned off
    ],
)
def test_a_profile_without_download_graphics_sends_todays_bytes(
    tmp_path: Path, ticket: TicketPrint, options: str, paper_mm: int
) -> None:
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(None, tcp=None, pty=True, keep_input=True, paper_mm=paper_mm) as sim:
        with open_printer(serial_url(sim, options)) as printer:
            result = printer.print_ticket(shown, "one")
            today = ticket_bytes(shown, printer.profile)
        sim.wait_for_tickets(1)
        received = bytes(sim.received)
    assert received == STATUS + today + STATUS
    assert result.setup_bytes == 0 and KEY_LIST not in received


# -- a generic printer its owner says keeps download graphics (phrases=keys) ------------


@pytest.mark.parametrize("language", ["ur", "ar"])
@pytest.mark.parametrize("paper_mm", [80, 58])
def test_a_generic_printer_told_it_keeps_graphics_prints_the_phrases_by_key(
    tmp_path: Path, ticket: TicketPrint, language: str, paper_mm: int
) -> None:
    """``phrases=keys`` on the generic profile (a printer that may not centre rasters):
    each fixed row goes as a raster padded to the centre, printed at the left margin as
    an image on the first ticket and by key on the next, so every ticket is the same
    paper, dot for dot; the rows are the rows of the ticket sent as images, line for
    line; and the tickets after the first are under 3 KB (as images 4-4.8 KB)."""
    shown = kiosk_ticket(ticket, language)
    options = f"paper={paper_mm}&phrases=keys"
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, paper_mm=paper_mm) as sim:
        with open_printer(serial_url(sim, options)) as printer:
            assert not printer.profile.centres_images and not printer.profile.download_graphics
            results = [printer.print_ticket(shown, f"t{i}") for i in range(3)]
        printed = sim.wait_for_tickets(3)
    reference = paper(printed[0].png_path)  # the first: every row as an image
    for one in printed:
        assert one.ticket.undefined_graphics == one.ticket.unknown_commands == []
        assert same_dots(paper(one.png_path), reference)
    # the rows of the ticket as images, each as tall; a row ESC * would have drawn (centred
    # on the printer's own line, as text is, a line whose width the generic profile does
    # not know) is a raster padded for the profile's width, its gaps a dot or two apart
    as_images = generic_as_images(shown, tmp_path, paper_mm)
    heights = [[end - begin for begin, end in ink_rows(p)] for p in (reference, as_images)]
    assert heights[0] == heights[1]
    assert reference.width == as_images.width
    assert abs(reference.height - as_images.height) <= 12
    images = len(ticket_bytes(shown, load_profile(None, paper_mm)))
    first, *following = results
    assert first.setup_bytes == 11 and first.after_bytes > 1000
    for result in following:
        assert result.setup_bytes == 11 and result.after_bytes == 0
        assert result.bytes_sent + result.setup_bytes <= 3000 < images


def generic_as_images(ticket: TicketPrint, tmp_path: Path, paper_mm: int) -> Image.Image:
    with PrinterSimulator(tmp_path / "ref", tcp=None, pty=True, paper_mm=paper_mm) as sim:
        with open_printer(serial_url(sim, f"paper={paper_mm}&phrases=images")) as printer:
            printer.print_ticket(ticket, "as-images")
        (printed,) = sim.wait_for_tickets(1)
    return paper(printed.png_path)


def ink_rows(picture: Image.Image) -> list[tuple[int, int]]:
    """Where each band of ink begins and ends, top to bottom."""
    width, height = picture.size
    pixels = picture.load()
    inked = [any(pixels[x, y] < 128 for x in range(width)) for y in range(height)]
    return [
        (y, next((z for z in range(y, height) if not inked[z]), height))
        for y in range(height)
        if inked[y] and (y == 0 or not inked[y - 1])
    ]


def test_a_generic_printer_wrongly_told_it_keeps_graphics_still_prints_every_phrase(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """``phrases=keys`` on a printer without them: one wait for the key list, then
    images, and the paper is whole."""
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, download_graphics=False) as sim:
        url = serial_url(sim, "paper=80&phrases=keys&after_print_timeout=0.3")
        with open_printer(url) as printer:
            first = printer.print_ticket(shown, "first")
            second = printer.print_ticket(shown, "second")
        printed = sim.wait_for_tickets(2)
    assert (first.setup_bytes, second.setup_bytes) == (11, 0)
    assert first.bytes_sent == second.bytes_sent
    assert same_dots(paper(printed[0].png_path), paper(printed[1].png_path))
    assert all(one.ticket.undefined_graphics == [] for one in printed)


def test_phrases_by_key_are_refused_for_a_printer_of_graphics_only() -> None:
    with pytest.raises(InvalidDeviceURL, match="phrases=keys: the TSP100III prints graphics"):
        open_printer("tcp://127.0.0.1:9100?profile=TSP100III&phrases=keys")


def test_only_the_listed_epson_profiles_claim_download_graphics() -> None:
    assert load_profile("TM-T20II").download_graphics
    assert load_profile("TM-T88V").download_graphics
    for name in (None, "TM-T88IV", "TM-T88II", "TSP100III", "TM-P80"):
        assert not load_profile(name).download_graphics


# -- the pieces -----------------------------------------------------------------------


def test_print_and_define_commands_are_epsons_layout() -> None:
    assert print_command(b"A~") == GS + b"(L\x06\x000UA~\x01\x01"
    dot = Image.new("1", (9, 1), 1)
    dot.putpixel((0, 0), 0)
    dot.putpixel((8, 0), 0)
    assert define_command(b"k1", dot) == GS + b"(L\x0d\x000S0k1\x01\x09\x00\x01\x001\x80\x80"
    big = Image.new("1", (8192, 70), 1)  # 71,680 bytes of dots: past GS ( L's 65,535
    assert define_command(b"k1", big)[:7] == GS + b"8L" + (11 + 8192 // 8 * 70).to_bytes(
        4, "little"
    )
    for bad in (b"k", b"k\x1f", b"k\x7f", b"abc"):
        with pytest.raises(ValueError, match="key code"):
            print_command(bad)


def test_keys_are_printable_pairs_and_never_shared() -> None:
    digest = hashlib.sha256(b"phrase").digest()
    first = key_for(digest)
    assert all(32 <= b <= 126 for b in first)
    second = key_for(digest, {first})
    assert second != first and all(32 <= b <= 126 for b in second)
    last = bytes((126, 126))
    assert key_for(b"\x00" * 6 + (95 * 95 - 1).to_bytes(2, "big")) == last
    assert key_for(b"\x00" * 6 + (95 * 95 - 1).to_bytes(2, "big"), {last}) == b"  "  # wraps


@pytest.mark.parametrize(
    "reply",
    [b"", b"\x37\x73", b"\x37\x72\x40\x00", b"\x37\x73\x42\x00", b"\x37\x73\x40A\x00",
     b"\x37\x73\x40A\x1f\x00", b"\x37\x73\x40AB"],
)  # fmt: skip
def test_a_reply_that_is_not_a_key_list_is_refused(reply: bytes) -> None:
    with pytest.raises(KeyListError):
        parse_key_list_block(reply)


def test_a_key_list_block_says_its_keys_and_whether_more_follow() -> None:
    assert parse_key_list_block(b"\x37\x73\x40\x00") == (set(), False)
    assert parse_key_list_block(b"\x37\x73\x41AbC~\x00") == ({b"Ab", b"C~"}, True)


def test_a_stored_row_must_fit_the_printers_limits() -> None:
    with pytest.raises(ValueError, match="8192"):
        StoredRow(Image.new("1", (8193, 1)), b"", b"", b"")


def test_the_phrase_memory_trusts_only_what_it_defined_and_the_printer_still_holds(
    ticket: TicketPrint,
) -> None:
    rows = ticket_job(kiosk_ticket(ticket, "ar"), load_profile("TM-T20II"), stored=True).rows
    memory = PhraseMemory()
    plan = memory.plan(rows, set())
    assert not plan.cleared and plan.trusted == {} and len(plan.defining) == len(rows)
    keys, complete = memory.confirm(plan, set(plan.defining.values()))
    assert complete and len(keys) == len(rows)
    again = memory.plan(rows, set(keys.values()))
    assert again.setup == b"" and again.trusted == keys
    lost = next(iter(keys.values()))  # the printer lost one: only that one is sent again
    partly = memory.plan(rows, set(keys.values()) - {lost})
    assert list(partly.defining.values()) == [lost] and not partly.cleared
    stranger = memory.plan(rows, set(keys.values()) | {b"zz"})  # a key it never defined
    assert stranger.cleared and stranger.trusted == {} and len(stranger.defining) == len(rows)


# -- phrases held before the first visitor ----------------------------------------------


def labels_only(ticket: TicketPrint, language: str) -> TicketPrint:
    """What a kiosk can know before any visitor: its centre, the labels, the footer."""
    return dataclasses.replace(kiosk_ticket(ticket, language), service_name="")


def test_phrases_prepared_ahead_leave_the_first_ticket_only_its_service(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            held = printer.prepare_phrases([labels_only(ticket, lang) for lang in ("ur", "ar")])
            first = printer.print_ticket(shown, "first")
            following = printer.print_ticket(shown, "following")
        printed = sim.wait_for_tickets(2)
    assert held == 6  # your number, scan to follow, the footer; in Urdu and in Arabic
    assert first.setup_bytes == 11 and 11 + 9 < first.after_bytes < 1000  # the service
    assert first.bytes_sent + first.setup_bytes < 3000
    assert following.setup_bytes == 11 and following.after_bytes == 0
    assert_paper_as_images(printed, shown, tmp_path)


def test_preparing_phrases_that_do_not_all_fit_refuses_none_of_them_for_later(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """Room for one ticket's phrases but not for two languages' labels: the warm-up
    keeps what fits, and the ticket still gets its phrases by key."""
    shown = kiosk_ticket(ticket, "ur")
    rows = ticket_job(shown, load_profile("TM-T20II"), stored=True).rows
    room = sum(-(-r.picture.width // 8) * r.picture.height + 16 for r in rows)
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, download_capacity=room) as sim:
        with open_printer(serial_url(sim)) as printer:
            held = printer.prepare_phrases([labels_only(ticket, lang) for lang in ("ar", "ur")])
            printer.print_ticket(shown, "first")
            following = printer.print_ticket(shown, "following")
        printed = sim.wait_for_tickets(2)
    assert 0 < held < 6
    assert following.setup_bytes == 11
    for one in printed:
        assert same_dots(paper(one.png_path), as_images(shown, tmp_path))


def test_nothing_is_prepared_where_phrases_are_not_printed_by_key(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    tickets = [labels_only(ticket, "ur")]
    with PrinterSimulator(None, tcp=None, pty=True, keep_input=True) as sim:
        with open_printer(serial_url(sim, "paper=80")) as generic:
            assert generic.prepare_phrases(tickets) == 0
        sim.set_state("paper-out")
        with open_printer(serial_url(sim)) as out_of_paper:
            assert out_of_paper.prepare_phrases(tickets) == 0
        assert KEY_LIST not in sim.received
    with PrinterSimulator(None, tcp=None, pty=True, download_graphics=False) as sim:
        with open_printer(serial_url(sim, "profile=TM-T20II&after_print_timeout=0.2")) as p:
            assert p.prepare_phrases(tickets) == 0
    with open_printer("tcp://127.0.0.1:9", profile="TM-T20II", connect_timeout=0.2) as gone:
        assert gone.prepare_phrases(tickets) == 0  # nobody listening: no exception


class _HangsUpOnKeyList:
    """A printer on TCP that answers status as ready and hangs up at the key list
    question: a link lost while the driver is setting up, before any ticket byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.received = bytearray()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        ready = encode_status_reply(online=True, paper=PaperLevel.OK, cover_open=False)
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    self.received += data
                    if KEY_LIST in data:
                        break  # hang up
                    for n in data.split(b"\x10\x04")[1:]:
                        conn.sendall(ready[{1: 0, 2: 1, 4: 2}[n[0]]].to_bytes(1, "big"))

    def close(self) -> None:
        self.listener.close()


def test_a_link_lost_while_asking_for_keys_leaves_the_ticket_free_to_print_again(
    ticket: TicketPrint,
) -> None:
    fake = _HangsUpOnKeyList()
    try:
        with open_printer(fake.url, profile="TM-T20II") as printer:
            for _ in range(2):  # the same request again: not a duplicate, nothing went
                with pytest.raises(PrinterDisconnected) as caught:
                    printer.print_ticket(kiosk_ticket(ticket, "ur"), "visitor-1")
                assert caught.value.maybe_printed is False and caught.value.bytes_sent == 0
            assert printer.prepare_phrases([kiosk_ticket(ticket, "ar")]) == 0  # no exception
            assert printer.last_status is not None and printer.last_status.reachable is False
        assert GS + b"(L" not in fake.received.replace(KEY_LIST, b"")  # no definition went
    finally:
        fake.close()


class _HoldsKeysAndHangsUpOnClear:
    """A printer on TCP that answers status as ready, lists ``keys`` (planted by another
    program, say) at every key list question, and hangs up when told to delete them."""

    def __init__(self, keys: list[bytes]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.keys = keys
        self.connections: list[bytearray] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        ready = encode_status_reply(online=True, paper=PaperLevel.OK, cover_open=False)
        key_list = b"\x37\x73\x40" + b"".join(self.keys) + b"\x00"
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            received = bytearray()
            self.connections.append(received)
            with conn:
                while data := conn.recv(65536):
                    received += data
                    if CLEAR_ALL in data:
                        break  # hang up
                    for n in data.split(b"\x10\x04")[1:]:  # (a ticket's dots may hold one)
                        if n[:1] in (b"\x01", b"\x02", b"\x04"):
                            conn.sendall(ready[{1: 0, 2: 1, 4: 2}[n[0]]].to_bytes(1, "big"))
                    conn.sendall(key_list * data.count(KEY_LIST))

    def close(self) -> None:
        self.listener.close()


def test_a_link_lost_while_clearing_a_strangers_keys_never_trusts_them(
    ticket: TicketPrint,
) -> None:
    """The printer holds the very keys the driver wants, for other pictures. The link
    goes as the driver clears them (after the first ticket's cut): the ticket is printed,
    and the next ticket still prints those rows as images, never by the stranger's keys."""
    shown = kiosk_ticket(ticket, "ar")
    rows = ticket_job(shown, load_profile("TM-T20II"), stored=True).rows
    fake = _HoldsKeysAndHangsUpOnClear([key_for(row.digest) for row in rows])
    try:
        with open_printer(fake.url, profile="TM-T20II") as printer:
            first = printer.print_ticket(shown, "first")
            second = printer.print_ticket(shown, "second")
        today = ticket_bytes(shown, load_profile("TM-T20II"))
        assert first.bytes_sent + 2 == second.bytes_sent + 2 == len(today)
        assert len(fake.connections) >= 2  # the link was lost, and opened again
        by_key = GS + b"(L\x06\x000U"
        assert not any(by_key in received for received in fake.connections)
    finally:
        fake.close()


def test_the_simulator_says_what_it_answered_before_each_cut(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """What the kiosk waited for before its ticket (the status read, the key list) and
    what came after the cut (the status read, the key lists around the definitions)."""
    shown = kiosk_ticket(ticket, "ur")
    stored = len(ticket_job(shown, load_profile("TM-T20II"), stored=True).rows)
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            printer.print_ticket(shown, "first")
            (first,) = sim.wait_for_tickets(1)
            assert first.answered_at_cut == 3 + 4  # status; an empty key list
            assert sim.bytes_answered - first.answered_at_cut == 3 + 4 + 4 + 2 * stored
            printer.print_ticket(shown, "following")
            _, following = sim.wait_for_tickets(2)
    assert following.answered_at_cut - sim.bytes_answered == -3  # all but the last status
    assert (
        following.answered_at_cut - first.answered_at_cut
        == 3 + 4 + 4 + 2 * stored + 3 + 4 + 2 * stored
    )


# -- a power cycle between two status reads ---------------------------------------------


def test_phrases_lost_between_two_status_reads_are_given_back_before_the_next_ticket(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    """Switched off and on between two status reads, which both say ready: the next
    poll's key list finds the phrases gone and defines them again, printing nothing, so
    the next visitor's ticket prints them by key instead of carrying them as images."""
    shown = kiosk_ticket(ticket, "ur")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True, keep_input=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            first = printer.print_ticket(shown, "first")
            assert printer.keep_phrases() == len(KEY_LIST)  # all held: the question only
            held = dict(sim.download.images)
            sim.power_cycle()
            assert printer.status().answered
            sent = printer.keep_phrases(batch_bytes=600)  # several batches
            assert sim.download.images.keys() == held.keys()
            assert len(sim.tickets) == 1  # nothing printed
            after = printer.print_ticket(shown, "after")
        printed = sim.wait_for_tickets(2)
    assert first.after_bytes > 2000 and sent > 2000
    assert (after.setup_bytes, after.after_bytes) == (11, 0)
    assert after.bytes_sent < first.bytes_sent - 2000  # by key, not as images
    assert_paper_as_images(printed, shown, tmp_path)


def test_the_status_monitor_gives_the_phrases_back_after_an_unseen_power_cycle(
    tmp_path: Path, ticket: TicketPrint
) -> None:
    shown = kiosk_ticket(ticket, "ar")
    with PrinterSimulator(tmp_path / "out", tcp=None, pty=True) as sim:
        with open_printer(serial_url(sim)) as printer:
            printer.print_ticket(shown, "first")
            held = set(sim.download.images)
            sim.power_cycle()
            monitor = StatusMonitor(printer, interval=0.05).start()
            try:
                assert wait_until(lambda: set(sim.download.images) == held, 5.0)
            finally:
                monitor.stop()
            after = printer.print_ticket(shown, "after")
        printed = sim.wait_for_tickets(2)
    assert (after.setup_bytes, after.after_bytes) == (11, 0)
    assert printed[1].ticket.undefined_graphics == []
    assert same_dots(paper(printed[1].png_path), as_images(shown, tmp_path))


def test_keeping_phrases_asks_nothing_of_a_printer_that_does_not_keep_them(
    ticket: TicketPrint,
) -> None:
    with PrinterSimulator(None, tcp=None, pty=True, keep_input=True) as sim:
        with open_printer(serial_url(sim, "paper=80")) as generic:
            generic.print_ticket(kiosk_ticket(ticket, "ur"), "one")
            assert generic.keep_phrases() == 0
        with open_printer(serial_url(sim)) as epson:  # nothing held yet: nothing to ask
            epson.status()
            assert epson.keep_phrases() == 0
        sim.wait_for_tickets(1)
        assert KEY_LIST not in sim.received
