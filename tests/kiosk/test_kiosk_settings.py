"""Everything docs/configuration.md says the kiosk does with the centre's file takes
effect on a real kiosk (Kivy, offscreen) fed by a real queue server: one test per
``[kiosk]`` key and per service key the kiosk shows (issue #10, point 14: the server
validated ``[kiosk]``, ``names`` and ``icon`` but never sent them, so
``channel_shift = false`` did nothing).

Each test starts a server on a centre that differs from the demo in that one setting
and looks at what a visitor meets."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from queue_server.config import KNOWN_LANGUAGES as KNOWN
from queue_server.core.model import CentreSetup, OpeningHours, Service
from queue_server.net.server import QueueServer


@pytest.fixture
async def serve(store, example_config) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await serve(setup)`` -> (server, url, kiosk token): the demo centre as changed."""
    servers: list[QueueServer] = []

    async def start(setup: CentreSetup) -> tuple[QueueServer, str, str]:
        store.register_centre(setup)
        token = store.enroll_device(setup.centre_id, "kiosk", f"kiosk-{len(servers)}")
        server = QueueServer(setup, store)
        port = await server.start(port=0)
        servers.append(server)
        return server, f"ws://127.0.0.1:{port}/ws", token

    yield start
    for server in servers:
        await server.close()


def demo(example_config, **kiosk: Any) -> CentreSetup:
    """The demo centre, open all day, with ``kiosk`` settings changed; without its
    ``[[assistance]]`` categories, so the service leads straight to the ticket (the
    question for help: test_kiosk_assistance.py)."""
    setup = dataclasses.replace(example_config.to_setup(), hours=OpeningHours(always_open=True))
    setup = dataclasses.replace(setup, assistance=())
    return dataclasses.replace(setup, kiosk=dataclasses.replace(setup.kiosk, **kiosk))


def with_service(setup: CentreSetup, service: Service) -> CentreSetup:
    return dataclasses.replace(setup, services=(service, *setup.services))


#: a service the kiosk's catalogues know nothing of, to tell the centre's names from them
BLUE_BADGES = Service(
    code="blue_badges", name="Blue badges", prefix="Z", target_wait=timedelta(minutes=15)
)


# ---------------------------------------------------------------- [kiosk]


async def test_channel_shift_off_prints_without_offering_the_website(
    serve, example_config, printer_url, start_kiosk_app
) -> None:
    server, url, token = await serve(demo(example_config, channel_shift=False))
    kiosk = await start_kiosk_app(url, token, printer_url)
    assert kiosk.controller.centre.settings.channel_shift is False
    await kiosk.tap("en")
    await kiosk.tap("council_tax")  # has an online_url: offered first when channel_shift
    await kiosk.wait_screen("confirm")
    assert [t.service for t in server.centre.tickets.values()] == ["council_tax"]


async def test_channel_shift_on_offers_the_website(
    serve, example_config, printer_url, start_kiosk_app
) -> None:
    server, url, token = await serve(demo(example_config, channel_shift=True))
    kiosk = await start_kiosk_app(url, token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("council_tax")
    await kiosk.wait_screen("online")
    assert server.centre.tickets == {}


async def test_idle_reset_seconds_starts_again_after_that_long(
    serve, example_config, printer_url, start_kiosk_app
) -> None:
    _server, url, token = await serve(demo(example_config, idle_reset_seconds=15))
    kiosk = await start_kiosk_app(url, token, printer_url)
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    # the Kivy clock runs the idle check (``tick``) twice a second; run it by hand
    # after moving the kiosk's clock
    kiosk.clock.advance(14)
    kiosk.controller.tick()
    assert kiosk.screen == "services"  # 14 s: not yet
    kiosk.clock.advance(1)
    kiosk.controller.tick()
    await kiosk.wait_screen("welcome", timeout=5)  # at 15 s, not the default 60


@pytest.mark.parametrize("show", [True, False])
async def test_show_wait_estimate(
    serve, example_config, printer_url, printer_sim, start_kiosk_app, show: bool
) -> None:
    _server, url, token = await serve(demo(example_config, show_wait_estimate=show))
    kiosk = await start_kiosk_app(url, token, printer_url)
    await kiosk.tap("en")
    await kiosk.tap("housing")
    await kiosk.wait_screen("confirm")
    await kiosk.until(lambda: kiosk.controller.visit.printed is not None, "the print")
    on_screen = " ".join(kiosk.texts())
    printed = printer_sim.wait_for_tickets(1)[0].text
    assert ("People ahead of you" in on_screen) is show
    assert ("ahead" in printed.lower()) is show


# ---------------------------------------------------------------- [[services]]


async def test_service_names_in_the_visitors_language(
    serve, example_config, printer_url, start_kiosk_app
) -> None:
    badges = dataclasses.replace(BLUE_BADGES, names=(("cy", "Bathodynnau glas"),))
    _server, url, token = await serve(with_service(demo(example_config), badges))
    kiosk = await start_kiosk_app(url, token, printer_url)
    await kiosk.tap("cy")
    await kiosk.wait_screen("services")
    assert kiosk.button("blue_badges").text == "Bathodynnau glas"
    kiosk.controller.reset()
    await kiosk.tap("pl")  # no Polish name: the English one
    await kiosk.wait_screen("services")
    assert kiosk.button("blue_badges").text == "Blue badges"


async def test_service_icon_on_its_button(
    serve, example_config, printer_url, start_kiosk_app
) -> None:
    badges = dataclasses.replace(BLUE_BADGES, icon="badge")
    plain = dataclasses.replace(BLUE_BADGES, code="plain", prefix="Y", icon=None)
    setup = with_service(with_service(demo(example_config), badges), plain)
    _server, url, token = await serve(setup)
    kiosk = await start_kiosk_app(url, token, printer_url)
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    assert kiosk.button("blue_badges").icon == "badge"
    assert kiosk.button("plain").icon == "info"  # none named: the general icon
    assert kiosk.button("housing").icon == "home"


# ---------------------------------------------------------------- [centre]


async def test_centre_languages_are_the_languages_offered_in_order(
    serve, example_config, printer_url, start_kiosk_app
) -> None:
    setup = dataclasses.replace(demo(example_config), languages=("en", "ur", "cy"))
    _server, url, token = await serve(setup)
    kiosk = await start_kiosk_app(url, token, printer_url)
    offered = [w.value for w in kiosk.widgets() if getattr(w, "value", "") in KNOWN]
    # the grid lays children out from the last added: read them back in order
    assert sorted(offered) == ["cy", "en", "ur"]
    assert [code for code, _name, _touch in kiosk.current().languages] == ["en", "ur", "cy"]


async def test_centre_name_is_shown(serve, example_config, printer_url, start_kiosk_app) -> None:
    setup = dataclasses.replace(demo(example_config), name="Northgate One Stop Shop")
    _server, url, token = await serve(setup)
    kiosk = await start_kiosk_app(url, token, printer_url)
    await kiosk.tap("en")
    await kiosk.wait_screen("services")
    assert "Northgate One Stop Shop" in kiosk.texts()
