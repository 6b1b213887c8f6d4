"""The kiosk builds each screen the first time it is shown (``KioskRoot.get_screen``):
a screen built after the visitor chose a language and large, high-contrast text must
look exactly as one built at start and then changed with them."""

from __future__ import annotations

from typing import Any

from kivy.app import App

Looks = list[tuple[str, float, tuple[float, ...], str]]


def _looks(kiosk: Any, screen: Any = None) -> Looks:
    """What a screen (the current one) shows: each text, its size, colour and alignment."""
    return sorted(
        (w.text, float(w.font_size), tuple(w.color), str(getattr(w, "halign", "")))
        for w in kiosk.widgets(screen)
        if getattr(w, "text", "") and hasattr(w, "texture_size")
    )


async def _to_checkin(kiosk: Any, language: str) -> Looks:
    kiosk.press(language)
    await kiosk.wait_screen("services")
    kiosk.app.large_text = kiosk.app.high_contrast = True
    kiosk.press("appointment")
    await kiosk.wait_screen("checkin")
    await kiosk.pump(3)
    return _looks(kiosk)


async def test_a_screen_built_late_looks_as_one_built_at_start(
    live: Any, printer_url: str, start_kiosk_app: Any, kiosk_window: Any
) -> None:
    late = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    assert late.app.root.screen_names == ["welcome"]  # nothing else built yet
    built_late = await _to_checkin(late, "ar")
    assert set(late.app.root.screen_names) == {"welcome", "services", "checkin"}
    # one kiosk app at a time (the fixture's own stop, done early: it is done only once)
    await late.app.close_async()
    kiosk_window.remove_widget(late.app.root)
    App._running_app = None  # noqa: SLF001 - the app ran embedded; let the next one run

    early = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    for name in ("services", "checkin", "confirm"):  # built now, in English, normal text
        early.app.root.get_screen(name)
    await early.pump(2)
    at_start = _looks(early, early.app.root.get_screen("checkin"))
    built_early = await _to_checkin(early, "ar")

    assert built_late == built_early
    # and that is the Arabic screen in large text, not the English one it was at start
    assert built_early != at_start
    assert any("\u0600" <= ch <= "\u06ff" for text, *_ in built_late for ch in text)
    assert max(size for _, size, *_ in built_late) > max(size for _, size, *_ in at_start)
