"""A streaming ESC/POS interpreter: bytes in, printed elements and status replies out.

It understands what :mod:`device_drivers.layout` sends and what common drivers send
(text, ``ESC !``/``GS !`` sizes, ``ESC E`` bold, ``ESC a`` alignment, ``ESC t`` code
pages, ``GS ( k`` QR, ``GS v 0`` and ``GS ( L`` rasters, ``ESC *`` column images (part
of a print line, as on a printer), line spacing (``ESC 2``, ``ESC 3``), feeds (``ESC d``
in lines, ``ESC J`` in dots), ``GS V`` cut, ``DLE EOT`` status), and the printer's
download graphics (``GS ( L`` / ``GS 8 L`` functions 80-85: define, print by key, list
the keys, delete; see :class:`DownloadGraphics`). Unknown commands are skipped and
counted, so a test can insist on none.
Pure: a state machine with no I/O; the server feeds it and sends ``replies``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from escpos.capabilities import get_profile
from escpos.magicencode import Encoder
from PIL import Image

ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A
ACK, CAN = 0x06, 0x18
_CODE_PAGES = {int(v): k for k, v in get_profile("TM-T20II").get_code_pages().items()}


@dataclass
class Segment:
    text: str
    bold: bool
    width: int
    height: int


#: ``ESC 2``'s line spacing, in dots: 3.75 mm, the TM-T20II's (a line feed moves the
#: paper this far, or the height of the line's tallest content if that is more)
DEFAULT_LINE_SPACING = 30


@dataclass
class TextLine:
    segments: list[Segment]
    align: str
    #: blank dots a line feed left under the line (line spacing beyond its height)
    gap: int = 0

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass
class QrCode:
    data: str
    module: int
    ec: str
    align: str


@dataclass
class Raster:
    image: Image.Image  # mode "1", already scaled to printer dots
    align: str
    #: blank dots a line feed left under it (``ESC *`` images are print lines)
    gap: int = 0


@dataclass
class Feed:
    lines: int
    dots: int = 0  # ``ESC J n``: paper fed by n dots rather than by lines


Element = TextLine | QrCode | Raster | Feed


@dataclass
class PrintedTicket:
    """Everything between two cuts (or from the start to a cut)."""

    elements: list[Element] = field(default_factory=list)
    unknown_commands: list[str] = field(default_factory=list)
    # False when paper ran out (or the printer was offline) while it was printing.
    complete: bool = True
    #: key codes that ``GS ( L`` function 85 asked for and the printer did not hold: a
    #: real printer prints nothing for them, so the phrase is missing from the paper
    undefined_graphics: list[str] = field(default_factory=list)
    #: key codes whose definition (function 83) did not fit the memory left, so it was
    #: ignored, as a printer does
    refused_graphics: list[str] = field(default_factory=list)


#: bytes a definition costs beyond its dots (its key, size and colour): an assumption,
#: Epson counts "control information" in the capacity used without saying how much
DOWNLOAD_OVERHEAD = 16
#: the simulator's download graphics memory in bytes, an assumption too (the references
#: seen do not give the TM-T20II's); ``PrinterSimulator(download_capacity=...)``
DEFAULT_DOWNLOAD_CAPACITY = 16 * 1024


class DownloadGraphics:
    """A printer's download graphics memory: images by two-byte key code, in RAM.

    Shared by every connection to one printer; :meth:`clear` is what a power cycle does.
    A definition that does not fit what is left is ignored: the printer has no way to
    say so but its key list, which then lacks the key.
    """

    def __init__(self, capacity: int = DEFAULT_DOWNLOAD_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("download graphics capacity cannot be negative")
        self.capacity = capacity
        self.images: dict[bytes, Image.Image] = {}

    @staticmethod
    def cost(image: Image.Image) -> int:
        return -(-image.width // 8) * image.height + DOWNLOAD_OVERHEAD

    @property
    def remaining(self) -> int:
        return self.capacity - sum(self.cost(image) for image in self.images.values())

    def define(self, key: bytes, image: Image.Image) -> bool:
        """Store ``image`` under ``key``, replacing what was there; False if no room."""
        old = self.images.pop(key, None)
        if self.cost(image) > self.remaining:
            if old is not None:
                self.images[key] = old
            return False
        self.images[key] = image
        return True

    def delete(self, key: bytes) -> None:
        self.images.pop(key, None)

    def clear(self) -> None:
        self.images.clear()


class Interpreter:
    """Feed bytes with :meth:`feed`; finished tickets go to ``on_ticket``.

    ``status_reply(n)`` returns the byte(s) to answer ``DLE EOT n`` with, or ``b""`` to
    stay silent; ``can_print()`` is asked before each element is put on paper.
    """

    def __init__(
        self,
        on_ticket: Callable[[PrintedTicket], None],
        status_reply: Callable[[int], bytes],
        can_print: Callable[[], bool] = lambda: True,
        download: DownloadGraphics | None = None,
        *,
        init_clears_downloads: bool = False,
        download_graphics: bool = True,
    ) -> None:
        self._on_ticket = on_ticket
        self._status_reply = status_reply
        self._can_print = can_print
        #: the printer's download graphics (shared with its other connections)
        self.download = download if download is not None else DownloadGraphics()
        # Whether ESC @ also forgets download graphics: references can be read both ways,
        # so the simulator can play either printer and the driver must cope with both.
        self._init_clears_downloads = init_clears_downloads
        # False: a printer without functions 80-85, which skips them and says nothing
        self._download_graphics = download_graphics
        # key list blocks still to send, each after the host's ACK (function 80)
        self._key_blocks: list[bytes] = []
        self._buffer = bytearray()
        self.replies = bytearray()
        self.ticket = PrintedTicket()
        self._qr = {"data": "", "module": 3, "ec": "L"}
        self._graphics = b""
        self._reset()

    def _reset(self) -> None:
        self.bold = False
        self.width = self.height = 1
        self.align = "left"
        self.code_page = "CP437"
        self.line_spacing = DEFAULT_LINE_SPACING
        self._line: list[Segment] = []
        self._line_images: list[Image.Image] = []

    def power_on(self) -> None:
        """What switching the printer off and on does to this link's side of it: the
        half-received command, the line being built and every mode are gone."""
        self._buffer.clear()
        self._key_blocks.clear()
        self._graphics = b""
        self._reset()

    # -- input ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Consume bytes; commands split across calls are completed by later calls."""
        self._buffer += data
        while self._buffer:
            used = self._step(bytes(self._buffer))
            if used == 0:
                break  # incomplete command: wait for more bytes
            del self._buffer[:used]

    def take_replies(self) -> bytes:
        replies, self.replies = bytes(self.replies), bytearray()
        return replies

    # -- output --------------------------------------------------------------------

    def _emit(self, element: Element) -> None:
        if self._can_print():
            self.ticket.elements.append(element)
        else:
            self.ticket.complete = False

    def _newline(self) -> None:
        if self._line or self._line_images:
            self._end_line(fed=True)
        else:
            self._emit(Feed(1))

    def _end_line(self, *, fed: bool = False) -> None:
        """Put the pending print line on paper: its text, or its ``ESC *`` images; ``fed``
        when a line feed ended it, which moves the paper by the line spacing."""
        if self._line_images:
            if self._line:
                self.ticket.unknown_commands.append("ESC * on a line with text")
            images = self._line_images
            band = Image.new("1", (sum(i.width for i in images), max(i.height for i in images)), 1)
            x = 0
            for image in images:
                band.paste(image, (x, 0))
                x += image.width
            gap = self.line_spacing - band.height if fed else 0
            self._emit(Raster(band, self.align, gap=max(0, gap)))
        elif self._line:
            height = 24 * max(segment.height for segment in self._line)
            gap = self.line_spacing - height if fed else 0
            self._emit(TextLine(self._line, self.align, gap=max(0, gap)))
        self._line = []
        self._line_images = []

    def _text(self, raw: bytes) -> None:
        chars = Encoder._get_codepage_char_list(self.code_page)
        text = "".join(chr(b) if b < 128 else chars[b - 128] for b in raw)
        last = self._line[-1] if self._line else None
        if last and (last.bold, last.width, last.height) == (self.bold, self.width, self.height):
            last.text += text
        else:
            self._line.append(Segment(text, self.bold, self.width, self.height))

    def _cut(self) -> None:
        self._end_line()
        ticket, self.ticket = self.ticket, PrintedTicket()
        self._on_ticket(ticket)

    # -- the command table -----------------------------------------------------------

    def _step(self, buf: bytes) -> int:
        """Handle the command at the start of ``buf``; return bytes used (0 = need more)."""
        first = buf[0]
        if first >= 0x20:
            end = next((i for i, b in enumerate(buf) if b < 0x20), len(buf))
            self._text(buf[:end])
            return end
        if first == LF:
            self._newline()
            return 1
        if first == ESC:
            return self._esc(buf)
        if first == GS:
            return self._gs(buf)
        if first == DLE:
            return self._dle(buf)
        if first == ACK and self._key_blocks:  # the host wants the next block of keys
            self.replies += self._key_blocks.pop(0)
        elif first == CAN:  # the host wants no more blocks
            self._key_blocks.clear()
        return 1  # CR, HT and other controls print nothing here

    def _esc(self, buf: bytes) -> int:
        if len(buf) < 2:
            return 0
        cmd = buf[1]
        if cmd == ord("@"):
            self._reset()
            if self._init_clears_downloads:
                self.download.clear()
            return 2
        if cmd == ord("2"):  # default line spacing: no argument
            self.line_spacing = DEFAULT_LINE_SPACING
            return 2
        one_arg = {ord(c) for c in "EGa!t-M3JdVp{ "}
        if cmd in one_arg:
            if len(buf) < 3:
                return 0
            n = buf[2]
            if cmd in (ord("E"), ord("G")):
                self.bold = bool(n & 1)
            elif cmd == ord("a"):
                self.align = ("left", "center", "right")[(n - 48 if n >= 48 else n) % 3]
            elif cmd == ord("!"):
                self.bold = bool(n & 0x08)
                self.height = 2 if n & 0x10 else 1
                self.width = 2 if n & 0x20 else 1
            elif cmd == ord("t"):
                self.code_page = _CODE_PAGES.get(n, "CP437")
            elif cmd == ord("d"):
                if self._line or self._line_images:
                    self._newline()
                    n -= 1
                for _ in range(max(0, n)):
                    self._newline()
            elif cmd == ord("J"):  # print the line, if any, and feed n dots
                self._end_line()
                self._emit(Feed(0, dots=n))
            elif cmd == ord("3"):
                self.line_spacing = n
            elif cmd == ord("p"):
                return 5 if len(buf) >= 5 else 0  # drawer kick: m t1 t2
            return 3
        if cmd == ord("*"):  # column bit image: part of the current print line
            if len(buf) < 5:
                return 0
            mode, columns = buf[2], buf[3] | buf[4] << 8
            rows = 24 if mode in (32, 33) else 8
            size = 5 + columns * rows // 8
            if len(buf) < size:
                return 0
            self._column_image(buf[5:size], mode, columns, rows)
            return size
        self.ticket.unknown_commands.append(f"ESC {cmd:#04x}")
        return 2

    def _gs(self, buf: bytes) -> int:
        if len(buf) < 2:
            return 0
        cmd = buf[1]
        if cmd == ord("!"):
            if len(buf) < 3:
                return 0
            self.width, self.height = (buf[2] >> 4) + 1, (buf[2] & 0x0F) + 1
            return 3
        if cmd == ord("V"):
            if len(buf) < 3:
                return 0
            size = 4 if buf[2] in (65, 66, 97, 98, 103, 104) else 3
            if len(buf) < size:
                return 0
            self._cut()
            return size
        if cmd == ord("(") and len(buf) >= 5:
            size = 5 + (buf[3] | buf[4] << 8)
            if len(buf) < size:
                return 0
            body = buf[5:size]
            if buf[2] == ord("k"):
                self._two_d_code(body)
            elif buf[2] == ord("L"):
                self._graphics_cmd(body)
            else:
                self.ticket.unknown_commands.append(f"GS ( {chr(buf[2])}")
            return size
        if cmd == ord("8") and len(buf) >= 7:  # GS 8 L: GS ( L with a 4-byte length
            size = 7 + int.from_bytes(buf[3:7], "little")
            if len(buf) < size:
                return 0
            if buf[2] == ord("L"):
                self._graphics_cmd(buf[7:size])
            else:
                self.ticket.unknown_commands.append(f"GS 8 {chr(buf[2])}")
            return size
        if cmd in (ord("("), ord("v"), ord("8")):
            if cmd == ord("v") and len(buf) >= 8:
                width_bytes, height = buf[4] | buf[5] << 8, buf[6] | buf[7] << 8
                size = 8 + width_bytes * height
                if len(buf) < size:
                    return 0
                self._raster(buf[8:size], width_bytes * 8, height, buf[3] & 1, buf[3] & 2)
                return size
            return 0
        if cmd in (ord("B"), ord("a"), ord("r"), ord("I"), ord("f"), ord("h"), ord("w")):
            return 3 if len(buf) >= 3 else 0
        self.ticket.unknown_commands.append(f"GS {cmd:#04x}")
        return 2

    def _dle(self, buf: bytes) -> int:
        if len(buf) < 3:
            return 0
        if buf[1] == 0x04:  # DLE EOT n: real-time status
            self.replies += self._status_reply(buf[2])
            return 3
        if buf[1] == 0x14:  # DLE DC4 fn m t: real-time request, nothing to print
            return 5 if len(buf) >= 5 else 0
        return 3  # DLE ENQ n

    # -- images and codes ------------------------------------------------------------

    def _two_d_code(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != ord("1"):
            self.ticket.unknown_commands.append("GS ( k (not QR)")
            return
        fn, args = body[1], body[2:]
        if fn == 67 and args:
            self._qr["module"] = args[0]
        elif fn == 69 and args:
            self._qr["ec"] = "LMQH"[(args[0] - 48) % 4]
        elif fn == 80:
            self._qr["data"] = args[1:].decode("utf-8", "replace")
        elif fn == 81:
            self._end_line()
            qr = self._qr
            self._emit(QrCode(str(qr["data"]), int(qr["module"]), str(qr["ec"]), self.align))

    def _raster(self, data: bytes, width: int, height: int, wide: int, tall: int) -> None:
        image = Image.frombytes("1", (width, height), bytes(b ^ 0xFF for b in data))
        if wide or tall:
            image = image.resize((width * (2 if wide else 1), height * (2 if tall else 1)))
        self._end_line()
        self._emit(Raster(image, self.align))

    def _column_image(self, data: bytes, mode: int, columns: int, rows: int) -> None:
        """``ESC * m``: ``rows`` dots a column, top dot in the first byte's high bit;
        modes 0 and 32 are single density across, each column printed two dots wide."""
        turned = Image.frombytes("1", (rows, columns), bytes(b ^ 0xFF for b in data))
        image = turned.transpose(Image.Transpose.TRANSPOSE)
        if mode in (0, 32):
            image = image.resize((columns * 2, rows))
        self._line_images.append(image)

    def _graphics_cmd(self, body: bytes) -> None:
        """``GS ( L`` / ``GS 8 L``: ``body`` is ``m fn [parameters]``."""
        fn = body[1] if len(body) >= 2 and body[0] in (0, 48) else None
        if fn == 112 and len(body) >= 10:  # store a raster in the print buffer
            self._graphics = body
        elif fn == 50 and self._graphics:  # print the print buffer's raster
            g = self._graphics
            width, height = g[6] | g[7] << 8, g[8] | g[9] << 8
            self._raster(g[10:], (width + 7) // 8 * 8, height, g[3] == 2, g[4] == 2)
            self._graphics = b""
        elif fn in (80, 81, 82, 83, 85) and not self._download_graphics:
            self.ticket.unknown_commands.append(f"GS ( L fn {fn}")
        elif fn == 80 and body[2:] == b"KC":
            self._send_key_list()
        elif fn == 81 and body[2:] == b"CLR":
            self.download.clear()
        elif fn == 82 and len(body) == 4:
            self.download.delete(body[2:4])
        elif fn == 83 and len(body) >= 12:
            self._define_download(body)
        elif fn == 85 and len(body) == 6:
            self._print_download(body[2:4], body[4], body[5])
        else:
            self.ticket.unknown_commands.append(f"GS ( L fn {fn} ({len(body)} bytes)")

    def _send_key_list(self) -> None:
        """Function 80's answer: ``37h 73h`` status, key codes, ``NUL``; 40 keys a block,
        status ``41h`` when more follow (each after the host's ``ACK``), ``40h`` last."""
        keys = sorted(self.download.images)
        chunks = [keys[i : i + 40] for i in range(0, len(keys), 40)] or [[]]
        blocks = [
            b"\x37\x73" + (b"\x41" if i < len(chunks) - 1 else b"\x40") + b"".join(c) + b"\x00"
            for i, c in enumerate(chunks)
        ]
        self.replies += blocks[0]
        self._key_blocks = blocks[1:]

    def _define_download(self, body: bytes) -> None:
        """Function 83, ``m fn a kc1 kc2 b xL xH yL yH c d...``: monochrome raster only."""
        tone, key, colours = body[2], body[3:5], body[5]
        width, height = body[6] | body[7] << 8, body[8] | body[9] << 8
        colour, data = body[10], body[11:]
        if (
            tone != 48
            or colours != 1
            or colour != 49
            or not all(32 <= k <= 126 for k in key)
            or not (1 <= width <= 8192 and 1 <= height <= 2304)
            or len(data) != (width + 7) // 8 * height
        ):
            self.ticket.unknown_commands.append(f"GS ( L fn 83 malformed ({len(body)} bytes)")
            return
        whole = Image.frombytes("1", ((width + 7) // 8 * 8, height), bytes(b ^ 0xFF for b in data))
        if not self.download.define(key, whole.crop((0, 0, width, height))):
            self.ticket.refused_graphics.append(key.decode("ascii"))

    def _print_download(self, key: bytes, wide: int, tall: int) -> None:
        """Function 85: the graphic stored under ``key``, scaled 1 or 2 times each way, on
        a line of its own and placed by ``ESC a`` as a raster is (an assumption, as for
        ``GS v 0``: docs/performance.md, section 3). An unknown key prints nothing."""
        self._end_line()
        image = self.download.images.get(key)
        if image is None or wide not in (1, 2) or tall not in (1, 2):
            self.ticket.undefined_graphics.append(key.decode("ascii", "replace"))
            return
        if (wide, tall) != (1, 1):
            image = image.resize((image.width * wide, image.height * tall))
        self._emit(Raster(image, self.align))
