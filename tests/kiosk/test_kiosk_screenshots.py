"""A picture of every kiosk screen in every shipped language (docs/screenshots/kiosk/).

Always runs: every screen is reached through the real app on a real server (ticket
screens by presses on their buttons and real requests), and each picture is checked. It
writes to docs/screenshots/kiosk/ only with WALKIN_SCREENSHOTS=1 (refresh them with
``WALKIN_SCREENSHOTS=1 .venv/bin/python -m pytest tests/kiosk -k screenshots``);
otherwise to a temporary folder.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from device_drivers.simulator import PrinterSimulator
from kiosk.bootstrap import LANDSCAPE, PORTRAIT
from kiosk.i18n import shipped_languages

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots" / "kiosk"

#: every screen, in the order a visitor meets them
SCREENS = (
    "welcome",
    "services",
    "online",
    "online_done",
    "checkin",
    "problem",
    "working",
    "confirm",
    "confirm_no_paper",
    "closed",
    "offline",
)


FINAL = os.environ.get("WALKIN_SCREENSHOTS") == "1"
#: the committed pictures are full size; a run that only checks them draws at half size
#: (the layout scales): a quarter of the pixels to rasterise, to read back and to encode
#: per picture, which took most of this test's time on software GL
TALL, WIDE = (PORTRAIT, LANDSCAPE) if FINAL else ((540, 960), (960, 540))


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    return DOCS if FINAL else tmp_path / "shots"


async def _visit_every_screen(
    kiosk, printer_sim: PrinterSimulator, lang: str, out: Path, tag: str
) -> list[Path]:
    c = kiosk.controller
    shots: list[Path] = []

    async def go(value: str) -> None:
        # straight to the button: the touch path is tested elsewhere, frames cost time here
        kiosk.press(value)
        await kiosk.pump()

    async def shot(name: str) -> None:
        shots.append(await kiosk.screenshot(out / f"{name}-{tag}.png", final=FINAL))

    # a kiosk whose default language is this one: starting again keeps the language,
    # so the app does not redraw every screen twice per visitor
    kiosk.app.options = replace(kiosk.app.options, language_default=lang)
    printer_sim.set_state("ok")
    c.reset()
    await kiosk.wait_screen("welcome")
    await shot("welcome")

    await go(lang)
    await kiosk.wait_screen("services")
    await shot("services")

    await go("council_tax")  # online alternative: channel shift first
    await kiosk.wait_screen("online")
    await shot("online")
    await go("online")
    await kiosk.wait_screen("online_done")
    await shot("online_done")

    c.reset()
    await go(lang)
    await go("appointment")
    await kiosk.wait_screen("checkin")
    for key in "BK7Q2M4":
        await go(key)
    await shot("checkin")

    c.visit.reference = "BK-7Q2M4"
    c.visit.problem = ("check_in_too_late", {"service": "housing"})
    c.show("problem")
    await shot("problem")

    c.show("working")
    await shot("working")

    c.reset()
    await go(lang)
    await go("housing")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: c.visit.printed is not None, "the print")
    await shot("confirm")

    printer_sim.set_state("paper-out")
    c.reset()
    await go(lang)
    await go("planning")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: c.visit.printed is not None, "the print to fail")
    await shot("confirm_no_paper")
    printer_sim.set_state("ok")

    c.reset()
    c.visit.next_opening = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    c.show("closed")
    await shot("closed")

    kiosk.app.link.problem = "Cannot reach ws://queue.example:8765/ws (staff: check the server)."
    c.show("offline", remember=False)
    await shot("offline")
    c.reset()
    return shots


def _check_picture(path: Path, size: tuple[int, int]) -> None:
    with Image.open(path) as picture:
        assert picture.size == size, path
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 16)
        # a screen with text on it has many shades; a blank or failed frame has one or two
        assert colours is None or len(colours) > 8, f"{path.name} looks blank"


async def test_screenshots_every_screen_every_language(
    kiosk, printer_sim: PrinterSimulator, shots_dir: Path, kiosk_window
) -> None:
    languages = shipped_languages()
    assert set(languages) >= {"en", "cy", "pl", "ro", "ur", "ar"}
    kiosk_window.size = TALL
    taken: list[Path] = []
    for lang in languages:
        taken += await _visit_every_screen(kiosk, printer_sim, lang, shots_dir, f"{lang}")
    # landscape, and the accessibility modes, for a left-to-right and a right-to-left language
    kiosk_window.size = WIDE
    for lang in ("en", "ur"):
        taken += await _visit_every_screen(kiosk, printer_sim, lang, shots_dir, f"{lang}-landscape")
    kiosk_window.size = TALL
    for lang in ("en", "ar"):
        kiosk.controller.reset()
        kiosk.app.language = lang
        kiosk.app.large_text = kiosk.app.high_contrast = True
        kiosk.controller.show("services")
        await kiosk.wait_screen("services")
        taken.append(
            await kiosk.screenshot(shots_dir / f"services-{lang}-large-contrast.png", final=FINAL)
        )
        kiosk.app.large_text = kiosk.app.high_contrast = True
        kiosk.controller.visit.problem = ("not_found", {})
        kiosk.controller.visit.reference = "BK-XXXXX"
        kiosk.controller.show("problem")
        taken.append(
            await kiosk.screenshot(shots_dir / f"problem-{lang}-large-contrast.png", final=FINAL)
        )
    kiosk.controller.reset()
    await kiosk.saved()

    assert len(taken) == len(SCREENS) * (len(languages) + 2) + 4
    for path in taken:
        size = WIDE if "landscape" in path.name else TALL
        _check_picture(path, size)
