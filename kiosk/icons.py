"""Icons for buttons: glyphs of Google's Material Icons font (Apache 2.0; Debian
``fonts-material-design-icons-iconfont``), drawn like text, so they follow the
theme's colours and the large-text mode. Without the font, buttons show text only.

Service icons are named in the centre's TOML (``icon = "home"``); the names below
are the ones docs/configuration.md allows, mapped to Material code points.
"""

from __future__ import annotations

import os
from pathlib import Path

_FONT_CANDIDATES = (
    Path(os.environ.get("WALKIN_FONT_DIR", "/nonexistent")) / "MaterialIcons-Regular.ttf",
    Path("/usr/share/fonts/truetype/material-design-icons-iconfont/MaterialIcons-Regular.ttf"),
)

GLYPHS: dict[str, int] = {
    # services (centre.toml `icon`)
    "home": 0xE88A,
    "pound": 0xEAF1,
    "car": 0xE531,
    "building": 0xEA40,
    "clipboard": 0xE85D,
    "recycle": 0xE760,
    "ballot": 0xE175,
    "info": 0xE88E,
    "school": 0xE80C,
    "pets": 0xE91D,
    "parking": 0xE54F,
    "badge": 0xEA67,
    "gavel": 0xE90E,
    "support": 0xF0E2,
    # the kiosk's own
    "back": 0xE5C4,
    "forward": 0xE5C8,
    "appointment": 0xE614,
    "ticket": 0xE638,
    "language": 0xE894,
    "text_size": 0xE245,
    "contrast": 0xEB37,
    "speak": 0xE050,
    "checked": 0xE834,
    "unchecked": 0xE835,
    "backspace": 0xE14A,
    "enter": 0xE31B,
    "print": 0xE8AD,
    "phone": 0xE325,
    "scan": 0xF206,
    "qr": 0xEF6B,
    "closed": 0xE8B5,
    "offline": 0xE2C1,
    "reception": 0xF0E2,
    "done": 0xE86C,
    "wait": 0xE8B5,
    "problem": 0xE887,
    "online": 0xE894,
    "touch": 0xE913,
}


def icon_font() -> str | None:
    return next((str(p) for p in _FONT_CANDIDATES if p.is_file()), None)


#: icons that point somewhere, and their mirror image for right-to-left screens
MIRRORED = {"back": "forward", "forward": "back"}


def facing(name: str, rtl: bool) -> str:
    """The icon to draw for ``name`` on a screen that reads right to left or not."""
    return MIRRORED.get(name, name) if rtl else name


def glyph(name: str) -> str:
    """The character for an icon name; "" for an unknown name or without the font."""
    code = GLYPHS.get(name)
    return chr(code) if code is not None and icon_font() else ""
