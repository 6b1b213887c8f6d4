"""Being told when it is nearly your turn (issue 14 item 2), end to end without a
browser: a live server with every page, a ticket's visitor opting in by posting the
status page's form (as a browser with scripts off would), an adviser moving the queue,
and GOV.UK Notify's and a push service's stand-ins on loopback receiving what the
real client libraries send. What is recorded is read from the database."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from py_vapid import Vapid02

from queue_server import views
from queue_server.client import QueueClient
from queue_server.core import estimate_wait
from queue_server.notify.gateways import EMAIL, PUSH, SMS, NotifyGateway, WebPushGateway
from queue_server.notify.notifier import AHEAD_CHECK_SECONDS, Notifier, Rules
from queue_server.store import notifications as records
from tests.queue_server.notify.standins import (
    API_KEY,
    StandIn,
    Subscription,
    notify_standin,
    push_standin,
)
from tests.queue_server.web.test_feedback_page import http_post, path_of
from tests.queue_server.web.test_ticket_page import COUNTER, adviser  # noqa: F401

pytestmark = pytest.mark.usefixtures("web")

SMS_EN = "f33517ff-2a88-4f6e-b855-c550268ce08a"
SMS_PL = "0a7c6ff2-4a83-4b8e-9e5e-6a1d2f1b9c11"
EMAIL_EN = "6b7c2c1e-9a55-4f4a-8d7f-2a8b7f5a1e02"


@pytest.fixture
def notify() -> Iterator[StandIn]:
    with notify_standin() as standin:
        yield standin


@pytest.fixture
def push_service() -> Iterator[StandIn]:
    with push_standin() as standin:
        yield standin


@pytest.fixture
async def notifier(web: Any, notify: StandIn) -> AsyncIterator[Notifier]:
    """The live server's notifier: SMS and e-mail through the Notify stand-in (English
    and Polish SMS templates), Web Push; told at 3 people ahead and when called; three
    tries, 50 ms apart at first."""
    vapid = Vapid02()
    vapid.generate_keys()
    gateway = NotifyGateway(
        API_KEY,
        notify.url,
        timeout=5,
        sms_templates={"en": SMS_EN, "pl": SMS_PL},
        email_templates={"en": EMAIL_EN},
    )
    push = WebPushGateway(vapid.private_pem().decode(), "mailto:queue@example.gov.uk")
    made = Notifier(
        web.store,
        web.setup.centre_id,
        Rules(people_ahead=3, when_called=True, attempts=3, retry_seconds=0.05),
        {SMS: gateway, EMAIL: gateway, PUSH: push},
        push_public_key=push.public_key,
    )
    web.server.notifier = made
    made.clock = web.server.clock  # as the server's start() sets it
    await made.start(web.server.centre.local_day(web.server.clock()))
    yield made  # the server closes it


async def opt_in(
    web: Any, ticket: dict[str, Any], **fields: str
) -> tuple[int, dict[str, str], str]:
    return await http_post(web.port, path_of(ticket), {"do": "notify", **fields})


async def settle(notifier: Notifier, count: int, timeout: float = 10.0) -> None:
    """Until ``count`` sends have finished (sent or failed)."""
    async with asyncio.timeout(timeout):
        while notifier.finished < count:
            await asyncio.sleep(0.02)


async def serve_one(client: QueueClient) -> None:
    await client.request("call_next", counter=COUNTER)
    await client.request("start_service", counter=COUNTER)
    await client.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)


def texts(standin: StandIn) -> list[str]:
    return [r.json()["personalisation"]["message"] for r in standin.received]


async def test_sms_when_three_ahead_when_called_and_again_at_a_recall(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
) -> None:
    tickets = [await kiosk.issue("housing") for _ in range(6)]
    mine = tickets[5]  # five ahead of it
    status, headers, _ = await opt_in(web, mine, mobile="07700 900 982")
    assert status == 303 and headers["location"] == path_of(mine)
    (request,) = records.requests_of(web.store, mine["id"])
    assert (request.channel, request.address, request.active) == (SMS, "+447700900982", True)

    await serve_one(adviser)  # four ahead: nothing yet
    await asyncio.sleep(AHEAD_CHECK_SECONDS + 0.3)
    assert notify.received == []
    await serve_one(adviser)  # three ahead
    await settle(notifier, 1)
    (first,) = notify.received
    assert first.path == "/v2/notifications/sms"
    body = first.json()
    assert body["phone_number"] == "+447700900982"
    assert body["template_id"] == SMS_EN
    assert body["personalisation"]["message"].startswith(
        f"{mine['number']}: 3 people ahead of you. Estimated wait: about "
    )
    assert body["reference"].startswith("walkin-")

    for _ in range(3):  # once only: two ahead, one, next
        await serve_one(adviser)
    await adviser.request("call_next", counter=COUNTER)  # its turn
    await settle(notifier, 2)
    assert texts(notify)[1] == f"{mine['number']}: Please go to {COUNTER} now."
    await adviser.request("recall", counter=COUNTER)
    await settle(notifier, 3)
    assert texts(notify)[2] == texts(notify)[1]

    sent = records.messages_of(web.store, mine["id"])
    assert [(m.kind, m.status, m.attempts, m.channel) for m in sent] == [
        ("ahead", "sent", 1, SMS),
        ("called", "sent", 1, SMS),
        ("recalled", "sent", 1, SMS),
    ]
    assert all(m.reference and len(m.reference) == 36 for m in sent)  # Notify's ids
    # nobody else was told anything
    assert len(notify.received) == 3


async def test_minutes_before_the_estimate_tells_once_when_it_drops_to_ten(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
) -> None:
    """``minutes_before = 10`` alone (``people_ahead = 0``): nothing while the estimate
    is over 10 minutes, one "ahead" text as it reaches 10, moved by the queue and then
    by the clock (the server's sweep, as every 30 seconds), never a second."""
    notifier.rules = dataclasses.replace(notifier.rules, people_ahead=0, minutes_before=10)
    centre = web.server.centre
    first = await kiosk.issue("housing")
    mine = await kiosk.issue("housing")  # one ahead: called in about 15 minutes
    assert (await opt_in(web, mine, mobile="07700 900 321"))[0] == 303
    await adviser.request("call_next", counter=COUNTER)
    await adviser.request("start_service", counter=COUNTER)  # next: when the visit ends
    started = centre.tickets[first["id"]].service_started_at
    assert started is not None
    # Housing's visits take 15 minutes (its typical length: none seen today), so mine
    # is estimated at 15 minutes less the visit's time so far
    for minutes_in in (0, 2, 4):  # 15, 13, 11 minutes: not yet
        at = started + timedelta(minutes=minutes_in)
        assert estimate_wait(centre, mine["id"], at).minutes == 15 - minutes_in
        notifier.sweep(centre, at)
        assert notifier.queued == 0
    ten = started + timedelta(minutes=5)
    estimate = estimate_wait(centre, mine["id"], ten)
    assert (estimate.people_ahead, estimate.minutes) == (0, 10)
    notifier.sweep(centre, ten)
    assert notifier.queued == 1
    for minutes_in in (6, 9, 14):  # still ahead, told already
        notifier.sweep(centre, started + timedelta(minutes=minutes_in))
    assert notifier.queued == 1
    await settle(notifier, 1)
    said = views.ticket_status(centre, centre.tickets[mine["id"]], ten, estimate)["words"]
    assert texts(notify) == [f"{mine['number']}: {said['headline']} {said['detail']}"]
    assert said["headline"] == "You are next." and said["detail"].startswith("Estimated wait")
    await serve_one_after_the_current(adviser)  # mine is called: "called", not "ahead"
    await settle(notifier, 2)
    assert [m.kind for m in records.messages_of(web.store, mine["id"])] == ["ahead", "called"]
    assert texts(notify)[1] == f"{mine['number']}: Please go to {COUNTER} now."


async def serve_one_after_the_current(client: QueueClient) -> None:
    """Complete the visit under way at the counter, then call the next."""
    await client.request("complete", counter=COUNTER, outcome="resolved", avoidable=False)
    await client.request("call_next", counter=COUNTER)


async def test_failures_are_retried_then_recorded_never_crashing(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
) -> None:
    first = await kiosk.issue("housing")
    second = await kiosk.issue("housing")
    notify.fail_next = [500, 503]  # down twice, then back: sent at the third try
    assert (await opt_in(web, first, mobile="07700900111"))[0] == 303
    await settle(notifier, 1)
    (ahead,) = records.messages_of(web.store, first["id"])
    assert (ahead.status, ahead.attempts, ahead.last_error) == ("sent", 3, None)
    assert len(notify.received) == 3

    notify.fail_next = [500, 500, 500]  # down for good: failed after three tries
    assert (await opt_in(web, second, mobile="+44 7700 900222"))[0] == 303
    await settle(notifier, 2)
    (failed,) = records.messages_of(web.store, second["id"])
    assert failed.status == "failed" and failed.attempts == 3
    assert failed.last_error and failed.last_error.startswith("Notify 500")
    assert "7700" not in failed.last_error

    notify.fail_next = [400]  # Notify refuses it: not worth a retry
    await adviser.request("call_next", counter=COUNTER)
    await settle(notifier, 3)
    called = records.messages_of(web.store, first["id"])[-1]
    assert (called.kind, called.status, called.attempts) == ("called", "failed", 1)
    # the server went on answering throughout
    await adviser.request("recall", counter=COUNTER)
    await settle(notifier, 4)
    assert records.messages_of(web.store, first["id"])[-1].status == "sent"


async def test_polish_ticket_gets_the_polish_template_and_words(
    web: Any, kiosk: Any, notifier: Notifier, notify: StandIn
) -> None:
    ticket = await kiosk.issue("housing", language="pl")
    assert (await opt_in(web, ticket, mobile="07700900333"))[0] == 303
    await settle(notifier, 1)
    (got,) = notify.received
    assert got.json()["template_id"] == SMS_PL
    message = got.json()["personalisation"]["message"]
    # the status page's words in Polish; no counter is open, so no estimate in a text
    centre = web.server.centre
    said = views.ticket_status(centre, centre.tickets[ticket["id"]], web.server.clock())["words"]
    assert said["lang"] == "pl"
    assert message == f"{ticket['number']}: {said['headline']}"


async def test_email_and_web_push(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
    push_service: StandIn,
) -> None:
    ticket = await kiosk.issue("housing")
    assert (await opt_in(web, ticket, email="Sam@Example.com"))[0] == 303
    phone = Subscription.new(f"{push_service.url}/push/phone-1")
    _ticket_page(web).notify.allow_loopback_push = True  # a stand-in on http://127.0.0.1
    status, _, _ = await http_post(
        web.port,
        path_of(ticket),
        {"do": "push", "subscription": json.dumps(phone.info())},
    )
    assert status == 303
    await settle(notifier, 2)
    (email,) = notify.received
    assert email.path == "/v2/notifications/email"
    assert email.json()["email_address"] == "sam@example.com"
    (pushed,) = push_service.received
    assert pushed.headers["content-encoding"] == "aes128gcm"
    said = phone.decrypt(pushed.body)
    assert said["title"] == ticket["number"]
    assert said["body"].startswith(f"{ticket['number']}: You are next.")
    await adviser.request("call_next", counter=COUNTER)
    await settle(notifier, 4)
    called = phone.decrypt(push_service.received[1].body)
    assert called == {
        "title": ticket["number"],
        "body": f"{ticket['number']}: Please go to {COUNTER} now.",
    }


def _ticket_page(web: Any) -> Any:
    """The server's TicketPage (its ``serve`` is the /t/ route)."""
    return web.server.http_prefix_routes["/t/"].__self__


async def test_the_number_is_erased_after_its_day(web: Any, kiosk: Any, notifier: Notifier) -> None:
    ticket = await kiosk.issue("housing")
    assert (await opt_in(web, ticket, mobile="07700900444"))[0] == 303
    # the day's roll-up, the day after: every earlier day's number is erased
    today = web.server.centre.local_day(web.server.clock())
    tomorrow_clock = web.server.clock() + timedelta(days=1)
    erased = await notifier.erase_before(today + timedelta(days=1), tomorrow_clock)
    assert erased == 1
    (row,) = records.requests_of(web.store, ticket["id"])
    assert (row.address, row.active) == (None, False)
    assert row.erased_at is not None
    assert notifier.requests_of(ticket["id"]) == []
    # the server's own daily roll-up erases earlier days' and keeps today's
    other = await kiosk.issue("housing")
    assert (await opt_in(web, other, mobile="07700900555"))[0] == 303
    yesterday = records.NotificationRequestRow(
        centre=web.setup.centre_id,
        day=today - timedelta(days=1),
        ticket_id="an-earlier-days-ticket-id",
        channel=SMS,
        address="+447700900666",
        language="en",
        created_at=web.server.clock() - timedelta(days=1),
    )
    records.add_request(web.store, yesterday)
    web.server._rolled_up_before = None
    await web.server.roll_up_closed_days()
    (kept,) = records.requests_of(web.store, other["id"])
    assert kept.address == "+447700900555"
    (gone,) = records.requests_of(web.store, "an-earlier-days-ticket-id")
    assert gone.address is None and gone.erased_at is not None


async def test_a_restarted_notifier_takes_up_todays_requests(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
) -> None:
    ticket = await kiosk.issue("housing")
    assert (await opt_in(web, ticket, mobile="07700900777"))[0] == 303
    await settle(notifier, 1)
    # a message the server had not sent when it stopped (a row left "queued")
    left = records.NotificationMessageRow(
        centre=web.setup.centre_id,
        day=records.requests_of(web.store, ticket["id"])[0].day,
        request_id=records.requests_of(web.store, ticket["id"])[0].id or 0,
        ticket_id=ticket["id"],
        channel=SMS,
        kind="called",
        status="queued",
        created_at=web.server.clock(),
        updated_at=web.server.clock(),
    )
    records.add_message(web.store, left)
    await notifier.close()
    # a new server process: its notifier reads today's requests and what was sent
    again = Notifier(web.store, web.setup.centre_id, notifier.rules, notifier.gateways)
    web.server.notifier = again
    await again.start(web.server.centre.local_day(web.server.clock()))
    assert [r.channel for r in again.requests_of(ticket["id"])] == [SMS]
    again.check_ahead(web.server.centre, web.server.clock())
    await asyncio.sleep(0.2)
    assert len(notify.received) == 1  # "ahead" is not sent twice
    abandoned = records.messages_of(web.store, ticket["id"])[1]
    assert (abandoned.status, abandoned.last_error) == (
        "failed",
        "the server stopped before sending it",
    )
    await adviser.request("call_next", counter=COUNTER)
    await settle(again, 1)
    assert texts(notify)[1] == f"{ticket['number']}: Please go to {COUNTER} now."


async def test_a_visitors_messages_go_in_order_and_a_stale_one_is_dropped(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
) -> None:
    notifier.rules = dataclasses.replace(notifier.rules, retry_seconds=1.0)
    ticket = await kiosk.issue("housing")
    notify.fail_next = [500]  # "You are next" fails once; its retry is a second away
    assert (await opt_in(web, ticket, mobile="07700900888"))[0] == 303
    await asyncio.to_thread(notify.wait_for, 1)
    await adviser.request("call_next", counter=COUNTER)  # called meanwhile
    await settle(notifier, 2)
    ahead, called = records.messages_of(web.store, ticket["id"])
    assert (ahead.kind, ahead.status, ahead.attempts) == ("ahead", "superseded", 1)
    assert ahead.last_error == "a newer message was due; before: Notify 500: down"
    assert (called.kind, called.status) == ("called", "sent")
    # the stand-in saw the failed try, then the call: never "next" after "go to"
    assert len(notify.received) == 2
    assert texts(notify)[1] == f"{ticket['number']}: Please go to {COUNTER} now."


async def test_what_became_of_each_text_is_asked_of_notify(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,
    notify: StandIn,
) -> None:
    first = await kiosk.issue("housing")
    second = await kiosk.issue("housing")
    assert (await opt_in(web, first, mobile="07700900101"))[0] == 303
    await settle(notifier, 1)
    notify.delivery = "sending"  # on its way: nothing known yet
    assert await notifier.poll_deliveries() == 0
    (message,) = records.messages_of(web.store, first["id"])
    assert message.status == "sent"
    assert notify.asked == [f"/v2/notifications/{message.reference}"]
    notify.delivery = "delivered"
    assert await notifier.poll_deliveries() == 1
    assert records.messages_of(web.store, first["id"])[0].status == "delivered"
    assert await notifier.poll_deliveries() == 0  # settled: not asked again
    assert len(notify.asked) == 2

    assert (await opt_in(web, second, mobile="07700900102"))[0] == 303
    await settle(notifier, 2)
    notify.delivery = "permanent-failure"  # e.g. the phone was switched off for days
    # a restarted server asks again after the day's unsettled messages
    await notifier.close()
    again = Notifier(web.store, web.setup.centre_id, notifier.rules, notifier.gateways)
    web.server.notifier = again
    await again.start(web.server.centre.local_day(web.server.clock()))
    assert await again.poll_deliveries() == 1
    (failed,) = records.messages_of(web.store, second["id"])
    assert (failed.status, failed.last_error) == ("undelivered", "Notify: permanent-failure")
    # Notify down while asked: kept to ask at the next sweep, nothing recorded
    third = await kiosk.issue("housing")
    assert (await opt_in(web, third, mobile="07700900103"))[0] == 303
    await settle(again, 1)
    notify.delivery = "delivered"
    url = notify.url
    again.gateways[SMS]._client.base_url = "http://127.0.0.1:9"  # nothing listens there
    assert await again.poll_deliveries() == 0
    again.gateways[SMS]._client.base_url = url
    assert await again.poll_deliveries() == 1
    assert records.messages_of(web.store, third["id"])[0].status == "delivered"
