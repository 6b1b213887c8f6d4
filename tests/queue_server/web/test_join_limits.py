"""Joins per address behind a reverse proxy or not, and a join form that comes back
changed (issue 14 item 1, "rate limits per address"): in Debian's Chromium with
scripts off against a live server, each browser context a phone of its own (its own
cookie), as many as a test needs from one machine. The address a visitor is counted
by is ``net/client_address.py``'s (unit tests: tests/queue_server/net/)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from queue_server.core.model import CentreSetup, Channel
from queue_server.join_words import WORDS, join_translator
from queue_server.net.ratelimit import SignInLimiter
from queue_server.store import Store
from queue_server.web import install_routes
from tests.conftest import LiveServer, start_live_server
from tests.queue_server.web.test_join_page import PHONE

HOUR = 3600.0


@pytest.fixture
async def limited(store: Store, setup: CentreSetup) -> AsyncIterator[LiveServer]:
    """Joining open for housing and council tax, two joins per address an hour (three
    per phone, the default)."""
    remote = dataclasses.replace(
        setup.remote,
        open=True,
        services=frozenset({"housing", "council_tax"}),
        joins_per_address_per_hour=2,
    )
    live = await start_live_server(store, dataclasses.replace(setup, remote=remote))
    install_routes(live.server)
    yield live
    await live.server.close()


@pytest.fixture
async def phones(chromium: Any) -> AsyncIterator[Any]:
    """``await phones(forwarded_for=None, scripts=False)``: a new phone (its own cookies),
    each of its requests carrying ``X-Forwarded-For`` when given (as a proxy adds it)."""
    contexts = []

    async def new_phone(forwarded_for: str | None = None, scripts: bool = False) -> Any:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        context = await chromium.new_context(
            viewport=PHONE, java_script_enabled=scripts, extra_http_headers=headers
        )
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield new_phone
    for context in contexts:
        await context.close()


def remote_tickets(live: LiveServer) -> int:
    return sum(t.channel == Channel.REMOTE for t in live.server.centre.tickets.values())


async def join(live: LiveServer, phone: Any, service: str = "housing") -> int:
    """Join on ``phone``; the HTTP status of the page it lands on (303s followed)."""
    base = f"{live.http}/join/{live.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=en&service={service}&offer=seen")
    async with phone.expect_navigation() as landed:
        await phone.click("button:has-text('Join the queue')")
    return int((await landed.value).status)


async def assert_too_many(live: LiveServer, phone: Any, service: str = "council_tax") -> None:
    before = remote_tickets(live)
    assert await join(live, phone, service) == 429
    t = join_translator("en")
    assert await phone.locator("h1").inner_text() == t(WORDS["too_many_title"])
    assert t(WORDS["too_many"]) in await phone.locator("main").inner_text()
    assert remote_tickets(live) == before, "a refused join takes no ticket"


async def test_joins_are_limited_per_address_whatever_the_cookie(
    limited: LiveServer, phones: Any
) -> None:
    assert await join(limited, await phones()) == 200
    assert await join(limited, await phones()) == 200
    # a third phone (its own cookie, so not the per-phone limit) from the same address
    await assert_too_many(limited, await phones())
    assert remote_tickets(limited) == 2


async def test_behind_a_trusted_proxy_each_visitor_is_counted_by_their_own_address(
    limited: LiveServer, phones: Any
) -> None:
    # the test's requests come from 127.0.0.1: here, the centre's reverse proxy
    limited.server.trusted_proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    first, second = "203.0.113.10", "203.0.113.20"
    assert await join(limited, await phones(first)) == 200
    # what the visitor wrote into the header themselves (left of what the proxy saw)
    # is not believed: this is the first visitor again
    assert await join(limited, await phones(f"198.51.100.7, {first}")) == 200
    assert await join(limited, await phones(second)) == 200
    await assert_too_many(limited, await phones(first))
    assert await join(limited, await phones(second), "council_tax") == 200
    assert remote_tickets(limited) == 4


async def test_the_header_from_a_peer_not_trusted_is_ignored(
    limited: LiveServer, phones: Any
) -> None:
    limited.server.trusted_proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    assert await join(limited, await phones("203.0.113.10")) == 200
    assert await join(limited, await phones("203.0.113.20")) == 200
    # 127.0.0.1 is not a trusted proxy: all three are counted as 127.0.0.1
    await assert_too_many(limited, await phones("203.0.113.30"))


# ---------------------------------------------------------------- a changed form


async def post_changed(live: LiveServer, phone: Any, **changes: str) -> int:
    """The join form with its hidden fields changed, sent; the status of the page shown."""
    base = f"{live.http}/join/{live.setup.centre_id}"
    await phone.goto(f"{base}/confirm?lang=en&service=housing")
    for name, value in changes.items():
        await phone.locator(f"input[name={name}]").evaluate("(e, v) => { e.value = v; }", value)
    async with phone.expect_navigation() as landed:
        await phone.click("button:has-text('Join the queue')")
    return int((await landed.value).status)


@pytest.mark.parametrize(
    "changes",
    [{"lang": "xx"}, {"lang": ""}, {"key": "k" * 65}, {"key": ""}],
    ids=["unknown-language", "no-language", "key-too-long", "no-key"],
)
async def test_a_changed_form_gets_a_clear_400_and_no_ticket(
    limited: LiveServer, phones: Any, changes: dict[str, str]
) -> None:
    phone = await phones(scripts=True)
    assert await post_changed(limited, phone, **changes) == 400
    t = join_translator("en")
    assert await phone.locator("h1").inner_text() == t(WORDS["wrong_title"])
    body = await phone.locator("main").inner_text()
    assert t(WORDS["wrong_form"]) in body
    assert await phone.locator("main a", has_text=t(WORDS["start_again"])).count() == 1
    assert remote_tickets(limited) == 0


async def test_a_key_of_64_characters_is_still_taken(limited: LiveServer, phones: Any) -> None:
    phone = await phones(scripts=True)
    assert await post_changed(limited, phone, key="k" * 64) == 200
    assert "/t/" in phone.url
    assert remote_tickets(limited) == 1


# ---------------------------------------------------------------- staff sign-in


async def failed_sign_in(live: LiveServer, username: str, forwarded_for: str) -> str:
    """A wrong password for ``username`` over the websocket, through the proxy that
    says it forwarded for ``forwarded_for``; the error code of the reply."""
    headers = {"X-Forwarded-For": forwarded_for}
    async with connect(live.url, additional_headers=headers, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "hello", "username": username, "password": "wrong"}))
        reply = json.loads(await ws.recv())
    return str(reply["code"])


async def test_staff_sign_in_failures_are_counted_per_address_behind_the_proxy(
    limited: LiveServer,
) -> None:
    server = limited.server
    server.trusted_proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    server.limiter = SignInLimiter(per_account=3, per_address=3, window=300.0)
    guesser = "203.0.113.66"
    for name in ("alice", "bob", "mina"):
        assert await failed_sign_in(limited, name, guesser) == "not_authenticated"
    assert await failed_sign_in(limited, "zoe", guesser) == "rate_limited"
    # an adviser elsewhere, behind the same proxy, is not locked out by the guesser
    assert await failed_sign_in(limited, "zoe", "203.0.113.5") == "not_authenticated"
