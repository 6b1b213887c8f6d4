"""Text the printer cannot print itself -> a 1-bit image, with proper shaping.

Used for right-to-left scripts (Urdu, Arabic: the printer has no shaping or bidi) and for
characters no code page of the profile holds (Welsh ŵ/ŷ, Romanian ș/ț on most printers).

Shaping uses Pillow's libraqm layout when Pillow has it (Debian ``libraqm0``); otherwise
``arabic-reshaper`` + ``python-bidi`` if installed. Fonts are Debian's ``fonts-noto-core``
(Naskh Arabic, Nastaliq Urdu) and ``fonts-dejavu-core``; ``WALKIN_FONT_DIR`` adds a folder.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, features

_FONT_DIRS = [
    Path(os.environ.get("WALKIN_FONT_DIR", "/nonexistent")),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/opentype/noto"),
]
_FONTS = {
    # (script, bold) -> candidates, best first
    ("arabic", False): ["NotoNaskhArabic-Regular.ttf", "NotoSansArabic-Regular.ttf"],
    ("arabic", True): ["NotoNaskhArabic-Bold.ttf", "NotoSansArabic-Bold.ttf"],
    ("urdu", False): ["NotoNastaliqUrdu-Regular.ttf", "NotoNaskhArabic-Regular.ttf"],
    ("urdu", True): ["NotoNastaliqUrdu-Bold.ttf", "NotoNaskhArabic-Bold.ttf"],
    ("latin", False): ["DejaVuSans.ttf", "NotoSans-Regular.ttf"],
    ("latin", True): ["DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf"],
}
HAVE_RAQM = features.check("raqm")


def has_rtl(text: str) -> bool:
    """True if the text has any right-to-left letter (Arabic, Hebrew, Urdu, ...)."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


@functools.lru_cache(maxsize=32)
def _font(script: str, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    for name in _FONTS[(script, bold)] + _FONTS[(script, False)]:
        for folder in _FONT_DIRS:
            path = folder / name
            if path.is_file():
                engine = ImageFont.Layout.RAQM if HAVE_RAQM else ImageFont.Layout.BASIC
                return ImageFont.truetype(str(path), size, layout_engine=engine)
    raise FileNotFoundError(
        f"no font for {script} text: install Debian fonts-noto-core and fonts-dejavu-core"
    )


def _visual_order(text: str) -> str:
    """Without raqm, shape and reorder ourselves so Arabic letters join and read RTL."""
    try:
        import arabic_reshaper
        from bidi import get_display
    except ImportError:  # pragma: no cover - depends on the machine
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


def _prepare(
    text: str, size: int, bold: bool, language: str
) -> tuple[str, ImageFont.FreeTypeFont, dict[str, object]]:
    """The font, the text as drawn, and the layout arguments for one line."""
    rtl = has_rtl(text)
    script = "urdu" if language.startswith("ur") else "arabic" if rtl else "latin"
    font = _font(script, bold, size)
    kwargs: dict[str, object] = {}
    if HAVE_RAQM and rtl:
        kwargs = {"direction": "rtl", "language": language.split("-")[0]}
    elif rtl:
        text = _visual_order(text)
    return text, font, kwargs


def render_text_line(
    text: str, *, width_px: int, size: int = 24, bold: bool = False, language: str = "en"
) -> Image.Image:
    """One line of text, centred on a ``width_px`` wide 1-bit image (black = ink).

    The caller wraps long text first (see :func:`wrap_to_width`).
    """
    text, font, kwargs = _prepare(text, size, bold, language)
    left, top, right, bottom = font.getbbox(text, **kwargs)  # type: ignore[arg-type]
    ascent, descent = font.getmetrics()
    height = max(bottom, ascent + descent) - min(top, 0) + 4
    image = Image.new("1", (width_px, height), 1)
    x = (width_px - (right - left)) // 2 - left
    ImageDraw.Draw(image).text((x, 2 - min(top, 0)), text, font=font, fill=0, **kwargs)  # type: ignore[arg-type]
    return image


def render_ink(
    text: str, *, size: int = 24, bold: bool = False, language: str = "en"
) -> Image.Image | None:
    """One line of text as a 1-bit image cropped to its ink (black = ink), or None if
    it has none. Same font and size (in dots) as :func:`render_text_line`, without the
    blank margins: on paper every blank row and column costs bytes on the wire.
    """
    text, font, kwargs = _prepare(text, size, bold, language)
    left, top, right, bottom = font.getbbox(text, **kwargs)  # type: ignore[arg-type]
    pad = size  # room for marks the bounding box under-reports (Nastaliq's dots)
    canvas = Image.new("1", (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad), 1)
    # drawn on a 1-bit image as render_text_line does: the same (unsmoothed) glyph dots
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=font, fill=0, **kwargs)  # type: ignore[arg-type]
    ink = ImageOps.invert(canvas.convert("L")).getbbox()
    return None if ink is None else canvas.crop(ink)


def wrap_to_width(
    text: str, *, width_px: int, size: int = 24, bold: bool = False, language: str = "en"
) -> list[str]:
    """Greedy word wrap by measured width (character counts mean nothing for Nastaliq)."""
    rtl = has_rtl(text)
    script = "urdu" if language.startswith("ur") else "arabic" if rtl else "latin"
    font = _font(script, bold, size)
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and font.getlength(candidate) > width_px - 8:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]
