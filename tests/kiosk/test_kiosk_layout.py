"""Layout rules a visitor sees on every screen, checked on the real kiosk (Kivy,
offscreen, full size): the settings bar's three toggles in one even row whatever their
words wrap to, and the ticket screen using its space (issue #10, point 15)."""

from __future__ import annotations

import pytest

from kiosk.bootstrap import LANDSCAPE, PORTRAIT


def _toggles(kiosk) -> list:
    return [kiosk.button(v) for v in ("large_text", "high_contrast", "speech")]


@pytest.mark.parametrize("language", ["ar", "ur", "en", "cy"])
async def test_the_settings_toggles_line_up_with_large_text(
    live, printer_url, start_kiosk_app, language: str
) -> None:
    """In Arabic with large text "Read aloud" wraps to two lines and the other two do
    not: its box stood taller than theirs, out of line."""
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url, size=PORTRAIT)
    await kiosk.tap(language)
    await kiosk.wait_screen("services")
    await kiosk.tap("large_text")
    await kiosk.tap("high_contrast")
    await kiosk.pump(3)
    boxes = [(round(t.y), round(t.height)) for t in _toggles(kiosk)]
    assert len(set(boxes)) == 1, boxes
    for toggle in _toggles(kiosk):  # and each one's words fit inside its box
        label = toggle.ids.label
        assert toggle.y <= label.y and label.top <= toggle.top, toggle.value


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE])
async def test_the_ticket_screen_leaves_no_empty_half(
    live, printer_url, start_kiosk_app, size
) -> None:
    """What the visitor needs fills the screen between the top bar and Done: no band of
    empty screen a third of its height (portrait) or half its width (landscape)."""
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url, size=size)
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
    await kiosk.pump(3)
    screen = kiosk.current()
    done = kiosk.button("done")
    shown = [
        w
        for w in kiosk.widgets()
        if getattr(w, "text", "") and hasattr(w, "texture_size") and w.opacity > 0
        and w.height > 0 and w.y > done.top
    ]  # fmt: skip
    assert shown
    # the largest vertical gap between things shown, above Done
    edges = sorted((w.to_window(w.x, w.y)[1], w.to_window(w.x, w.top)[1]) for w in shown)
    gaps, reach = [], edges[0][1]
    for bottom, top in edges[1:]:
        gaps.append(bottom - reach)
        reach = max(reach, top)
    top_bar = screen.to_window(0, screen.top)[1] - reach
    bottom_gap = edges[0][0] - done.to_window(0, done.top)[1]
    largest = max([*gaps, top_bar, bottom_gap])
    assert largest < screen.height / 4, (largest, screen.height)


@pytest.mark.parametrize("language", ["ur", "ar", "en"])
async def test_the_ticket_screen_without_paper_fits_on_the_screen(
    live, start_kiosk_app, language: str
) -> None:
    """No paper: the QR code and the notice take room; nothing may be pushed off the
    screen (Urdu's Nastaliq lines are the tallest)."""
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, None, size=PORTRAIT)
    await kiosk.tap(language)
    await kiosk.tap("planning")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the outcome")
    await kiosk.pump(3)
    assert not kiosk.current().printed
    height = kiosk.current().height
    for widget in kiosk.widgets():
        if not (getattr(widget, "text", "") and hasattr(widget, "texture_size")):
            continue
        if widget.opacity == 0 or widget.height <= 1:
            continue
        bottom, top = widget.to_window(0, widget.y)[1], widget.to_window(0, widget.top)[1]
        assert 0 <= bottom and top <= height + 1, (widget.text[:40], bottom, top, height)


def _broken_words(kiosk) -> list[tuple[str, str]]:
    """(button, piece) for every service button's name drawn with a word split over
    two lines: a line holding a piece of a word rather than whole words."""
    broken = []
    for button in kiosk.widgets():
        if not (hasattr(button, "word_fit") and button.text):
            continue
        words = set(button.text.split())
        label = button.ids.main_label
        for line in label._label._cached_lines:
            for piece in "".join(word.text for word in line.words).split():
                if piece not in words:
                    broken.append((button.text, piece))
    return broken


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
async def test_no_service_name_breaks_in_the_middle_of_a_word(
    live, printer_url, start_kiosk_app, kiosk_window, orientation: str
) -> None:
    """In landscape "Environmental health and licensing" was drawn "Environmenta" /
    "l health and": a word wider than its button's line is drawn a little smaller
    instead. Every shipped language, normal and large text."""
    from kiosk.i18n import shipped_languages

    size = (960, 540) if orientation == "landscape" else (540, 960)
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url, size=size)
    found = {}
    for language in shipped_languages():
        for large in (False, True):
            kiosk.controller.reset()
            kiosk.app.large_text = large
            await kiosk.wait_screen("welcome")
            kiosk.press(language)
            await kiosk.wait_screen("services")
            await kiosk.pump(4)
            if broken := _broken_words(kiosk):
                found[(language, large)] = broken
    assert not found


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT, (960, 540)])
async def test_every_service_shows_without_scrolling_at_normal_text_size(
    live, printer_url, start_kiosk_app, size
) -> None:
    """Eight services in four columns on a landscape screen were taller than the
    space: the second row (waste, electoral registration, general enquiries) was cut
    off by the settings bar, to be found only by scrolling. At normal text size every
    service shows whole, every button of one height, in every shipped language (the
    words drawn smaller where they must, the same for all, not below
    ``MIN_FIT_SCALE``); with large text the words keep their size and the rows scroll."""
    from kiosk.i18n import shipped_languages
    from kiosk.screens import ServicesScreen

    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url, size=size)
    cut = {}
    for language in shipped_languages():
        kiosk.controller.reset()
        await kiosk.wait_screen("welcome")
        kiosk.press(language)
        await kiosk.wait_screen("services")
        await kiosk.pump(12)
        screen = kiosk.current()
        scroll, buttons = screen.ids.scroll, list(screen.ids.grid.children)
        assert len(buttons) == 8
        assert screen.fit_scale >= ServicesScreen.MIN_FIT_SCALE
        top, bottom = scroll.to_window(0, scroll.top)[1], scroll.to_window(0, scroll.y)[1]
        outside = [
            b.value
            for b in buttons
            if b.to_window(0, b.y)[1] < bottom - 1 or b.to_window(0, b.top)[1] > top + 1
        ]
        heights = {round(b.height) for b in buttons}
        if outside or len(heights) != 1:
            cut[language] = (outside, sorted(heights), screen.fit_scale)
    assert not cut
    # large text: the words keep their size (the rows may scroll)
    kiosk.app.large_text = True
    await kiosk.pump(12)
    assert kiosk.current().fit_scale == 1.0
    assert {b.font_scale for b in kiosk.current().ids.grid.children} == {1.0}
