"""Colours and sizes. Two themes: the standard one and high contrast. Both keep text
at 7:1 contrast or better (WCAG AAA) against what it sits on; high contrast is
yellow and white on black with heavier borders. Nothing is told by colour alone:
buttons carry words and icons, toggles a ticked or empty box, problems an icon and
a sentence.
"""

from __future__ import annotations

RGBA = tuple[float, float, float, float]


def _hex(code: str, alpha: float = 1.0) -> RGBA:
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


STANDARD: dict[str, RGBA] = {
    "bg": _hex("F3F5F8"),
    "fg": _hex("111827"),
    "muted": _hex("374151"),
    "panel": _hex("FFFFFF"),
    "panel_border": _hex("1F3A68"),
    "bar": _hex("E2E8F0"),
    "primary": _hex("0B3D91"),
    "primary_down": _hex("061F4D"),
    "primary_text": _hex("FFFFFF"),
    "secondary": _hex("FFFFFF"),
    "secondary_down": _hex("D6E0F0"),
    "secondary_text": _hex("0B3D91"),
    "quiet": _hex("E2E8F0"),
    "quiet_down": _hex("B8C4D6"),
    "quiet_text": _hex("111827"),
    "border": _hex("0B3D91"),
    "warning": _hex("8A1C1C"),
}

HIGH_CONTRAST: dict[str, RGBA] = {
    "bg": _hex("000000"),
    "fg": _hex("FFFFFF"),
    "muted": _hex("FFFFFF"),
    "panel": _hex("000000"),
    "panel_border": _hex("FFFF00"),
    "bar": _hex("000000"),
    "primary": _hex("000000"),
    "primary_down": _hex("4D4D00"),
    "primary_text": _hex("FFFF00"),
    "secondary": _hex("000000"),
    "secondary_down": _hex("333333"),
    "secondary_text": _hex("FFFFFF"),
    "quiet": _hex("000000"),
    "quiet_down": _hex("333333"),
    "quiet_text": _hex("FFFFFF"),
    "border": _hex("FFFF00"),
    "warning": _hex("FFFF00"),
}


def palette(high_contrast: bool) -> dict[str, RGBA]:
    return HIGH_CONTRAST if high_contrast else STANDARD


def button_colours(kind: str, pressed: bool, high_contrast: bool) -> tuple[RGBA, RGBA, RGBA]:
    """(fill, text, border) for a button of ``kind`` ("primary", "secondary", "quiet")."""
    colours = palette(high_contrast)
    kind = kind if kind in ("primary", "secondary", "quiet") else "primary"
    fill = colours[f"{kind}_down" if pressed else kind]
    text = colours[f"{kind}_text"]
    border = colours["border"] if kind != "quiet" or high_contrast else colours["muted"]
    return fill, text, border


#: sizes in pixels at the design size (the shorter window side 1080 px, about 100 dpi
#: on a 22-inch kiosk screen: 15 mm is 60 px, so 110 px buttons are well over)
BASE_SIZES = {
    "fs_small": 30,
    "fs": 38,
    "fs_button": 42,
    "fs_title": 60,
    "fs_number": 200,
    "fs_icon": 64,
    "min_touch": 110,
    "pad": 20,
}
#: large-text mode: text and touch targets this much bigger
LARGE = 1.3
