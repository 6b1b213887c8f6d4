"""Text that reads right in every language the kiosk ships: a Kivy core label drawn
with Pillow and libraqm (HarfBuzz shaping, FriBiDi ordering).

Kivy's SDL2 text provider neither joins Arabic letters nor puts right-to-left text in
order, and Nastaliq Urdu needs real OpenType shaping, not presentation forms. So
every kiosk label (``kiosk.widgets.Text``) uses :class:`ShapedLabel`, which Kivy's
layout code (wrapping, alignment, shortening) drives like any other provider:

* Kivy asks for the extents of a line and later to draw it at (x, y); we shape the
  whole line with raqm, so a line's letters join and its words come in visual order.
* One font rarely covers a mixed line: Noto Naskh Arabic and Noto Nastaliq Urdu have
  no Latin letters, so "your number is H001" in Urdu would show boxes. A line with
  Arabic-script letters is cut into runs: Latin words (ticket numbers, booking
  references, web addresses) in the Latin font, the rest in the Arabic-script font
  (Nastaliq for ``text_language="ur"``, Naskh otherwise). The runs of a
  right-to-left line are laid out right to left.
* ``find_base_direction`` really looks at the text, so ``halign: "auto"`` aligns
  Urdu and Arabic lines to the right.

Fonts come from Debian's ``fonts-noto-core`` (Noto Sans, Naskh Arabic, Nastaliq
Urdu), falling back to ``fonts-dejavu-core`` and Kivy's own Roboto for Latin text;
``WALKIN_FONT_DIR`` adds a folder searched first.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import unicodedata
from pathlib import Path

from kivy.core.image import ImageData
from kivy.core.text import LabelBase
from PIL import Image, ImageDraw, ImageFont, features

from device_drivers.textimage import mark_latin

HAVE_RAQM = features.check("raqm")
# Kivy lowers the root logger's level; fontTools would then log every table it reads
logging.getLogger("fontTools").setLevel(logging.WARNING)

_FONT_DIRS = [
    Path(os.environ.get("WALKIN_FONT_DIR", "/nonexistent")),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
]
#: (script, bold) -> font files, best first
_FONT_FILES: dict[tuple[str, bool], tuple[str, ...]] = {
    ("latin", False): ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),
    ("latin", True): ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    ("arabic", False): ("NotoNaskhArabic-Regular.ttf", "NotoSansArabic-Regular.ttf"),
    ("arabic", True): ("NotoNaskhArabic-Bold.ttf", "NotoSansArabic-Bold.ttf"),
    ("urdu", False): ("NotoNastaliqUrdu-Regular.ttf", "NotoNaskhArabic-Regular.ttf"),
    ("urdu", True): ("NotoNastaliqUrdu-Bold.ttf", "NotoNaskhArabic-Bold.ttf"),
}

_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


class FontMissing(RuntimeError):
    """No font for a script: install Debian fonts-noto-core (and fonts-dejavu-core)."""


@functools.lru_cache(maxsize=16)
def font_path(script: str, bold: bool = False) -> str | None:
    """The file used for ``script`` ("latin", "arabic", "urdu"), or None if none installed."""
    for name in _FONT_FILES[(script, bold)] + _FONT_FILES[(script, False)]:
        for folder in _FONT_DIRS:
            if (folder / name).is_file():
                return str(folder / name)
    return None


def has_rtl(text: str) -> bool:
    """True if ``text`` has any right-to-left letter."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def base_direction(text: str) -> str | None:
    """ "rtl" or "ltr" from the first letter with a strong direction (Unicode rule P2)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return None


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if HAVE_RAQM else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size, layout_engine=engine)


@functools.lru_cache(maxsize=8)
def _coverage(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (its best cmap)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


#: runs of a line: LATIN (Latin font), SCRIPT (Arabic-script font), NEUTRAL (punctuation
#: the Arabic-script font lacks, drawn in the Latin font and mirrored in an RTL line)
LATIN, SCRIPT, NEUTRAL = "latin", "script", "neutral"
_MIRROR = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


@functools.lru_cache(maxsize=4096)
def _runs(text: str, script_font: str) -> tuple[tuple[str, str], ...]:
    """``text`` cut into (run, kind) in logical order.

    Only a line with Arabic-script letters is cut; everything else is one LATIN run.
    """
    if not _ARABIC_SCRIPT.search(text):
        return ((text, LATIN),)
    covered = _coverage(script_font)
    kinds = [SCRIPT if ord(ch) in covered else NEUTRAL for ch in text]
    # as the printer's images cut them: "Leeds Merrion House" is one Latin run
    mark_latin(text, kinds, LATIN)
    runs: list[tuple[str, str]] = []
    for ch, kind in zip(text, kinds, strict=True):
        if runs and runs[-1][1] == kind:
            runs[-1] = (runs[-1][0] + ch, kind)
        else:
            runs.append((ch, kind))
    return tuple(runs)


_EXTENTS: dict[tuple[str, str, int, bool, str], tuple[int, int]] = {}


class ShapedLabel(LabelBase):
    """A Kivy core label provider drawing shaped, bidi-ordered text with Pillow + raqm."""

    @staticmethod
    def find_base_direction(text: str) -> str | None:  # type: ignore[override]
        return base_direction(text)

    # -- fonts -----------------------------------------------------------------------

    def _size_px(self) -> int:
        return max(1, int(self.options["font_size"]))

    def _latin_font(self) -> ImageFont.FreeTypeFont:
        return _font(self.options["font_name_r"], self._size_px())

    def _script_font_path(self) -> tuple[str, str]:
        """(script, font file) for this label's Arabic-script text."""
        language = (self.options.get("text_language") or "").split("-")[0]
        script = "urdu" if language == "ur" else "arabic"
        path = font_path(script, bool(self.options.get("bold")))
        if path is None:
            raise FontMissing(f"no {script} font: install Debian fonts-noto-core")
        return script, path

    def _script_font(self) -> ImageFont.FreeTypeFont:
        script, path = self._script_font_path()
        # Nastaliq is tall for its size: the same size would make Urdu lines twice as
        # high as the rest; 85% reads as the same size and keeps the layout.
        size = self._size_px() * 85 // 100 if script == "urdu" else self._size_px()
        return _font(path, size)

    def _run_font(self, kind: str) -> tuple[ImageFont.FreeTypeFont, dict[str, str]]:
        if kind != SCRIPT:
            return self._latin_font(), {"direction": "ltr"} if HAVE_RAQM else {}
        language = (self.options.get("text_language") or "ar").split("-")[0]
        options = {"direction": "rtl", "language": language} if HAVE_RAQM else {}
        return self._script_font(), options

    def _line_metrics(self, text: str) -> tuple[int, int]:
        """(ascent, descent) shared by every line of this label, so lines space evenly."""
        ascent, descent = self._latin_font().getmetrics()
        language = (self.options.get("text_language") or "").split("-")[0]
        if language in ("ar", "ur", "fa") or _ARABIC_SCRIPT.search(text):
            script_ascent, script_descent = self._script_font().getmetrics()
            ascent, descent = max(ascent, script_ascent), max(descent, script_descent)
        return ascent, descent

    # -- layout ----------------------------------------------------------------------

    def _visual_runs(self, text: str) -> list[tuple[str, str]]:
        """The runs of one line left to right, each ready to draw left to right."""
        if not _ARABIC_SCRIPT.search(text):
            return [(text, LATIN)]
        runs = list(_runs(text, self._script_font_path()[1]))
        if base_direction(text) == "rtl":
            # In a right-to-left line the runs go right to left; punctuation between
            # them takes the line's direction, so it reads reversed and mirrored.
            runs = [
                (run[::-1].translate(_MIRROR), kind) if kind == NEUTRAL else (run, kind)
                for run, kind in reversed(runs)
            ]
        if not HAVE_RAQM:  # pragma: no cover - Debian's Pillow has raqm (libraqm0)
            runs = [(_visual_order(r) if k == SCRIPT else r, k) for r, k in runs]
        return runs

    def _advance(self, run: str, kind: str) -> float:
        font, options = self._run_font(kind)
        return float(font.getlength(run, **options))  # type: ignore[arg-type]

    def get_extents(self, text: str) -> tuple[int, int]:
        if self.options["font_size"] < 1 or not text:
            return 0, 0
        key = (
            text,
            self.options["font_name_r"],
            self._size_px(),
            bool(self.options.get("bold")),
            self.options.get("text_language") or "",
        )
        extents = _EXTENTS.get(key)
        if extents is None:
            width = sum(self._advance(run, kind) for run, kind in self._visual_runs(text))
            ascent, descent = self._line_metrics(text)
            # a little room either side: Nastaliq swashes and italics reach past the advance
            extents = (int(width + self._margin() * 2 + 0.5), ascent + descent)
            if len(_EXTENTS) > 20_000:  # Kivy's wrapping measures many substrings
                _EXTENTS.clear()
            _EXTENTS[key] = extents
        return extents

    def get_cached_extents(self):  # type: ignore[no-untyped-def]
        return self.get_extents

    def _margin(self) -> int:
        return max(1, self._size_px() // 12)

    # -- drawing ---------------------------------------------------------------------

    def _render_begin(self) -> None:
        self._image = Image.new("RGBA", self._size, (255, 255, 255, 0))
        self._draw = ImageDraw.Draw(self._image)

    def _render_text(self, text: str, x: float, y: float) -> None:
        if self.options["font_size"] < 1:
            return
        color = tuple(int(c * 255) for c in self.options["color"])
        ascent, _ = self._line_metrics(text)
        pen = x + self._margin()
        for run, kind in self._visual_runs(text):
            font, options = self._run_font(kind)
            self._draw.text((pen, y + ascent), run, font=font, fill=color, anchor="ls", **options)  # type: ignore[arg-type]
            pen += font.getlength(run, **options)  # type: ignore[arg-type]

    def _render_end(self) -> ImageData:
        data = ImageData(
            self._size[0], self._size[1], self._image.mode.lower(), self._image.tobytes()
        )
        del self._image, self._draw
        return data


def _visual_order(text: str) -> str:  # pragma: no cover - only without libraqm
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


def register_fonts() -> str:
    """Register the kiosk's Latin font family with Kivy as "KioskSans"; returns the name.

    Raises :class:`FontMissing` when neither Noto Sans nor DejaVu Sans is installed and
    Kivy's bundled Roboto is missing too.
    """
    regular, bold = font_path("latin", False), font_path("latin", True)
    if regular is None:
        from kivy.core.text import DEFAULT_FONT

        LabelBase.register("KioskSans", *_kivy_default(DEFAULT_FONT))
        return "KioskSans"
    LabelBase.register("KioskSans", regular, regular, bold or regular, bold or regular)
    return "KioskSans"


def _kivy_default(name: str) -> tuple[str, str, str, str]:
    from kivy.resources import resource_find

    regular = resource_find(f"data/fonts/{name}-Regular.ttf")
    bold = resource_find(f"data/fonts/{name}-Bold.ttf") or regular
    if regular is None:
        raise FontMissing("no Latin font: install Debian fonts-noto-core or fonts-dejavu-core")
    return regular, regular, bold, bold
