"""Text the printer cannot print itself -> a 1-bit image, with proper shaping.

Used for right-to-left scripts (Urdu, Arabic: the printer has no shaping or bidi) and for
characters no code page of the profile holds (Welsh ŵ/ŷ, Romanian ș/ț on most printers).

Shaping uses Pillow's libraqm layout when Pillow has it (Debian ``libraqm0``); otherwise
``arabic-reshaper`` + ``python-bidi`` if installed. Fonts are Debian's ``fonts-noto-core``
(Naskh Arabic, Nastaliq Urdu) and ``fonts-dejavu-core``; ``WALKIN_FONT_DIR`` adds a folder.

Noto Naskh Arabic and Noto Nastaliq Urdu have no Latin letters, so a right-to-left line
with a Latin word in it ("مرکز Leeds") is cut into runs as the kiosk's labels are
(``kiosk/text.py``): Latin words in the Latin font, the rest in the Arabic-script font,
the runs laid out right to left.
"""

from __future__ import annotations

import functools
import os
import re
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
    # Urdu on paper is set in Naskh, not the Nastaliq the kiosk's screen uses: at 203 dpi
    # and 1 bit, Nastaliq at this size is 38-56 dots a line (its words cascade on a slant)
    # and its dots run together; Noto Naskh Arabic has every Urdu letter, is 22-25 dots a
    # line and prints crisper. Nastaliq stays the fallback. docs/performance.md, section 3.
    ("urdu", False): ["NotoNaskhArabic-Regular.ttf", "NotoNastaliqUrdu-Regular.ttf"],
    ("urdu", True): ["NotoNaskhArabic-Bold.ttf", "NotoNastaliqUrdu-Bold.ttf"],
    ("latin", False): ["DejaVuSans.ttf", "NotoSans-Regular.ttf"],
    ("latin", True): ["DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf"],
}
HAVE_RAQM = features.check("raqm")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
#: a word in Latin script inside an Arabic-script line: H001, BK-7Q2M4, www.example.gov.uk/x
_LATIN_RUN = re.compile(rf"[{_LATIN}0-9](?:[{_LATIN}0-9.:/_@#%+=&?~-]*[{_LATIN}0-9/])?")
_HAS_LATIN_LETTER = re.compile(rf"[{_LATIN}]")
_JOINER = re.compile(r"[\s0-9.,:/&'-]+")
_TRAILING_DIGITS = re.compile(r"(?:[\s.,:/-]*[0-9])+")
_MIRROR = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


def has_rtl(text: str) -> bool:
    """True if the text has any right-to-left letter (Arabic, Hebrew, Urdu, ...)."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


@functools.lru_cache(maxsize=16)
def _font_path(script: str, bold: bool) -> str:
    for name in _FONTS[(script, bold)] + _FONTS[(script, False)]:
        for folder in _FONT_DIRS:
            path = folder / name
            if path.is_file():
                return str(path)
    raise FileNotFoundError(
        f"no font for {script} text: install Debian fonts-noto-core and fonts-dejavu-core"
    )


@functools.lru_cache(maxsize=32)
def _font(script: str, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if HAVE_RAQM else ImageFont.Layout.BASIC
    return ImageFont.truetype(_font_path(script, bold), size, layout_engine=engine)


@functools.lru_cache(maxsize=8)
def _coverage(path: str) -> frozenset[int] | None:
    """The code points a font file has glyphs for, or None without fontTools."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:  # pragma: no cover - fontTools comes with the kiosk extra
        return None
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


def _script(text: str, language: str) -> str:
    """Which font draws the line: Latin unless it has right-to-left letters (the
    Arabic-script fonts have no Latin letters, even on an Urdu ticket)."""
    if not has_rtl(text):
        return "latin"
    return "urdu" if language.startswith("ur") else "arabic"


#: a piece of a mixed line: its text, font, direction and language (for shaping)
_Run = tuple[str, ImageFont.FreeTypeFont, str, str | None]


def mark_latin(text: str, kinds: list[str], latin: str = "latin") -> None:
    """Mark in ``kinds`` (one per character of ``text``) the characters of its Latin
    words as ``latin``. Spaces, digits and in-word punctuation between two Latin words,
    and digits after one, belong to them (Unicode bidi rules W7 and N1): "Leeds Merrion
    House" and "Civic Hall 2" are each one left-to-right run. Brackets are left to the
    line's direction, as the bracket-pair rule (N0) mostly leaves them. The printer's
    images and the kiosk's labels both cut mixed lines this way."""
    for match in _LATIN_RUN.finditer(text):
        if _HAS_LATIN_LETTER.search(match.group()):
            kinds[match.start() : match.end()] = [latin] * (match.end() - match.start())
    latin_at = [i for i, kind in enumerate(kinds) if kind == latin]
    for before, after in zip(latin_at, latin_at[1:], strict=False):
        if after - before > 1 and _JOINER.fullmatch(text, before + 1, after):
            kinds[before + 1 : after] = [latin] * (after - before - 1)
    for end in [i + 1 for i in latin_at if i + 1 < len(text) and kinds[i + 1] != latin]:
        if trailing := _TRAILING_DIGITS.match(text, end):
            kinds[end : trailing.end()] = [latin] * (trailing.end() - end)


