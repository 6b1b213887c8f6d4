"""Printed elements -> a plain-text transcript and a PNG of the paper, for people.

The PNG is drawn at printer resolution (one pixel per dot) in a monospaced font with the
printer's 12 x 24 dot cell, scaled for double width/height the way a printer scales its
bitmap font, with the line spacing a line feed leaves under each line, so what you see
is what the roll would show.
"""

from __future__ import annotations

import functools
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from .interpreter import Element, Feed, PrintedTicket, QrCode, Raster, TextLine

CELL_W, CELL_H = 12, 24
_MONO = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
]
_MARGIN = 16


@functools.lru_cache(maxsize=4)
def _font(bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_MONO[1 if bold else 0], 20)
    except OSError:  # no DejaVu: still render, less pretty
        return ImageFont.load_default()


def _qr_image(element: QrCode) -> Image.Image:
    ec = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }[element.ec]
    code = qrcode.QRCode(error_correction=ec, box_size=max(1, element.module), border=0)
    code.add_data(element.data)
    code.make(fit=True)
    return code.make_image().get_image().convert("1")


def _line_image(line: TextLine) -> Image.Image:
    parts = []
    for seg in line.segments:
        base = Image.new("1", (CELL_W * len(seg.text), CELL_H), 1)
        ImageDraw.Draw(base).text((0, 1), seg.text, font=_font(seg.bold), fill=0)
        parts.append(base.resize((base.width * seg.width, CELL_H * seg.height)))
    height = max((p.height for p in parts), default=CELL_H)
    image = Image.new("1", (sum(p.width for p in parts) or 1, height), 1)
    x = 0
    for part in parts:
        image.paste(part, (x, height - part.height))  # baseline-aligned, as on paper
        x += part.width
    return image


def _place(width: int, item_width: int, align: str) -> int:
    if align == "center":
        return max(0, (width - item_width) // 2)
    if align == "right":
        return max(0, width - item_width)
    return 0


def render_png(ticket: PrintedTicket, width_px: int, path: Path) -> Path:
    """Draw the ticket on a white strip ``width_px`` dots wide (plus a margin)."""
    blocks: list[tuple[Image.Image, str]] = []
    for element in ticket.elements:
        if isinstance(element, TextLine):
            blocks.append((_line_image(element), element.align))
        elif isinstance(element, QrCode):
            blocks.append((_qr_image(element), element.align))
        elif isinstance(element, Raster):
            blocks.append((element.image, element.align))
        if isinstance(element, TextLine | Raster) and element.gap:
            blocks.append((Image.new("1", (1, element.gap), 1), "left"))
        elif isinstance(element, Feed):
            height = CELL_H * element.lines + element.dots
            blocks.append((Image.new("1", (1, max(1, height)), 1), "left"))
    height = sum(b.height for b, _ in blocks) + 2 * _MARGIN
    paper = Image.new("L", (width_px + 2 * _MARGIN, height), 255)
    y = _MARGIN
    for block, align in blocks:
        paper.paste(block.convert("L"), (_MARGIN + _place(width_px, block.width, align), y))
        y += block.height
    if not ticket.complete:
        ImageDraw.Draw(paper).text((_MARGIN, y - 20), "~~ PAPER RAN OUT ~~", fill=0)
    paper.save(path)
    return path


def render_text(ticket: PrintedTicket, columns: int) -> str:
    """A transcript: text centred as printed, codes and images as ``[...]`` markers."""

    def fit(text: str, align: str) -> str:
        if align == "center":
            return text.center(columns).rstrip()
        return text.rjust(columns) if align == "right" else text

    lines: list[str] = []
    for element in ticket.elements:
        if isinstance(element, TextLine):
            lines.append(fit(element.text, element.align))
        elif isinstance(element, QrCode):
            lines.append(fit(f"[QR {element.data}]", element.align))
        elif isinstance(element, Raster):
            lines.append(fit(f"[image {element.image.width}x{element.image.height}]", "center"))
        elif isinstance(element, Feed):
            lines.extend([""] * element.lines)
    lines.append("-" * columns + (" (cut)" if ticket.complete else " (PAPER RAN OUT)"))
    return "\n".join(lines) + "\n"


def element_summary(elements: list[Element]) -> list[str]:
    """A short description per element, for tests and the control channel."""
    out = []
    for e in elements:
        if isinstance(e, TextLine):
            out.append(f"text:{e.text}")
        elif isinstance(e, QrCode):
            out.append(f"qr:{e.data}")
        elif isinstance(e, Raster):
            out.append(f"image:{e.image.width}x{e.image.height}")
    return out
