"""A gateway of the council's own, plugged in from the centre's file (issue 14 item 2,
"Other gateways can plug into the same interface"): ``[notifications] sms_gateway``
names ``LoopbackSMS`` below, the server's own loading (``notify.configured``) makes it
from its table, and a visitor who opts in on the status page is texted "3 people ahead"
and the call, in their own language, through it.

``LoopbackSMS`` is a whole gateway, not a mock: it keeps what it is given as a
provider's outbox would, says from its table which languages it sends, and fails as a
provider can (``SendFailed``, worth a retry)."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from queue_server import views
from queue_server.client import QueueClient
from queue_server.config import parse_config
from queue_server.core import estimate_wait
from queue_server.notify.gateways import SMS, Outgoing, SendFailed
from queue_server.notify.notifier import Notifier, notifier_for
from queue_server.store import notifications as records
from tests.queue_server.web.test_feedback_page import http_post, path_of
from tests.queue_server.web.test_notify_journey import serve_one, settle
from tests.queue_server.web.test_notify_page import http_get
from tests.queue_server.web.test_ticket_page import COUNTER, adviser  # noqa: F401

pytestmark = pytest.mark.usefixtures("web")

EXAMPLE = (Path(__file__).resolve().parents[3] / "examples" / "centre.toml").read_text()


class LoopbackSMS:
    """Texts kept in memory (``outbox``), from ``sender`` (as SMS providers take one:
    up to 11 letters, digits or spaces), in the languages its table lists. ``busy``:
    how many tries to refuse, as a provider that is overloaded, before sending."""

    def __init__(self, settings: dict[str, Any]) -> None:
        sender = settings.get("sender")
        if not isinstance(sender, str) or not re.fullmatch(r"[A-Za-z0-9 ]{1,11}", sender):
            raise ValueError("sender must be 1 to 11 letters, digits or spaces")
        self.sender = sender
        self.languages = frozenset(settings.get("languages", ["en"]))
        self.outbox: list[Outgoing] = []
        self.busy = 0
        self._lock = threading.Lock()  # send runs in the notifier's worker threads

    def sends(self, channel: str, language: str) -> bool:
        return channel == SMS and language in self.languages

    def send(self, message: Outgoing) -> str | None:
        with self._lock:
            if self.busy:
                self.busy -= 1
                raise SendFailed("loopback SMS: busy", retry=True)
            self.outbox.append(message)
            return f"loopback-{len(self.outbox)}"


#: the centre's [notifications], as a council would write it for its own gateway
NOTIFICATIONS = f"""
[notifications]
open = true
people_ahead = 3
attempts = 3
retry_seconds = 0.05
sms_gateway = "{__name__}:LoopbackSMS"

[notifications.sms_gateway_config]
sender = "RIVERSIDE"
languages = ["en", "pl"]
"""


@pytest.fixture
async def plugged(web: Any) -> AsyncIterator[Notifier]:
    """The live server's notifier, made from the centre's file as ``walkin serve``
    makes it (the server closes it)."""
    config = parse_config(EXAMPLE + NOTIFICATIONS)
    made = notifier_for(config.notifications, web.store, web.setup.centre_id)
    assert made is not None
    web.server.notifier = made
    made.clock = web.server.clock  # as the server's start() sets it
    await made.start(web.server.centre.local_day(web.server.clock()))
    yield made


async def test_a_councils_own_gateway_texts_in_the_visitors_language(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    plugged: Notifier,
) -> None:
    gateway = plugged.gateways[SMS]
    assert isinstance(gateway, LoopbackSMS) and gateway.sender == "RIVERSIDE"
    for _ in range(4):
        await kiosk.issue("housing")
    mine = await kiosk.issue("housing", language="pl")  # four ahead
    page = await http_get(web.port, path_of(mine))
    assert 'id="mobile"' in page  # offered, in Polish
    assert "Please go to" not in page
    # the privacy notice does not say GOV.UK Notify sends it: the council's gateway does
    assert "Używamy Twojego numeru wyłącznie do wysyłania tych wiadomości o tym bilecie." in page
    assert "GOV.UK Notify" not in page

    gateway.busy = 1  # the first try is refused: retried
    status, _, _ = await http_post(
        web.port, path_of(mine), {"do": "notify", "mobile": "07700900982"}
    )
    assert status == 303
    await serve_one(adviser)  # three ahead
    await settle(plugged, 1)
    centre = web.server.centre
    ticket = centre.tickets[mine["id"]]
    estimate = estimate_wait(centre, mine["id"], web.server.clock())
    assert estimate.people_ahead == 3
    words = views.ticket_status(centre, ticket, web.server.clock(), estimate)["words"]
    assert words["lang"] == "pl"
    (ahead,) = gateway.outbox
    assert (ahead.channel, ahead.address, ahead.language) == (SMS, "+447700900982", "pl")
    assert ahead.text.startswith(f"{mine['number']}: {words['headline']}")
    assert "3" in words["headline"] and "ahead" not in words["headline"]

    for _ in range(3):  # the other three, then its turn
        await serve_one(adviser)
    await adviser.request("call_next", counter=COUNTER)
    await settle(plugged, 2)
    called = gateway.outbox[1]
    said = views.ticket_status(centre, centre.tickets[mine["id"]], web.server.clock())["words"]
    assert called.text == f"{mine['number']}: {said['call']}"
    assert COUNTER in called.text and "Please go to" not in called.text
    sent = records.messages_of(web.store, mine["id"])
    assert [(m.kind, m.status, m.attempts, m.reference) for m in sent] == [
        ("ahead", "sent", 2, "loopback-1"),
        ("called", "sent", 1, "loopback-2"),
    ]


async def test_a_language_the_gateway_does_not_send_is_not_offered(
    web: Any, kiosk: Any, plugged: Notifier
) -> None:
    ticket = await kiosk.issue("housing", language="ar")  # the table lists en and pl
    assert not plugged.offers(SMS, "ar") and plugged.offers(SMS, "pl")
    page = await http_get(web.port, path_of(ticket))
    assert 'id="mobile"' not in page and 'class="notify"' not in page
    status, _, body = await http_post(
        web.port, path_of(ticket), {"do": "notify", "mobile": "07700900983"}
    )
    assert status == 409 and '<html lang="ar"' in body  # "does not send these messages"
    assert records.requests_of(web.store, ticket["id"]) == []
