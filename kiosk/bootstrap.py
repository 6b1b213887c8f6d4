"""Kivy reads its settings from the environment and its Config when first imported, so
the kiosk sets them here, before any ``kivy`` import (``kiosk.app.main`` and the
tests call :func:`configure_kivy` first)."""

from __future__ import annotations

import os
import sys
import tempfile

#: the kiosk's design size; other windows scale the layout (see KioskApp.ui_scale)
PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)


def configure_kivy(
    *,
    fullscreen: bool = True,
    portrait: bool = False,
    size: tuple[int, int] | None = None,
    offscreen: bool = False,
    kivy_home: str | None = None,
    max_fps: int = 30,
) -> None:
    """Set Kivy's environment and Config. Must run before anything imports ``kivy``.

    ``offscreen`` renders without a display (SDL's offscreen driver; tests and
    screenshots). ``kivy_home`` keeps Kivy's config and logs out of the user's home.
    """
    if "kivy" in sys.modules and "kivy.config" in sys.modules:
        already = sys.modules["kivy.config"].Config
        _apply_config(already, fullscreen, portrait, size, max_fps)
        return
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our argparse owns the command line
    # Kivy's own mode sets the root logger to NOTSET (everything, DEBUG included, from
    # every library: websockets' frames with the kiosk's token in them) and takes
    # over stderr. In Python mode the kiosk's logging stays as kiosk.app sets it.
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ["KIVY_HOME"] = (
        kivy_home or os.environ.get("KIVY_HOME") or tempfile.mkdtemp(prefix="walkin-kivy-")
    )
    if offscreen:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("KIVY_AUDIO", "")
    from kivy.config import Config

    _apply_config(Config, fullscreen, portrait, size, max_fps)


def _apply_config(
    config: object, fullscreen: bool, portrait: bool, size: tuple[int, int] | None, max_fps: int
) -> None:
    width, height = size or (PORTRAIT if portrait else LANDSCAPE)
    config.set("graphics", "width", str(width))  # type: ignore[attr-defined]
    config.set("graphics", "height", str(height))  # type: ignore[attr-defined]
    config.set("graphics", "fullscreen", "auto" if fullscreen else "0")  # type: ignore[attr-defined]
    config.set("graphics", "borderless", "1" if fullscreen else "0")  # type: ignore[attr-defined]
    config.set("graphics", "resizable", "0" if fullscreen else "1")  # type: ignore[attr-defined]
    config.set("graphics", "maxfps", str(max_fps))  # type: ignore[attr-defined]
    # no multitouch emulation dots, no escape-to-quit: visitors must not close the app
    config.set("input", "mouse", "mouse,disable_multitouch")  # type: ignore[attr-defined]
    config.set("kivy", "exit_on_escape", "0")  # type: ignore[attr-defined]
    config.set("kivy", "log_level", "warning")  # type: ignore[attr-defined]
