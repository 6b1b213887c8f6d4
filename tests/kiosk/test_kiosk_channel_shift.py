"""Channel shift: a service that can be done online is offered as a QR code first, and
the visitor's choice is recorded on the server (``channel_choice``)."""

from __future__ import annotations

import pytest

from queue_server.client import QueueClient, RemoteError


def recorded_choices(live) -> list[tuple[str, str]]:
    """What the server stored, over the whole day."""
    from datetime import timedelta

    now = live.server.clock()
    rows = live.store.channel_choices(
        live.setup.centre_id, now - timedelta(days=1), now + timedelta(days=1)
    )
    return [(r.service, r.choice) for r in rows]


async def test_online_choice_is_offered_and_recorded(live, printer_url, start_kiosk_app) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("council_tax")
    await kiosk.wait_screen("online")
    qr = [w for w in kiosk.widgets() if type(w).__name__ == "QRCode"]
    assert [w.data for w in qr] == ["https://www.example.gov.uk/council-tax"]
    assert "https://www.example.gov.uk/council-tax" in kiosk.texts()  # in words as well

    await kiosk.tap("online")
    await kiosk.wait_screen("online_done")
    assert live.server.centre.tickets == {}  # no ticket for a visitor going online
    await kiosk.until(lambda: kiosk.controller.channel_choices, "the choice to be recorded")
    assert kiosk.controller.channel_choices == [("council_tax", "online")]
    assert recorded_choices(live) == [("council_tax", "online")]


async def test_ticket_anyway_is_recorded_too(live, printer_url, start_kiosk_app) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("waste")
    await kiosk.tap("ticket")
    await kiosk.wait_screen("confirm")
    assert [t.service for t in live.server.centre.tickets.values()] == ["waste"]
    await kiosk.until(lambda: kiosk.controller.channel_choices, "the choice to be recorded")
    assert kiosk.controller.channel_choices == [("waste", "ticket")]
    assert recorded_choices(live) == [("waste", "ticket")]


async def test_a_choice_for_an_unknown_service_is_refused(live) -> None:
    async with QueueClient(live.url, token=live.kiosk_token) as client:
        with pytest.raises(RemoteError) as refused:
            await client.request("channel_choice", service="nope", choice="online")
    assert refused.value.code == "not_found"
    assert recorded_choices(live) == []


async def test_services_without_a_website_go_straight_to_a_ticket(
    live, printer_url, start_kiosk_app
) -> None:
    kiosk = await start_kiosk_app(live.url, live.kiosk_token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("general")
    await kiosk.wait_screen("confirm")
    assert kiosk.controller.channel_choices == []
