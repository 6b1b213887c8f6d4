""" "I'm here" at the kiosk (issue 14 item 1): a visitor who joined from a phone scans the
QR code of their ticket's status page at the kiosk's scanner. The real Kivy app,
offscreen, on a live server whose centre takes remote tickets, a scanner on a pseudo
terminal (and a keyboard-wedge scanner's keystrokes), the printer simulator.

Screenshots of the new screens go to docs/screenshots/kiosk/ with WALKIN_SCREENSHOTS=1.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk.bootstrap import PORTRAIT
from kiosk.i18n import Translator, shipped_languages
from queue_server.core import commands as cmd
from queue_server.core.model import CentreSetup, Channel, RemoteJoining
from queue_server.store import Store
from tests.conftest import Clock, LiveServer, start_live_server

ROOT = Path(__file__).resolve().parents[2]
FINAL = os.environ.get("WALKIN_SCREENSHOTS") == "1"


@pytest.fixture
async def remote_centre(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    remote = RemoteJoining(open=True, max_waiting=10, grace=timedelta(minutes=10))
    live = await start_live_server(store, dataclasses.replace(setup, remote=remote), Clock())
    yield live
    await live.server.close()


@pytest.fixture
def scanner() -> Iterator[tuple[int, str]]:
    """A pseudo terminal for the kiosk's scanner: ask for it before the kiosk, so that
    the kiosk (and its scanner thread) stops before the port goes."""
    main, secondary = os.openpty()
    yield main, os.ttyname(secondary)
    os.close(main)
    os.close(secondary)


@pytest.fixture
async def scanning_kiosk(
    scanner, remote_centre: LiveServer, printer_url, start_kiosk_app
) -> tuple[Any, int]:
    """The kiosk, full size, on the remote centre, with a scanner; and the scanner's
    other end, to write codes to."""
    main, port = scanner
    kiosk = await start_kiosk_app(
        remote_centre.url, remote_centre.kiosk_token, printer_url, scanner=port, size=PORTRAIT
    )
    return kiosk, main


async def join(live: LiveServer, key: str, language: str = "en") -> Any:
    decision = await live.server.execute(
        cmd.IssueTicket(
            actor="remote:test",
            service="housing",
            ticket_id=f"phone-{key}".ljust(22, "0"),
            idempotency_key=f"join-{key}",
            language=language,
            channel=Channel.REMOTE,
        )
    )
    return decision.ticket


def status_url(ticket: Any) -> bytes:
    """What the phone's QR code holds (the server's status page template)."""
    return f"https://q.example/t/{ticket.id}\r\n".encode()


async def shot(kiosk: Any, name: str, tmp_path: Path) -> None:
    path = (ROOT / "docs" / "screenshots" / "kiosk" if FINAL else tmp_path) / f"{name}.png"
    await kiosk.screenshot(path, final=FINAL)
    await kiosk.saved()
    with Image.open(path) as picture:
        assert picture.size == tuple(kiosk.app.root.size)
        assert len(picture.convert("RGB").getcolors(1 << 16) or ()) > 2, f"{name} is blank"


async def test_a_scanned_phone_ticket_is_here_in_the_visitors_language(
    scanning_kiosk, remote_centre: LiveServer, printer_sim, tmp_path
) -> None:
    live, (kiosk, main) = remote_centre, scanning_kiosk
    walk_in = await kiosk.app.link.request(
        "issue_ticket", service="housing", idempotency_key="walk-in-before"
    )
    phone = await join(live, "welsh", "cy")
    assert not live.server.centre.tickets[phone.id].here

    os.write(main, status_url(phone))  # on the welcome screen, no language chosen
    await kiosk.wait_screen("here")
    assert live.server.centre.tickets[phone.id].here
    assert kiosk.app.language == "cy"  # the language chosen on the phone
    texts = kiosk.texts()
    assert "Diolch, rydych chi yn y ciw" in texts
    assert phone.number in texts
    assert "Pobl o'ch blaen: 1" in texts  # the walk-in joined first
    assert walk_in["ticket"]["number"] not in texts

    # scanned again (the next visitor's scan starts a new visit): already here, no error
    os.write(main, status_url(phone))
    await kiosk.until(
        lambda: (kiosk.controller.visit.here or {}).get("already"), "the second reply"
    )
    await kiosk.wait_screen("here")
    assert "Roeddech chi eisoes wedi dweud wrthym eich bod chi yma." in kiosk.texts()
    # nothing was printed for either scan: the phone's ticket is on the phone (the
    # walk-in's was asked for over the link, not through the screens, so not printed)
    assert printer_sim.tickets == []

    # Done starts again in the kiosk's own language
    await kiosk.tap("done")
    await kiosk.wait_screen("welcome")
    assert kiosk.app.language == "en"


async def test_an_arabic_visitor_and_a_language_chosen_at_the_kiosk(
    scanning_kiosk, remote_centre: LiveServer, tmp_path
) -> None:
    live, (kiosk, main) = remote_centre, scanning_kiosk
    arabic = await join(live, "arabic", "ar")
    os.write(main, status_url(arabic))
    await kiosk.wait_screen("here")
    assert kiosk.app.language == "ar" and kiosk.app.rtl
    assert "شكرًا، أنت الآن في قائمة الانتظار" in kiosk.texts()
    await kiosk.tap("done")

    # a visitor who chose Polish here keeps Polish, whatever the phone said
    other = await join(live, "chose", "ar")
    await kiosk.tap("pl")
    await kiosk.wait_screen("services")
    os.write(main, status_url(other))
    await kiosk.wait_screen("here")
    assert kiosk.app.language == "pl"
    assert "Dziękujemy, jesteś w kolejce" in kiosk.texts()


async def test_refusals_say_why_in_the_kiosks_language(
    scanning_kiosk, remote_centre: LiveServer, tmp_path
) -> None:
    live, (kiosk, main) = remote_centre, scanning_kiosk
    # a ticket taken at a kiosk
    taken_here = await kiosk.app.link.request(
        "issue_ticket", service="housing", idempotency_key="taken-here-1"
    )
    os.write(main, f"https://q.example/t/{taken_here['ticket']['id']}\r\n".encode())
    await kiosk.wait_screen("problem")
    assert kiosk.controller.visit.problem[0] == "here_not_remote"
    assert "You are already in the queue" in kiosk.texts()
    assert kiosk.current().other_text == ""  # no "take a ticket": they have one
    kiosk.controller.back()  # the problem screen's Back: where the scan was made
    await kiosk.wait_screen("welcome")

    # a remote ticket that has ended: in Welsh, as chosen at the kiosk
    gone = await join(live, "gone", "en")
    await live.server.execute(cmd.Cancel(actor="staff:mina", ticket_id=gone.id, reason="test"))
    await kiosk.tap("cy")
    await kiosk.wait_screen("services")
    os.write(main, status_url(gone))
    await kiosk.wait_screen("problem")
    assert kiosk.controller.visit.problem == (
        "here_ticket_ended",
        {"ticket": gone.number, "state": "cancelled"},
    )
    assert "Nid yw'r tocyn hwn yn y ciw mwyach" in kiosk.texts()
    await shot(kiosk, "here-ended-cy", tmp_path)
    await kiosk.tap("instead")  # take a ticket instead: the services, in Welsh
    await kiosk.wait_screen("services")
    kiosk.controller.reset()
    await kiosk.wait_screen("welcome")

    # no such ticket, typed by a keyboard-wedge scanner (a long address, then Enter)
    url = "https://walk-in-centre.example-council.gov.uk/queue/t/NoSuchTicketAtAll_0123"
    for char in url:
        kiosk.app._on_key(None, 0, 0, char)
    kiosk.app._on_key(None, 13, 0, None)
    await kiosk.wait_screen("problem")
    assert kiosk.controller.visit.problem[0] == "here_not_found"
    assert "We could not find this ticket" in kiosk.texts()
    await shot(kiosk, "here-not-found-en", tmp_path)
    assert kiosk.controller.visit.here is None


async def test_the_here_screen_in_every_language(
    scanning_kiosk, remote_centre: LiveServer, tmp_path
) -> None:
    """A picture of the ``here`` screen in each language (here-<lang>.png), each in its
    own words, for docs/kiosk.md's every screen in every language."""
    live, (kiosk, main) = remote_centre, scanning_kiosk
    for language in shipped_languages():
        ticket = await join(live, f"every-{language}", language)
        kiosk.controller.reset()
        await kiosk.wait_screen("welcome")
        os.write(main, status_url(ticket))
        await kiosk.until(
            lambda ticket=ticket: (
                (kiosk.controller.visit.here or {}).get("ticket", {}).get("id") == ticket.id
            ),
            f"the {language} ticket's reply",
        )
        await kiosk.wait_screen("here")
        assert kiosk.app.language == language
        assert Translator(language)("Thank you, you're in the queue") in kiosk.texts()
        await shot(kiosk, f"here-{language}", tmp_path)
