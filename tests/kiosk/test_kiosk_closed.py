"""Outside opening hours the kiosk says when the centre opens, and issues nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from queue_server.net.server import QueueServer


class SundayClock:
    """Sunday 29 November 2026, noon in London: the demo centre is closed on Sundays."""

    def __call__(self) -> datetime:
        return datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
async def closed_server(store, example_config):
    setup = example_config.to_setup()  # the real opening hours
    store.register_centre(setup)
    token = store.enroll_device(setup.centre_id, "kiosk", "Lobby kiosk")
    server = QueueServer(setup, store, clock=SundayClock())
    port = await server.start(port=0)
    yield server, f"ws://127.0.0.1:{port}/ws", token
    await server.close()


async def test_closed_centre_says_when_it_opens(
    closed_server, printer_url, start_kiosk_app
) -> None:
    server, url, token = closed_server
    kiosk = await start_kiosk_app(url, token, printer_url)
    opening = "We open again on Monday, 30 November 2026 at 09:00."
    assert opening in kiosk.current().closed_notice  # on the welcome screen already
    await kiosk.tap("en")
    await kiosk.wait_screen("closed")
    assert opening in kiosk.texts()

    kiosk.controller.reset()
    await kiosk.tap("cy")
    await kiosk.wait_screen("closed")
    assert any("Dydd Llun, 30 Tachwedd 2026" in t and "09:00" in t for t in kiosk.texts())

    # a ticket asked for anyway (say the kiosk's snapshot was stale) is refused by the server
    kiosk.controller.visit.service = "housing"
    kiosk.controller.take_ticket()
    await kiosk.wait_screen("closed")
    assert kiosk.controller.ticket_requests == [("issue_ticket", kiosk.controller.visit.key)]
    assert server.centre.tickets == {}
