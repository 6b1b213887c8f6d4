"""The simulator's download graphics: GS ( L / GS 8 L functions 80-85, as a printer does.

Byte strings here are written out from Epson's command layout, not produced by
``device_drivers.phrases``, so the simulator and the driver are checked against each
other rather than against themselves.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from device_drivers.simulator import PrinterSimulator
from device_drivers.simulator.interpreter import (
    DownloadGraphics,
    Interpreter,
    PrintedTicket,
    Raster,
)

ESC, GS = b"\x1b", b"\x1d"
CUT = GS + b"VB\x00"
KEY_LIST = GS + b"(L\x04\x000PKC"


def picture(width: int, height: int) -> Image.Image:
    """A 1-bit picture with a diagonal and a frame: every row and column differs."""
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width - 1, height - 1], outline=0)
    draw.line([(0, 0), (width - 1, height - 1)], fill=0)
    return image


def define(key: bytes, image: Image.Image, *, large: bool = False) -> bytes:
    """Function 83 written out by hand: a=48 kc1 kc2 b=1 xL xH yL yH c=49 data."""
    rows = bytes(b ^ 0xFF for b in image.tobytes())  # PIL: white is 1; ESC/POS: ink is 1
    body = (
        (b"0S0" + key + b"\x01" + image.width.to_bytes(2, "little"))
        + image.height.to_bytes(2, "little")
        + b"1"
        + rows
    )
    if large:
        return GS + b"8L" + len(body).to_bytes(4, "little") + body
    return GS + b"(L" + len(body).to_bytes(2, "little") + body


def print_key(key: bytes, scale: bytes = b"\x01\x01") -> bytes:
    return GS + b"(L\x06\x000U" + key + scale


def run(data: bytes, memory: DownloadGraphics | None = None) -> tuple[list[PrintedTicket], bytes]:
    tickets: list[PrintedTicket] = []
    interpreter = Interpreter(tickets.append, lambda n: b"", download=memory)
    interpreter.feed(data)
    return tickets, interpreter.take_replies()


def test_a_defined_graphic_prints_by_key_dot_for_dot_and_centred() -> None:
    image = picture(21, 9)  # not a whole number of bytes wide: the row padding is dropped
    tickets, replies = run(
        ESC + b"@" + define(b"Ab", image) + ESC + b"a\x01" + print_key(b"Ab") + CUT
    )
    assert replies == b""
    (ticket,) = tickets
    (raster,) = ticket.elements
    assert isinstance(raster, Raster) and raster.align == "center"
    assert raster.image.size == (21, 9) and raster.image.tobytes() == image.tobytes()
    assert ticket.unknown_commands == ticket.undefined_graphics == []


def test_gs_8_l_defines_too_and_a_graphic_can_be_printed_twice_and_doubled() -> None:
    image = picture(16, 4)
    tickets, _ = run(
        define(b"zz", image, large=True) + print_key(b"zz") + print_key(b"zz", b"\x02\x02") + CUT
    )
    first, doubled = tickets[0].elements
    assert isinstance(first, Raster) and first.image.tobytes() == image.tobytes()
    assert isinstance(doubled, Raster) and doubled.image.size == (32, 8)


def test_the_key_list_answers_in_key_order_and_empty_when_nothing_is_defined() -> None:
    _, empty = run(KEY_LIST)
    assert empty == b"\x37\x73\x40\x00"
    _, listed = run(define(b"b!", picture(8, 1)) + define(b"A~", picture(8, 1)) + KEY_LIST)
    assert listed == b"\x37\x73\x40" + b"A~b!" + b"\x00"


def test_more_than_forty_keys_come_in_blocks_each_after_an_ack() -> None:
    keys = [bytes((0x30 + i // 10, 0x30 + i % 10)) for i in range(45)]
    memory = DownloadGraphics()
    tickets: list[PrintedTicket] = []
    interpreter = Interpreter(tickets.append, lambda n: b"", download=memory)
    interpreter.feed(b"".join(define(key, picture(8, 1)) for key in keys) + KEY_LIST)
    assert interpreter.take_replies() == b"\x37\x73\x41" + b"".join(keys[:40]) + b"\x00"
    interpreter.feed(b"\x06")  # ACK: the next block
    assert interpreter.take_replies() == b"\x37\x73\x40" + b"".join(keys[40:]) + b"\x00"
    interpreter.feed(b"\x06")  # nothing more to send
    assert interpreter.take_replies() == b""


def test_an_unknown_key_prints_nothing_and_is_noted() -> None:
    tickets, _ = run(b"x\n" + print_key(b"no") + CUT)
    (ticket,) = tickets
    assert [type(e).__name__ for e in ticket.elements] == ["TextLine"]
    assert ticket.undefined_graphics == ["no"]


def test_delete_one_delete_all_and_a_full_memory() -> None:
    memory = DownloadGraphics(capacity=2 * (4 * 10 + 16))  # two 32 x 10 graphics
    run(define(b"k1", picture(32, 10)) + define(b"k2", picture(32, 10)), memory)
    tickets, reply = run(define(b"k3", picture(32, 10)) + KEY_LIST + b"x" + CUT, memory)
    assert reply == b"\x37\x73\x40k1k2\x00" and tickets[0].refused_graphics == ["k3"]
    _, reply = run(GS + b"(L\x04\x000Rk1" + KEY_LIST, memory)  # function 82: delete k1
    assert reply == b"\x37\x73\x40k2\x00"
    _, reply = run(GS + b"(L\x05\x000QCLR" + KEY_LIST, memory)  # function 81: delete all
    assert reply == b"\x37\x73\x40\x00"


def test_a_malformed_definition_is_refused_not_stored() -> None:
    short = define(b"k1", picture(16, 2))[:-1]
    body_length = int.from_bytes(short[3:5], "little") - 1
    tickets, reply = run(short[:3] + body_length.to_bytes(2, "little") + short[5:] + KEY_LIST + CUT)
    assert reply == b"\x37\x73\x40\x00"
    (refused,) = tickets[0].unknown_commands
    assert refused.startswith("GS ( L fn 83 malformed")


def test_esc_at_keeps_download_graphics_unless_told_to_clear_them() -> None:
    image = picture(8, 2)
    tickets, _ = run(define(b"k1", image) + ESC + b"@" + print_key(b"k1") + CUT)
    assert tickets[0].undefined_graphics == []
    cleared: list[PrintedTicket] = []
    interpreter = Interpreter(cleared.append, lambda n: b"", init_clears_downloads=True)
    interpreter.feed(define(b"k1", image) + ESC + b"@" + print_key(b"k1") + CUT)
    assert cleared[0].undefined_graphics == ["k1"]


def test_a_printer_without_download_graphics_skips_them_and_stays_silent() -> None:
    tickets: list[PrintedTicket] = []
    interpreter = Interpreter(tickets.append, lambda n: b"", download_graphics=False)
    interpreter.feed(define(b"k1", picture(8, 2)) + KEY_LIST + print_key(b"k1") + b"x\n" + CUT)
    assert interpreter.take_replies() == b""
    assert tickets[0].unknown_commands == ["GS ( L fn 83", "GS ( L fn 80", "GS ( L fn 85"]


def test_a_power_cycle_loses_the_graphics_of_every_connection() -> None:
    import socket

    with PrinterSimulator(None, control=("127.0.0.1", 0)) as sim:
        assert sim.tcp_address is not None and sim.control_address is not None
        with socket.create_connection(sim.tcp_address) as link:
            link.sendall(define(b"k1", picture(8, 2)) + KEY_LIST)
            assert link.recv(16) == b"\x37\x73\x40k1\x00"
            with socket.create_connection(sim.control_address) as control:
                control.sendall(b"power-cycle\n")
                assert b'"ok": true' in control.recv(200)
            link.sendall(KEY_LIST)
            assert link.recv(16) == b"\x37\x73\x40\x00"
