"""Ticket -> ESC/POS bytes. Pure: no device, no clock, same input gives the same bytes.

python-escpos's ``Dummy`` printer does the encoding (code pages, ``GS ( k`` QR, raster
images); this module decides what goes where. Text goes as text wherever the printer's
code pages can hold it, because a line of text costs ~1 byte per character and the same
line as an image hundreds of bytes. What it cannot hold (right-to-left scripts, ŵ) goes
as images, row by row of a wrapped paragraph, so the paragraph's other rows stay text:
1-bit, at the printer's full dot density, cropped to the ink (a blank dot costs as much
on the wire as a black one) and centred: each row goes as whichever is fewer bytes, a
``GS v 0`` raster (centred by ``ESC a`` on Epson printers, padded on the left only as
far as centring needs on the others) or ``ESC *`` 24-dot bands, which are content of
the print line that ``ESC a`` centres as it centres text (docs/printing.md says on what
evidence). A right-to-left line with digits in it ("آپ سے پہلے لوگ: 4") stays one image:
cutting out the digits would need the bidi order re-done across a text/image boundary,
for a few bytes.

Fixed phrases (the labels, the service, the footer: the same on every ticket) can be left
open as :class:`~device_drivers.phrases.StoredRow` rows (:func:`ticket_job`), for a printer
that keeps them as download graphics and prints them by key (:mod:`device_drivers.phrases`);
:func:`ticket_bytes` is the same job with every row sent as its picture.

Byte budget: a full 80 mm English ticket with a native QR is under 300 bytes (see
docs/performance.md, section 3), which is why sizes are set with ``GS !`` and bold with
``ESC E`` only when they change, and the QR uses the printer's defaults where they match.
"""

from __future__ import annotations

import contextlib
import io
import textwrap
import unicodedata
from datetime import datetime
from typing import Literal

import qrcode
from babel.dates import format_date, format_time, get_datetime_format
from escpos.constants import QR_ECLEVEL_M
from escpos.image import EscposImage
from escpos.magicencode import Encoder
from escpos.printer import Dummy
from PIL import Image

from catalogues import cldr_locale, primary_language

from .errors import LayoutError
from .phrases import StoredRow, TicketJob
from .profiles import PrinterProfile, load_profile
from .textimage import has_rtl, render_ink, wrap_to_width
from .ticket import TicketPrint
from .translations import labels_for

QrMode = Literal["auto", "native", "raster"]
# When the visitor's date cannot be printed as text (its script is not in the printer's
# code pages: Urdu, Arabic): digits only, day first, which read the same in every
# language and cost ~17 bytes where a drawn date costs hundreds (and seconds at 9600 baud)
_DIGITS_DATE_FORMAT = "%d/%m/%Y %H:%M"
_MAX_QR_PAYLOAD = 300  # bytes; longer URLs make modules too small to scan on 58 mm
# Romanian comma-below letters are in no printer code page; the cedilla forms are in
# CP852 and are what Romanian readers already see on receipts. Used only when needed.
_LEGACY_FORMS = str.maketrans("șțȘȚ", "şţŞŢ")
# Around a cropped text image, feed this many dots (ESC J n, 3 bytes) instead of sending
# blank rows: about the gap a native text line leaves between its letters and the next.
_IMAGE_GAP = b"\x1bJ\x06"
#: where a row padded to centre it is printed (``ESC a 0``), and the ticket's centring after it
_ALIGN_LEFT, _ALIGN_CENTRE = b"\x1ba\x00", b"\x1ba\x01"


def _all_left_to_right(text: str) -> bool:
    """Every character a left-to-right letter (or a space): the row's order is fixed."""
    return all(ch.isspace() or unicodedata.bidirectional(ch) == "L" for ch in text)


