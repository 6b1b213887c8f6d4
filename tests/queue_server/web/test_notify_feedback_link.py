"""The feedback question sent after the visit (issue 14 item 3, "optionally an SMS
link"): with ``[notifications] feedback_link``, a visitor who asked to be told gets,
once their visit is completed, "How satisfied were you with the service today?" and
the link to their ticket's page, where the question is answered, in their language,
through GOV.UK Notify's stand-in. Not for a no-show, not when the centre does not ask
for feedback, not when the link is not asked for."""

from __future__ import annotations

import dataclasses
from typing import Any

from queue_server.client import QueueClient
from queue_server.notify.notifier import Notifier
from queue_server.store import notifications as records
from tests.queue_server.notify.standins import StandIn
from tests.queue_server.web.test_feedback_page import http_post, path_of
from tests.queue_server.web.test_notify_journey import (  # noqa: F401  (fixtures)
    notifier,
    notify,
    settle,
    texts,
)
from tests.queue_server.web.test_ticket_page import COUNTER, adviser  # noqa: F401

FINISH = {"outcome": "resolved", "avoidable": False}


def with_link(web: Any, notifier: Notifier, on: bool = True) -> None:  # noqa: F811
    notifier.rules = dataclasses.replace(notifier.rules, feedback_link=on)
    notifier.status_url_template = lambda: web.server.status_url_template


async def opted_in(
    web: Any, kiosk: Any, language: str = "en", mobile: str = "07700 900 982"
) -> dict[str, Any]:
    """A ticket whose visitor asked for texts (one waiting ticket per number)."""
    ticket = await kiosk.issue("housing", language=language)
    status, _, _ = await http_post(web.port, path_of(ticket), {"do": "notify", "mobile": mobile})
    assert status == 303
    return ticket


async def test_the_question_and_its_link_after_the_visit_in_the_visitors_language(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,  # noqa: F811
    notify: StandIn,  # noqa: F811
) -> None:
    with_link(web, notifier)
    english = await opted_in(web, kiosk)
    polish = await opted_in(web, kiosk, "pl", "07700 900 983")
    for _ in range(2):
        await adviser.request("call_next", counter=COUNTER)
        await adviser.request("start_service", counter=COUNTER)
        await adviser.request("complete", counter=COUNTER, **FINISH)
    # each: "you are next" or "1 ahead", called, and the question
    await settle(notifier, 6)
    link = web.server.status_url_template.replace("{ticket_id}", english["id"])
    assert f"{english['number']}: How satisfied were you with the service today? {link}" in texts(
        notify
    )
    polish_link = web.server.status_url_template.replace("{ticket_id}", polish["id"])
    (said,) = [t for t in texts(notify) if t.endswith(polish_link)]
    assert "How satisfied" not in said  # the catalogue's Polish, not English
    kinds = [m.kind for m in records.messages_of(web.store, english["id"])]
    assert kinds.count("feedback") == 1 and kinds[-1] == "feedback"


async def test_no_question_for_a_no_show_or_when_not_asked_for(
    web: Any,
    kiosk: Any,
    adviser: QueueClient,  # noqa: F811
    notifier: Notifier,  # noqa: F811
    notify: StandIn,  # noqa: F811
) -> None:
    with_link(web, notifier)
    missed = await opted_in(web, kiosk)
    await adviser.request("call_next", counter=COUNTER)
    for _ in range(web.setup.policy.max_recalls):
        await adviser.request("recall", counter=COUNTER)
    await adviser.request("no_show", counter=COUNTER)
    with_link(web, notifier, on=False)  # the link not asked for
    seen = await opted_in(web, kiosk, mobile="07700 900 983")
    await adviser.request("call_next", counter=COUNTER)
    await adviser.request("start_service", counter=COUNTER)
    await adviser.request("complete", counter=COUNTER, **FINISH)
    await settle(notifier, 2 + web.setup.policy.max_recalls + 2)
    for ticket in (missed, seen):
        kinds = [m.kind for m in records.messages_of(web.store, ticket["id"])]
        assert "feedback" not in kinds
    assert not [t for t in texts(notify) if "How satisfied" in t]
