"""After the idle timeout the kiosk starts again and forgets the visitor."""

from __future__ import annotations


async def test_idle_timeout_forgets_everything(live, printer_url, start_kiosk_app) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    first_key = kiosk.controller.visit.key
    await kiosk.tap("high_contrast")
    await kiosk.tap("pl")
    await kiosk.tap("appointment")
    await kiosk.type("BK7Q")
    assert kiosk.current().typed == "BK7Q"

    kiosk.clock.advance(kiosk.controller.idle_seconds - 1)
    await kiosk.pump(3)
    assert kiosk.screen == "checkin"  # not yet
    kiosk.clock.advance(2)
    await kiosk.wait_screen("welcome")

    controller = kiosk.controller
    assert controller.visit.typed == "" and controller.visit.key != first_key
    assert kiosk.app.language == "en" and not kiosk.app.high_contrast
    await kiosk.tap("en")
    await kiosk.tap("appointment")
    assert kiosk.current().typed == ""  # nothing of the last visitor's reference


async def test_touches_keep_the_visit_alive(live, printer_url, start_kiosk_app) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    for _ in range(3):
        kiosk.clock.advance(kiosk.controller.idle_seconds * 0.8)
        await kiosk.tap("large_text")
    assert kiosk.screen == "services"