class _TicketWriter:
    """Wraps a ``Dummy`` and remembers bold/size so each change is sent once."""

    def __init__(self, profile: PrinterProfile, language: str, *, stored: bool = False) -> None:
        # After ESC @ the printer is on code page 0 (CP437); telling MagicEncode so saves
        # the 3-byte ESC t 0 it would otherwise send before the first letter.
        self.out = Dummy(profile=profile.escpos_name, magic_encode_args={"encoding": "CP437"})
        self.profile = profile
        self.language = language
        self._encoder = Encoder(profile.escpos_profile.get_code_pages())
        self._bold = False
        self._size = 1
        # fixed phrases' drawn rows become StoredRows (not on a graphics-only printer,
        # which has no download graphics)
        self._stored = stored and not profile.graphics_only
        self._parts: list[bytes | StoredRow] = []

    def job(self) -> TicketJob:
        """Everything written so far, after ``ESC @``."""
        self._flush()
        return TicketJob(tuple(self._parts))

    def _flush(self) -> None:
        if self.out.output:
            self._parts.append(self.out.output)
            self.out.clear()

    def can_print_as_text(self, text: str) -> bool:
        return self._as_text(text) is not None

    def _as_text(self, text: str) -> str | None:
        """The text in a form the printer's code pages hold, or None if there is none."""
        if self.profile.graphics_only or has_rtl(text):
            return None
        for candidate in (text, text.translate(_LEGACY_FORMS)):
            if all(
                ord(ch) < 128 or self._encoder.find_suitable_encoding(ch) is not None
                for ch in candidate
            ):
                return candidate
        return None

    def style(self, *, bold: bool = False, size: int = 1) -> None:
        if bold != self._bold:
            self.out.set(bold=bold)
            self._bold = bold
        if size != self._size:
            self.out.set(custom_size=True, width=size, height=size)
            self._size = size

    def line(self, text: str, *, bold: bool = False, size: int = 1, fixed: bool = False) -> None:
        """A centred paragraph, wrapped to the paper.

        As text if the printer's code pages hold it all; else wrapped by the image font's
        measure, each row that they do hold (and that reads left to right) still text and
        only the other rows images. ``fixed``: the same words on every ticket, so its
        image rows may be stored in the printer (see :func:`ticket_job`).
        """
        if not text:
            return
        printable = self._as_text(text)
        if printable is not None:
            self._text_rows(printable, bold=bold, size=size)
            return
        # Font A is 24 dots high; an image line of the same height keeps the look.
        px = 24 * size
        rtl = has_rtl(text)
        for row in wrap_to_width(
            text, width_px=self.profile.width_px, size=px, bold=bold, language=self.language
        ):
            # In a right-to-left paragraph only a row of Latin words (no digits or
            # punctuation, whose place the bidi algorithm decides) reads the same as text.
            native = None if rtl and not _all_left_to_right(row) else self._as_text(row)
            if native is not None:
                self._text_rows(native, bold=bold, size=size)
                continue
            ink = render_ink(row, size=px, bold=bold, language=self.language)
            if ink is None:
                continue
            if fixed and self._stored:
                self._flush()
                self._parts.append(self._stored_row(ink))
            else:
                self.text_image(ink)

    def _text_rows(self, printable: str, *, bold: bool, size: int) -> None:
        self.style(bold=bold, size=size)
        for row in textwrap.wrap(printable, self.profile.columns // size) or [""]:
            self.out.text(row + "\n")

    def text_image(self, ink: Image.Image) -> None:
        """One row of drawn text (cropped to its ink), centred, in whichever of two forms
        is fewer bytes: a raster (``GS v 0``) with an ``ESC J`` gap above and below, or
        24-dot bands of column bit image (``ESC *``) ended by a line feed, whose line
        spacing makes the gap. ``ESC *`` data is part of the print line, as characters
        are, so ``ESC a`` centres it even on printers that leave rasters at the left
        margin (those get the raster padded on the left instead: see
        :meth:`centred_image`). A row up to 24 dots tall is one band: on a printer that
        may not centre rasters it is usually the cheaper form, on one that does the
        raster usually is. Graphics-only printers have no ``ESC a``: raster only.
        """
        raster = self._raster_job(ink, self.profile.width_px, gap=_IMAGE_GAP)
        if not self.profile.graphics_only:
            columns = column_image(ink)
            if len(columns) < len(raster):
                self.out._raw(columns)
                return
        self.out._raw(raster)

    def _stored_row(self, ink: Image.Image) -> StoredRow:
        """The row :meth:`text_image` would send, with the picture it leaves on paper
        (a printer that centres rasters: the raster widened to whole bytes, or the
        ``ESC *`` bands, blank rows and all) and the gaps around it.

        On a printer that may not centre rasters (the generic profile, whose owner said
        it keeps download graphics: ``phrases=keys``) the row is always the raster
        padded on the left to centre it on the profile's width, as :meth:`text_image`
        pads its rasters, printed at the left margin (``ESC a 0``, then ``ESC a 1``
        again) as an image and by key alike: the same dots either way, whether or not
        the printer would centre a graphic. Not ``ESC *``, which such a printer centres
        on its own line, whose width the profile does not know (a 576-dot printer puts
        it 32 dots right of a 512-dot raster's place)."""
        raster = self._raster_job(ink, self.profile.width_px, gap=_IMAGE_GAP)
        if not self.profile.centres_images:
            pad = max(0, (self.profile.width_px - ink.width) // 2)
            picture = Image.new("1", (-(-(pad + ink.width) // 8) * 8, ink.height), 1)
            picture.paste(ink, (pad, 0))
            return StoredRow(
                picture,
                raster,
                above=_IMAGE_GAP + _ALIGN_LEFT,
                below=_ALIGN_CENTRE + _IMAGE_GAP,
            )
        columns = column_image(ink)
        if len(columns) < len(raster):
            bands = -(-ink.height // 24)
            picture = Image.new("1", (ink.width, 24 * bands), 1)
            top = (24 - ink.height) // 2 if bands == 1 else 0  # as column_image places it
            picture.paste(ink, (0, top))
            # the band's line feed leaves the line spacing (ESC 2, 30 dots) less 24
            return StoredRow(picture, columns, above=b"", below=_IMAGE_GAP)
        width = -(-ink.width // 8) * 8
        picture = Image.new("1", (width, ink.height), 1)
        picture.paste(ink, ((width - ink.width) // 2, 0))
        return StoredRow(picture, raster, above=_IMAGE_GAP, below=_IMAGE_GAP)

    def centred_image(self, image: Image.Image, paper_px: int, *, double: bool = False) -> None:
        """``image`` centred on ``paper_px`` (image) dots, sent in whole bytes per row.

        A printer that centres images gets the image itself under ``ESC a 1``, widened to
        the next multiple of 8 with the slack split both sides. Any other gets blank
        columns on the left up to where centring would put it (never on the right), sent
        left-aligned: then a printer that honours ``ESC a`` after all prints it in the
        same place as one that does not.
        """
        self.out._raw(self._raster_job(image, paper_px, double=double))

    def _raster_job(
        self, image: Image.Image, paper_px: int, *, double: bool = False, gap: bytes = b""
    ) -> bytes:
        """The bytes of :meth:`centred_image`, with ``gap`` before and after; the
        alignment is ``ESC a 1`` again at the end, as every line of the ticket expects."""
        if self.profile.centres_images:
            width = -(-image.width // 8) * 8
            left = (width - image.width) // 2
        else:
            left = max(0, (paper_px - image.width) // 2)
            width = -(-(left + image.width) // 8) * 8
        if width != image.width:
            canvas = Image.new("1", (width, image.height), 1)
            canvas.paste(image, (left, 0))
            image = canvas
        job = Dummy(profile=self.profile.escpos_name)
        job._raw(gap)
        if not self.profile.centres_images:
            job.set(align="left")
        # GS v 0: the smallest raster command every profile with images has (an 8-byte
        # header, 1 bit per dot; GS ( L adds 14 more header bytes per image, and
        # python-escpos's capability data lists no printer with a compressed raster).
        # It print()s a warning to stdout for profiles without a width; our images fit
        # the paper already, and a kiosk's stdout is not for chatter.
        with contextlib.redirect_stdout(io.StringIO()):
            job.image(
                image,
                impl="bitImageRaster",
                high_density_horizontal=not double,
                high_density_vertical=not double,
            )
        if not self.profile.centres_images:
            job.set(align="center")
        job._raw(gap)
        return bytes(job.output)

    def qr(self, payload: str, *, native: bool, module_px: int) -> None:
        if len(payload.encode()) > _MAX_QR_PAYLOAD:
            raise LayoutError(f"QR payload is {len(payload)} bytes; at most {_MAX_QR_PAYLOAD}")
        self.out.text("\n")  # a quiet zone above the code, or scanners misread it
        if native:
            self.out.qr(payload, native=True, size=module_px, ec=QR_ECLEVEL_M)
            self.out.text("\n")
            return
        # Raster QR at half resolution, printed at double width and height (GS v 0 m=3):
        # the modules are blocks anyway, and a quarter of the pixels is a quarter of the
        # transmit time, which at 9600 baud is seconds.
        half_module = max(1, module_px // 2)
        code = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=half_module, border=2
        )
        code.add_data(payload)
        code.make(fit=True)
        matrix = code.make_image().get_image().convert("1")
        half_width = self.profile.width_px // 2
        if matrix.width > half_width:
            raise LayoutError(
                f"QR is {matrix.width * 2} dots wide; paper is {self.profile.width_px}"
            )
        self.centred_image(matrix, half_width, double=True)

    def cut(self) -> None:
        self.style()
        if self.profile.can_cut:
            # GS V B 0: feed to the cutter and cut, in 4 bytes, without extra blank paper.
            self.out.cut(feed=False)
        else:
            self.out.print_and_feed(4)  # tear-off printers: move the last line past the bar


def column_image(image: Image.Image) -> bytes:
    """``image`` (1-bit, black = ink) as ``ESC *`` 24-dot double-density bands (203 x
    203 dpi on a 203 dpi printer, 3 bytes per column of a band), each ended by a line
    feed; 5 header bytes per band. Taller than one band: line spacing ``ESC 3 16``
    while the bands print, so they touch (a line feeds at least its tallest content, as
    python-escpos and escpos-php rely on), and ``ESC 2`` (the default) before the last
    band's feed. A lone band is placed at the band's vertical middle.
    """
    bands = -(-image.height // 24)
    if bands == 1 and image.height < 24:
        canvas = Image.new("1", (image.width, 24), 1)
        canvas.paste(image, (0, (24 - image.height) // 2))
        image = canvas
    header = b"\x1b*\x21" + image.width.to_bytes(2, "little")
    blobs = list(EscposImage(image).to_column_format(high_density_vertical=True))
    if bands == 1:
        return header + blobs[0] + b"\n"
    middle = b"".join(header + blob + b"\n" for blob in blobs[:-1])
    return b"\x1b3\x10" + middle + b"\x1b2" + header + blobs[-1] + b"\n"


def clock(moment: datetime, language: str) -> str:
    """A time of day as the ticket's language writes it on a 24-hour clock, as the
    status page shows it ("14:30")."""
    return format_time(moment, "HH:mm", locale=cldr_locale(primary_language(language)))


def issued_line(ticket: TicketPrint, w: _TicketWriter) -> str:
    """When the ticket was issued, in the visitor's language through CLDR ("6 Dec 2026,
    09:05", "6 gru 2026, 09:05", "6 Rhag 2026 09:05"), where the printer can print those
    words as text; otherwise day/month/year in digits (see ``_DIGITS_DATE_FORMAT``)."""
    locale = cldr_locale(primary_language(ticket.language))
    when = ticket.issued_at
    words = (
        get_datetime_format("medium", locale=locale)
        .replace("{1}", format_date(when, "medium", locale=locale))
        .replace("{0}", format_time(when, "HH:mm", locale=locale))
    )
    return words if w.can_print_as_text(words) else when.strftime(_DIGITS_DATE_FORMAT)


def ticket_bytes(
    ticket: TicketPrint,
    profile: PrinterProfile | None = None,
    *,
    qr_mode: QrMode = "auto",
) -> bytes:
    """The complete print job for one ticket, from ``ESC @`` to the cut, every drawn
    row sent as its picture.

    ``qr_mode="auto"`` uses the printer's native QR when the profile has one and a raster
    image otherwise; ``"native"`` on a profile without QR raises :class:`LayoutError`.
    Raises :class:`LayoutError` for payloads that cannot be printed.
    """
    return ticket_job(ticket, profile, qr_mode=qr_mode).as_images()


def ticket_job(
    ticket: TicketPrint,
    profile: PrinterProfile | None = None,
    *,
    qr_mode: QrMode = "auto",
    stored: bool = False,
) -> TicketJob:
    """The ticket's print job after ``ESC @``. With ``stored`` (and a profile whose
    printer centres rasters), the drawn rows of the phrases that are the same on every
    ticket (labels, centre, service, footer) are :class:`StoredRow` rows, to be printed
    by key from the printer's download graphics; the rest is as :func:`ticket_bytes`.
    Raises as :func:`ticket_bytes` does.
    """
    profile = profile or load_profile()
    if qr_mode == "native" and not profile.native_qr:
        raise LayoutError(f"profile {profile.name} has no native QR; use qr=raster or auto")
    native = profile.native_qr if qr_mode == "auto" else qr_mode == "native"
    narrow = profile.width_px < 500
    labels = labels_for(ticket.language)
    w = _TicketWriter(profile, ticket.language, stored=stored)

    w.out.set(align="center")
    if ticket.reprint:
        w.line(labels.reprint, bold=True, size=2, fixed=True)
    w.line(ticket.centre_name, bold=True, fixed=True)
    w.line(labels.your_number, fixed=True)
    w.line(ticket.ticket_number, bold=True, size=3 if narrow else 4)
    w.line(ticket.service_name, bold=True, fixed=True)
    if ticket.appointment_at is not None:
        when = clock(ticket.appointment_at, ticket.language)
        w.line(labels.appointment.format(time=when), bold=True)
    w.line(issued_line(ticket, w))
    if ticket.estimate_unavailable:
        w.line(labels.estimate_unavailable, fixed=True)
    elif ticket.people_ahead is not None:
        w.line(labels.people_ahead.format(n=ticket.people_ahead))
    if ticket.estimated_wait_minutes is not None and ticket.estimated_wait_range is not None:
        low, high = ticket.estimated_wait_range
        w.line(labels.estimated_wait_range.format(low=low, high=high))
    elif ticket.estimated_wait_minutes is not None:
        w.line(labels.estimated_wait.format(n=ticket.estimated_wait_minutes))
    w.style()
    w.qr(ticket.status_url, native=native, module_px=5 if narrow else 6)
    w.line(labels.scan_for_status, fixed=True)
    if ticket.online_url:
        w.out.text("\n")
        w.line(labels.online_too, bold=True, fixed=True)
        w.style()
        w.qr(ticket.online_url, native=native, module_px=4 if narrow else 5)
    w.line(ticket.footer, fixed=True)
    if ticket.reprint:  # top and bottom: whichever end a torn-off ticket keeps
        w.line(labels.reprint, bold=True, size=2, fixed=True)
    w.cut()
    return w.job()