def _mixed_runs(text: str, size: int, bold: bool, language: str) -> list[_Run] | None:
    """An Arabic-script line that one font cannot draw, as (run, font, direction,
    language) left to right; None for a line one font draws (the usual case).

    Latin words (and punctuation the Arabic-script font lacks) are drawn in the Latin
    font, the rest in the Arabic-script one; a right-to-left line's runs go right to
    left, its stray punctuation reversed and mirrored. Needs raqm, as the shaping does.
    """
    if not HAVE_RAQM or not _ARABIC_SCRIPT.search(text):
        return None
    script = "urdu" if language.startswith("ur") else "arabic"
    covered = _coverage(_font_path(script, bold))
    kinds = ["script" if covered is None or ord(ch) in covered else "neutral" for ch in text]
    mark_latin(text, kinds)
    if all(kind == "script" for kind in kinds):
        return None
    runs: list[tuple[str, str]] = []
    for ch, kind in zip(text, kinds, strict=True):
        if runs and runs[-1][1] == kind:
            runs[-1] = (runs[-1][0] + ch, kind)
        else:
            runs.append((ch, kind))
    # The spaces at either end of an Arabic-script run separate it from its neighbours
    # whichever way the line runs: kept apart, so they stay between the runs.
    runs = [
        (part, kind if part.strip() else "space")
        for run, kind in runs
        for part in re.split(r"^(\s+)|(\s+)$", run)
        if part
    ]
    strong = (unicodedata.bidirectional(ch) for ch in text)
    if next((kind for kind in strong if kind in ("L", "R", "AL")), "L") != "L":
        runs = [
            (run[::-1].translate(_MIRROR), kind) if kind == "neutral" else (run, kind)
            for run, kind in reversed(runs)
        ]
    script_font, latin = _font(script, bold, size), _font("latin", bold, size)
    primary = language.split("-")[0]
    return [
        (run, script_font, "rtl", primary) if kind == "script" else (run, latin, "ltr", None)
        for run, kind in runs
    ]


def _advance(run: _Run) -> float:
    text, font, direction, language = run
    return float(font.getlength(text, direction=direction, language=language))


def _length(text: str, size: int, bold: bool, language: str) -> float:
    """How wide the line is drawn, in dots."""
    runs = _mixed_runs(text, size, bold, language)
    if runs is None:
        return float(_font(_script(text, language), bold, size).getlength(text))
    return sum(_advance(run) for run in runs)


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
    font = _font(_script(text, language), bold, size)
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
    pad = size  # room for marks the bounding box under-reports (Nastaliq's dots)
    runs = _mixed_runs(text, size, bold, language)
    if runs is None:
        text, font, kwargs = _prepare(text, size, bold, language)
        left, top, right, bottom = font.getbbox(text, **kwargs)  # type: ignore[arg-type]
        canvas = Image.new("1", (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad), 1)
        # drawn on a 1-bit image as render_text_line does: the same (unsmoothed) glyph dots
        ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=font, fill=0, **kwargs)  # type: ignore[arg-type]
    else:
        ascent = max(run[1].getmetrics()[0] for run in runs)
        descent = max(run[1].getmetrics()[1] for run in runs)
        width = sum(_advance(run) for run in runs)
        canvas = Image.new("1", (int(width) + 2 * pad, ascent + descent + 2 * pad), 1)
        draw = ImageDraw.Draw(canvas)
        pen = float(pad)
        for run in runs:  # left to right, on one baseline
            piece, font, direction, lang = run
            draw.text(
                (pen, pad + ascent),
                piece,
                font=font,
                fill=0,
                anchor="ls",
                direction=direction,
                language=lang,
            )
            pen += _advance(run)
    ink = ImageOps.invert(canvas.convert("L")).getbbox()
    return None if ink is None else canvas.crop(ink)


def wrap_to_width(
    text: str, *, width_px: int, size: int = 24, bold: bool = False, language: str = "en"
) -> list[str]:
    """Greedy word wrap by measured width (character counts mean nothing for Nastaliq)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and _length(candidate, size, bold, language) > width_px - 8:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]
