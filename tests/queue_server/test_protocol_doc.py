"""docs/protocol.md, checked against the code and against a live server.

The page's examples are fenced by what they are (see its "How to read the examples"):
```` ```json request as=ROLE ````, ```` ```json invalid as=ROLE ```` (wrong on purpose),
```` ```json reply as=ROLE ```` (answering the message just above it),
```` ```json push as=ROLE ```` and ```` ```json response path=/PATH status=NNN ````
(with ``origin=URL``: a websocket handshake with that ``Origin`` header).
These tests check that

1. every example request decodes with ``protocol.decode`` (and every invalid one does
   not), every reply answers its request (``re``), and roles send only what they may;
2. every message type, event kind, push type and error code has an example, and each
   message's "Sent by" line is what ``server.PERMISSIONS`` says;
3. a real ``QueueServer`` and the real ``QueueClient`` replay the documented morning
   (sign in, open, issue, check in, call, recall, start, complete, park, transfer, ...)
   and every reply and push has the fields of the documented one. Values that change
   from run to run (ids, times, numbers) are not compared; the shape is;
4. the web pages' part does too: a staff sign-in's session, resuming it, ``sign_out``,
   a session ending when idle and at its fixed age, the sign-in rate limit, a visitor's
   ``ticket_status`` pushes, the manager's ``dashboard`` and ``report`` (JSON and CSV),
   and the ``Origin`` check.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from queue_server.client import AuthenticationFailed, QueueClient, RemoteError
from queue_server.core import centre as centre_module
from queue_server.core import commands as cmd
from queue_server.core.errors import InvalidRequest, OperatorError, WalkinError
from queue_server.core.events import EVENT_TYPES
from queue_server.core.model import Channel
from queue_server.net import protocol, staff_sessions, wire
from queue_server.net import server as server_module
from queue_server.reporting import reports

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
FENCE = re.compile(
    r"^```json (request|invalid|reply|push|response)((?: [a-z]+=\S+)*)\n(.*?)^```$", re.M | re.S
)
#: tests/conftest.py makes every staff account of a live server with this password
STAFF_PASSWORD = "correct horse battery"
PUSH_TYPES = (
    "welcome",
    "snapshot",
    "event",
    "call",
    "queue",
    "counters",
    "device_status",
    "ticket_status",
    "session_expired",
    "print_ticket",
    "offline",
)
#: pushes checked apart, not by the morning: the web pages' (a visitor's status page,
#: staff sessions: ``test_the_web_pages_part_replays_on_a_live_server``) and a reprint's
#: (``test_reprints_replay_on_a_live_server``)
WEB_PUSHES = frozenset({"ticket_status", "session_expired", "print_ticket"})
#: every role a client can have, a visitor's status page included
ROLES = server_module.EVERYONE | {server_module.VISITOR}
#: maps keyed by data (service codes, counter names, hours), not by field names
KEYED_BY_DATA = ("services", "counters", "centres", "by_hour", "groups", "waiting_by_service")


@dataclass
class Example:
    kind: str  # request | invalid | reply | push | response
    attrs: dict[str, str]
    value: Any
    line: int
    reply: Example | None = None

    @property
    def role(self) -> str:
        return self.attrs.get("as", "")

    @property
    def type(self) -> str:
        return str(self.value.get("type", ""))

    def __str__(self) -> str:
        return f"docs/protocol.md line {self.line}"


def parse_examples(text: str) -> list[Example]:
    examples: list[Example] = []
    for match in FENCE.finditer(text):
        kind, attrs, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        try:
            value = json.loads(body)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"docs/protocol.md line {line}: not JSON: {exc}") from None
        pairs = dict(a.split("=", 1) for a in attrs.split())
        example = Example(kind, pairs, value, line)
        if kind == "reply" and examples and examples[-1].kind in ("request", "invalid"):
            assert examples[-1].reply is None
            examples[-1].reply = example
        examples.append(example)
    return examples


DOC_TEXT = DOC.read_text(encoding="utf-8")
EXAMPLES = parse_examples(DOC_TEXT)
REQUESTS = [e for e in EXAMPLES if e.kind == "request"]
SENT = [e for e in EXAMPLES if e.kind in ("request", "invalid")]
PUSHES = [e for e in EXAMPLES if e.kind == "push"]


def following(e: Example, kind: str, type_: str) -> Example:
    """The first example after ``e`` in the page of this kind and type."""
    at = next(i for i, x in enumerate(EXAMPLES) if x is e)
    return next(x for x in EXAMPLES[at + 1 :] if x.kind == kind and x.type == type_)


def hello_example(role: str, field: str, refused: bool = False) -> Example:
    """The first documented hello of ``role`` that carries ``field``, accepted (no
    reply: a welcome follows) or refused."""
    for e in REQUESTS:
        if e.type == "hello" and e.role == role and field in e.value:
            if (e.reply is not None) == refused:
                return e
    raise AssertionError(f"docs/protocol.md has no hello as={role} with {field!r}")


def example(type_: str, role: str | None = None, **fields: Any) -> Example:
    """The first documented request of ``type_`` (sent by ``role``, with these fields)
    that succeeds."""
    for e in REQUESTS:
        if e.type != type_ or (role is not None and e.role != role):
            continue
        if e.reply is None or e.reply.value["type"] != "ok":
            continue
        if all(e.value.get(k) == v for k, v in fields.items()):
            return e
    raise AssertionError(f"docs/protocol.md has no {type_!r} request like {fields}")


def failing(code: str, type_: str | None = None) -> Example:
    """The first documented message (of ``type_``) refused with ``code``."""
    for e in SENT:
        if e.reply is not None and e.reply.value.get("code") == code:
            if type_ is None or e.type == type_:
                return e
    raise AssertionError(f"docs/protocol.md has no {type_ or 'message'} refused with {code!r}")


def assert_same_shape(actual: Any, documented: Any, where: str) -> None:
    """Same keys at every level; lists compared by their first items; ``null`` on
    either side matches anything (a field that is sometimes empty)."""
    if documented is None or actual is None:
        return
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(documented), (
            f"{where}: fields differ from the doc: "
            f"only on the wire {sorted(set(actual) - set(documented))}, "
            f"only in the doc {sorted(set(documented) - set(actual))}"
        )
        for key, value in documented.items():
            assert_same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        if actual and documented:
            assert_same_shape(actual[0], documented[0], f"{where}[0]")
    else:
        assert not isinstance(actual, dict | list), f"{where}: expected a scalar, got {actual!r}"


def by_value(value: Any) -> Any:
    """``value`` with its maps keyed by data (``KEYED_BY_DATA``: a report's services,
    counters and hours) made lists of their values, and a dashboard's ``alerts`` keyed by
    kind (the first of each), so that shapes compare whichever services, counters, hours
    and alerts a day happens to have."""
    if isinstance(value, list):
        return [by_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    shaped = {}
    for key, item in value.items():
        if key in KEYED_BY_DATA and isinstance(item, dict):
            shaped[key] = [by_value(v) for v in item.values()]
        elif key == "alerts" and isinstance(item, list):
            shaped[key] = {a["kind"]: by_value(a) for a in reversed(item)}
        else:
            shaped[key] = by_value(item)
    return shaped


def type_of(cls: type[protocol.Message]) -> str:
    return str(cls.model_fields["type"].annotation.__args__[0])  # type: ignore[union-attr]


def error_codes() -> set[str]:
    """Every error code: the error classes' (the server's own included) and the
    per-instance check-in codes the core raises. Operator errors (a bad file or argument
    for ``walkin``) never go on the wire."""
    codes = set()
    pending: list[type[WalkinError]] = [WalkinError]
    while pending:
        cls = pending.pop()
        if issubclass(cls, OperatorError):
            continue
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    assert wire.TooLarge.code in codes  # the server's subclasses are loaded
    source = inspect.getsource(centre_module)
    check_in = set(re.findall(r'CheckInRefused\(\s*"(\w+)"', source))
    assert check_in, "no check-in codes found in core/centre.py"
    return codes | check_in


# ---------------------------------------------------------------- 1. the examples


def test_every_request_example_decodes() -> None:
    assert len(REQUESTS) > 30
    for e in REQUESTS:
        try:
            message = protocol.decode(e.value)
        except WalkinError as exc:
            raise AssertionError(f"{e}: {exc}") from None
        assert e.role in ROLES, f"{e}: say who sends it (as=ROLE)"
        allowed = server_module.PERMISSIONS.get(type(message), frozenset())
        if e.reply is not None and e.reply.value["type"] == "ok":
            assert e.role in allowed, f"{e}: a {e.role} may not send {e.type!r}"


def test_every_invalid_example_is_refused_by_decode() -> None:
    invalid = [e for e in SENT if e.kind == "invalid"]
    assert invalid
    for e in invalid:
        with pytest.raises(InvalidRequest):
            protocol.decode(e.value)
        assert e.reply is not None and e.reply.value["type"] == "error", e


def test_every_reply_answers_its_request() -> None:
    for e in EXAMPLES:
        if e.kind != "reply":
            continue
        assert e.value["type"] in ("ok", "error"), f"{e}: a reply is ok or error"
        assert "re" in e.value, f"{e}: a reply has re"
        if e.value["type"] == "error":
            assert {"code", "message", "details"} <= set(e.value), e
    for e in SENT:
        if e.reply is not None:
            assert e.reply.value["re"] == e.value.get("id"), f"{e.reply}: re is not the id"
            assert e.reply.role == e.role, f"{e.reply}: answered to another role"
    orphans = [e for e in EXAMPLES if e.kind == "reply" and not any(r.reply is e for r in SENT)]
    for e in orphans:  # answers to frames that were not JSON or too large
        assert e.value["type"] == "error" and e.value["re"] is None, e


def test_pushes_and_responses_are_well_formed() -> None:
    for e in PUSHES:
        assert e.type in PUSH_TYPES, f"{e}: unknown push type {e.type!r}"
        assert "re" not in e.value, f"{e}: a push answers nothing"
        assert e.role in ROLES, f"{e}: say who receives it (as=ROLE)"
        assert (e.role == server_module.VISITOR) == (e.type == "ticket_status") or (
            e.type == "welcome"
        ), f"{e}: visitors receive welcome and ticket_status only, and only they do"
        if e.type == "session_expired":
            assert e.role in server_module.STAFF, f"{e}: only staff have sessions"
        if e.type == "print_ticket":
            assert e.role == server_module.KIOSK, f"{e}: only kiosks print"
    responses = [e for e in EXAMPLES if e.kind == "response"]
    assert {e.attrs.get("path") for e in responses} >= {"/healthz", "/ws"}
    assert all(e.attrs.get("status", "").isdigit() for e in responses), "status=NNN"
    # every ```json fence follows the convention, so none escapes these checks
    assert DOC_TEXT.count("\n```json") == len(EXAMPLES)


# ---------------------------------------------------------------- 2. coverage


def test_every_message_type_is_documented_with_an_example() -> None:
    documented = {e.type for e in REQUESTS}
    assert protocol.MESSAGE_TYPES <= documented, protocol.MESSAGE_TYPES - documented
    for type_ in protocol.MESSAGE_TYPES:
        assert f"\n### `{type_}`\n" in DOC_TEXT, f"no section for {type_!r}"


def messages_section() -> str:
    after = DOC_TEXT.split("\n## Client messages\n", 1)[1]
    return after.split("\n## ", 1)[0]


def test_sent_by_lines_match_the_permissions() -> None:
    sections = re.split(r"^### `(\w+)`$", messages_section(), flags=re.M)
    sent_by = {}
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        found = re.search(r"^\*\*Sent by:\*\* (.+)$", body, re.M)
        assert found, f"section {name!r} has no **Sent by:** line"
        sent_by[name] = found.group(1)
    assert set(sent_by) >= protocol.MESSAGE_TYPES
    assert sent_by["hello"].startswith("everyone")
    for cls, roles in server_module.PERMISSIONS.items():
        line = sent_by[type_of(cls)]
        assert set(line.split(", ")) == set(roles), f"{type_of(cls)}: doc says {line!r}"


def test_every_push_and_event_kind_has_an_example() -> None:
    assert {e.type for e in PUSHES} >= set(PUSH_TYPES)
    kinds = {e.value["kind"] for e in PUSHES if e.type == "event"}
    assert kinds >= set(EVENT_TYPES), set(EVENT_TYPES) - kinds
    for e in PUSHES:
        if e.type == "event":
            assert e.value["kind"] in EVENT_TYPES, f"{e}: unknown kind"
            assert e.role in server_module.STAFF, f"{e}: only staff receive events"


def test_every_error_code_is_documented_with_an_example() -> None:
    codes = error_codes()
    assert {"invalid_json", "too_large", "check_in_too_early", "already_checked_in"} <= codes
    shown = {e.value["code"] for e in EXAMPLES if e.kind == "reply" and e.value["type"] == "error"}
    assert codes <= shown, f"error codes without an example: {sorted(codes - shown)}"
    for code in codes:
        assert f"| `{code}` |" in DOC_TEXT, f"{code!r} is not in the table of errors"
    assert shown <= codes, f"documented codes the code does not have: {sorted(shown - codes)}"


# ---------------------------------------------------------------- 3. a live server


class Replay:
    """Sends documented requests through real clients and compares the replies."""

    def __init__(self) -> None:
        self.replies = 0

    async def send(self, client: QueueClient, e: Example, **changes: Any) -> dict[str, Any]:
        fields = {k: v for k, v in e.value.items() if k not in ("type", "id")} | changes
        reply = await client.request(e.type, **fields)
        assert e.reply is not None
        assert e.reply.value["type"] == "ok", f"{e.reply}: documented as an error"
        assert_same_shape(
            by_value(reply), by_value(e.reply.value), f"reply to {e.type} ({e.reply})"
        )
        self.replies += 1
        return reply

    async def refused(self, client: QueueClient, e: Example, **changes: Any) -> RemoteError:
        fields = {k: v for k, v in e.value.items() if k not in ("type", "id")} | changes
        assert e.reply is not None
        with pytest.raises(RemoteError) as caught:
            await client.request(e.type, **fields)
        documented = e.reply.value
        assert caught.value.code == documented["code"], f"{e.reply}: {caught.value}"
        assert_same_shape(caught.value.details, documented["details"], f"details ({e.reply})")
        self.replies += 1
        return caught.value


async def staff_client(live: Any, username: str) -> QueueClient:
    return await QueueClient(
        live.url, username=username, password=STAFF_PASSWORD, client_name="test"
    ).connect()


async def test_the_documented_morning_replays_on_a_live_server(live_clocked: Any) -> None:
    live, clock = live_clocked, live_clocked.clock
    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()
    board = await QueueClient(live.url, token=live.board_token, client_name="test").connect()
    alice = await staff_client(live, "alice")
    mina = await staff_client(live, live.managers[0])
    clients = {"kiosk": kiosk, "board": board, "counter": alice, "manager": mina}
    replay = Replay()
    send, refused = replay.send, replay.refused
    try:
        # the day's bookings: one due soon, one late, one missed, one later, one tomorrow
        for ref, service, at in (
            ("RB-0412", "housing", clock.now + timedelta(minutes=20)),
            ("RB-0601", "housing", clock.now - timedelta(minutes=25)),
            ("RB-0530", "housing", clock.now - timedelta(minutes=75)),
            ("RB-0977", "planning", clock.now + timedelta(minutes=90)),
            ("RB-1188", "council_tax", clock.now + timedelta(days=1)),
            ("RB-1290", "council_tax", clock.now + timedelta(minutes=150)),
        ):
            saved = clock.now
            if ref == "RB-0530":
                # booked earlier (the core takes no booking whose check-in has closed)
                clock.now = saved - timedelta(hours=2)
            await live.server.execute(
                cmd.BookAppointment(actor="system:bookings", ref=ref, service=service, at=at)
            )
            clock.now = saved
        # the booking system moves one and cancels another (docs/bookings-api.md)
        await live.server.execute(
            cmd.PutAppointment(
                actor="integration:Booking system",
                ref="RB-0977",
                service="planning",
                at=clock.now + timedelta(minutes=120),
                language="pl",
            )
        )
        await live.server.execute(
            cmd.CancelAppointment(actor="integration:Booking system", ref="RB-1290")
        )
        await send(kiosk, example("ping"))
        await send(alice, example("sign_in_counter"))
        await send(alice, example("open_counter"))
        await refused(alice, failing("forbidden", "call_next"))
        await refused(board, failing("forbidden", "issue_ticket"))

        clock.advance(minutes=3)
        issued = await send(kiosk, example("issue_ticket", "kiosk", service="housing"))
        retry = next(e for e in REQUESTS if e.reply and e.reply.value.get("replayed") is True)
        assert retry.type == "issue_ticket", f"{retry}: the retry example is an issue_ticket"
        retried = await send(kiosk, retry)
        assert issued["replayed"] is False and retried["replayed"] is True
        assert retried["ticket"]["id"] == issued["ticket"]["id"]
        # a minute and a half later, as the page's times say: with both issued at the
        # same moment, standards (wait relative to target) would tie them, and the
        # tie would go by the tickets' random ids
        clock.advance(seconds=90)
        await send(kiosk, example("issue_ticket", language="pl"))
        await send(kiosk, example("estimate", "kiosk", ticket="C001"))
        first = await send(kiosk, example("check_in", ref="RB-0412"))
        second = await send(kiosk, example("check_in", ref="rb-0412"))
        assert second["replayed"] and second["ticket"]["id"] == first["ticket"]["id"]

        clock.advance(minutes=1)
        await send(alice, example("call_next"))
        await send(alice, example("recall"))
        await refused(alice, failing("counter_busy"))
        await send(alice, example("start_service"))
        await refused(alice, failing("illegal_transition"))
        clock.advance(minutes=6)
        await send(alice, example("complete"))

        general = await kiosk.request(
            "issue_ticket", service="general", idempotency_key="test-general-1"
        )
        assert general["ticket"]["number"] == "G001"
        await send(alice, example("call_ticket", ticket="G001"))
        await send(alice, example("start_service"))
        await send(alice, example("park"))
        await send(alice, example("return_parked", ticket="G001"))
        await send(alice, example("call_next"))
        await send(alice, example("start_service"))
        await send(alice, example("transfer", "counter"))
        await refused(alice, failing("forbidden", "transfer"))

        await refused(kiosk, failing("check_in_too_late"))
        await send(kiosk, example("issue_ticket", late_appointment_ref="RB-0530"))
        await refused(kiosk, failing("already_checked_in"))
        await refused(kiosk, failing("check_in_too_early"))
        await refused(kiosk, failing("check_in_wrong_day"))
        await refused(kiosk, failing("not_found", "check_in"))

        await send(alice, example("call_next"))
        await send(alice, example("no_show"))
        await kiosk.request("issue_ticket", service="parking", idempotency_key="test-parking-1")
        await send(mina, example("cancel", ticket="P001"))
        waiting = await kiosk.request(
            "issue_ticket", service="general", idempotency_key="test-general-2"
        )
        await send(mina, example("transfer", "manager"), ticket=waiting["ticket"]["number"])
        await send(board, example("snapshot", "board"))
        await send(alice, example("snapshot", "counter"))
        await refused(kiosk, failing("not_found", "estimate"))
        await refused(mina, failing("conflict", "open_counter"))

        # 35 minutes late: still an appointment ticket, due from its check-in
        late = await send(kiosk, example("check_in", ref="RB-0601"))
        assert late["ticket"]["origin"] == "appointment"
        assert late["ticket"]["issued_at"] == clock.now.isoformat()

        await send(alice, example("pause_counter"))
        await send(alice, example("resume_counter"))
        for _ in range(20):  # serve whoever Counter 1 may take, until nobody is left
            try:
                await alice.request("call_next", counter="Counter 1")
            except RemoteError as exc:
                assert exc.code == "nothing_to_call", exc
                break
            await alice.request("start_service", counter="Counter 1")
            await alice.request("complete", counter="Counter 1", outcome="resolved")
        await refused(alice, failing("nothing_to_call"))
        await send(alice, example("close_counter"))
        await send(alice, example("sign_out_counter"))

        await send(mina, example("set_counter_skills"))
        await send(mina, example("set_service_target"))
        await send(kiosk, example("device_status"))
        # a kiosk leases numbers, runs offline a minute and uploads (issue 13 item 4)
        day = live.server.centre.local_day(clock.now).isoformat()
        block = (await send(kiosk, example("lease_numbers"), day=day))["block"]
        went = clock.now
        clock.advance(minutes=1)
        journal = [
            {
                "number": block["numbers"][0],
                "service": "housing",
                "arrival_at": (went + timedelta(seconds=20)).isoformat(),
                "idempotency_key": "doc-offline-0001",
            }
        ]
        await send(
            kiosk,
            example("upload_offline"),
            tickets=journal,
            offline_since=went.isoformat(),
            back_at=clock.now.isoformat(),
        )
        # a visitor joins from a phone (the join page, docs/joining.md: not a websocket
        # request), is passed over at their turn, then says "I'm here"
        phone = await live.server.execute(
            cmd.IssueTicket(
                actor="remote:doc",
                service="housing",
                ticket_id="doc-remote-ticket-0001",
                idempotency_key="doc-remote-0001",
                channel=Channel.REMOTE,
            )
        )
        after = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key="doc-after-remote"
        )
        await alice.request("sign_in_counter", counter="Counter 1")
        await alice.request("open_counter", counter="Counter 1")
        for _ in range(20):  # those before them first; then the turn passes them by
            called = await alice.request("call_next", counter="Counter 1")
            await alice.request("start_service", counter="Counter 1")
            await alice.request("complete", counter="Counter 1", outcome="resolved")
            if called["ticket"]["number"] == after["ticket"]["number"]:
                break
        assert phone.ticket is not None
        assert live.server.centre.tickets[phone.ticket.id].skipped_at is not None
        # ... at the kiosk, by scanning their phone's QR code (a kiosk ticket is refused)
        assert phone.ticket.id == example("confirm_here").value["ticket"]
        confirmed = await send(kiosk, example("confirm_here"))
        assert confirmed["already"] is False and confirmed["ticket"]["id"] == phone.ticket.id
        assert (await send(kiosk, example("confirm_here")))["already"] is True
        await refused(kiosk, failing("not_remote"), ticket=issued["ticket"]["id"])
        await refused(kiosk, failing("not_found", "confirm_here"))
        # ... or at the console, by staff (already said here: nothing changes)
        assert (await send(alice, example("here_for_visitor"), ticket=phone.ticket.number))[
            "already"
        ]
        await refused(
            alice, failing("not_remote", "here_for_visitor"), ticket=after["ticket"]["number"]
        )
        # reception issues a ticket for a visitor, sent straight to Counter 1, printed
        # on the kiosk; Counter 1 closes before calling it, so it goes back to the queue
        directed = await send(alice, example("issue_for_visitor"))
        assert directed["printed_on"] and directed["ticket"]["directed_to"] == "Counter 1"
        await refused(alice, failing("invalid_request", "issue_for_visitor"))
        await alice.request("close_counter", counter="Counter 1")
        # a request answered on each connection means every push before it has arrived
        for client in clients.values():
            await client.request("ping")

        checked = set()
        for role, client in clients.items():
            first: dict[tuple[str, str | None], dict[str, Any]] = {}
            for push in client.drain_pushes():
                first.setdefault((push["type"], push.get("kind")), push)
            for e in PUSHES:
                key = (e.type, e.value.get("kind"))
                if e.role != role or e.type == "welcome" or e.type in WEB_PUSHES:
                    continue
                assert key in first, f"{e}: the {role} never received a {key}"
                assert_same_shape(first[key], e.value, f"{key} push to the {role} ({e})")
                checked.add(key)
        assert {kind for _, kind in checked} >= set(EVENT_TYPES)
        assert {type_ for type_, _ in checked} == set(PUSH_TYPES) - {"welcome"} - WEB_PUSHES
        assert replay.replies >= 45
    finally:
        for client in clients.values():
            await client.close()


def refusal(e: Example) -> dict[str, Any]:
    assert e.reply is not None and e.reply.value["type"] == "error", e
    return dict(e.reply.value)


async def receive(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 5)))


async def test_handshake_and_bad_credentials(live: Any) -> None:
    hello = next(e for e in REQUESTS if e.type == "hello" and e.role == "kiosk" and not e.reply)
    welcome = next(e for e in PUSHES if e.role == "kiosk" and e.type == "welcome")
    snapshot = next(e for e in PUSHES if e.role == "kiosk" and e.type == "snapshot")
    for path in ("/ws", "/"):
        async with connect(f"ws://127.0.0.1:{live.port}{path}") as ws:
            await ws.send(json.dumps(hello.value | {"token": live.kiosk_token}))
            for e in (welcome, snapshot):
                pushed = await receive(ws)
                assert pushed["type"] == e.type, f"{e.type} expected after hello, got {pushed}"
                assert_same_shape(pushed, e.value, f"{e.type} after hello ({e})")
            assert pushed["centre"]["counters"][0].keys() == {"name", "state"}

    refused_hellos = [
        e for e in SENT if e.reply and e.reply.value.get("code") == "not_authenticated"
    ]
    assert {e.type for e in refused_hellos} >= {"hello", "ping"}
    for e in refused_hellos:
        async with connect(live.url) as ws:
            await ws.send(json.dumps(e.value))
            reply = await receive(ws)
            assert reply["code"] == refusal(e)["code"] == "not_authenticated"
            assert_same_shape(reply, refusal(e), f"reply to a bad hello ({e})")
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    with pytest.raises(AuthenticationFailed):
        await QueueClient(live.url, token="wk_not-a-real-token").connect(timeout=5)


async def test_malformed_frames_and_size_limits(live: Any) -> None:
    async with connect(live.url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": live.kiosk_token}))
        assert [(await receive(ws))["type"] for _ in range(2)] == ["welcome", "snapshot"]
        for e in (failing("invalid_request", "issue_ticket"), failing("unknown_type")):
            await ws.send(json.dumps(e.value))
            reply = await receive(ws)
            assert reply["code"] == refusal(e)["code"]
            assert reply["re"] == e.value["id"], "a refused request's id is echoed"
            assert_same_shape(reply, refusal(e), f"reply ({e})")

        orphans = {
            e.value["code"]: e.value
            for e in EXAMPLES
            if e.kind == "reply" and not any(r.reply is e for r in SENT)
        }
        await ws.send('{"type": "ping", "id": 9')
        reply = await receive(ws)
        assert reply["code"] == "invalid_json" and reply["re"] is None
        assert_same_shape(reply, orphans["invalid_json"], "invalid_json reply")

        await ws.send(json.dumps({"type": "ping", "id": 10, "pad": "x" * protocol.MAX_FRAME}))
        reply = await receive(ws)
        assert reply["code"] == "too_large" and reply["re"] is None
        assert_same_shape(reply, orphans["too_large"], "too_large reply")
        await ws.send(json.dumps({"type": "ping", "id": 11}))
        assert (await receive(ws))["re"] == 11, "the connection survives a too_large frame"

        await ws.send("x" * (protocol.HARD_MAX_FRAME + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def http_get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_http_responses_match_the_doc(live: Any) -> None:
    for e in EXAMPLES:
        if e.kind != "response":
            continue
        path, status = e.attrs["path"], int(e.attrs["status"])
        if "origin" in e.attrs:  # a browser's websocket handshake from that site
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"ws://127.0.0.1:{live.port}{path}", origin=e.attrs["origin"]):
                    pass
            got, body = refused.value.response.status_code, json.loads(refused.value.response.body)
        else:
            url = f"http://127.0.0.1:{live.port}{path}"
            got, body = await asyncio.to_thread(http_get, url)
        assert got == status, (path, e.attrs, got, body)
        assert_same_shape(body, e.value, f"GET {path} ({e})")

    # the server's own pages (same host and port as the request) may connect
    own = f"http://127.0.0.1:{live.port}"
    async with connect(f"ws://127.0.0.1:{live.port}/ws", origin=own) as ws:
        await ws.send(json.dumps({"type": "hello", "token": live.kiosk_token}))
        assert (await receive(ws))["type"] == "welcome"


# ---------------------------------------------------------------- 4. the web pages


class Page:
    """A web page's connection, frame by frame: what the Python client hides (welcomes,
    sessions, the close codes) is what these tests look at."""

    def __init__(self, ws: Any, welcome: dict[str, Any], first: dict[str, Any] | None) -> None:
        self.ws, self.welcome, self.first = ws, welcome, first
        self.pushes: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, live: Any, hello: dict[str, Any]) -> Page:
        ws = await connect(live.url)
        await ws.send(json.dumps(hello))
        welcome = await receive(ws)
        assert welcome["type"] == "welcome", welcome
        return cls(ws, welcome, await receive(ws))

    async def ask(self, e: Example, **changes: Any) -> dict[str, Any]:
        """Send the documented message ``e``; its reply, checked against the doc's."""
        message = e.value | changes
        await self.ws.send(json.dumps(message))
        while True:
            frame = await receive(self.ws)
            if frame["type"] not in ("ok", "error"):
                self.pushes.append(frame)
                continue
            assert frame["re"] == message.get("id"), frame
            assert e.reply is not None, e
            assert frame.get("code") == e.reply.value.get("code"), f"{e.reply}: {frame}"
            assert_same_shape(by_value(frame), by_value(e.reply.value), f"reply ({e.reply})")
            return frame

    async def push(self, type_: str, **fields: Any) -> dict[str, Any]:
        """The next push of ``type_`` (with these field values), skipping others."""
        while True:
            frame = self.pushes.pop(0) if self.pushes else await receive(self.ws)
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def closed(self) -> tuple[int, str]:
        """Read until the server closes; its close code and reason."""
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                self.pushes.append(await receive(self.ws))
        assert closed.value.rcvd is not None, "the server did not close"
        return closed.value.rcvd.code, closed.value.rcvd.reason


async def refused_hello(live: Any, e: Example, **changes: Any) -> tuple[dict[str, Any], int, str]:
    """Send the documented refused hello ``e``: its reply, close code and reason."""
    async with connect(live.url) as ws:
        await ws.send(json.dumps(e.value | changes))
        reply = await receive(ws)
        assert reply["code"] == refusal(e)["code"], f"{e}: {reply}"
        assert_same_shape(reply, refusal(e), f"reply to a refused hello ({e})")
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None
        return reply, closed.value.rcvd.code, closed.value.rcvd.reason


def documented_push(type_: str, role: str, **fields: Any) -> Example:
    for e in PUSHES:
        if e.type == type_ and e.role == role:
            if all(e.value.get(k) == v for k, v in fields.items()):
                return e
    raise AssertionError(f"docs/protocol.md has no {type_} push as={role} like {fields}")


async def test_the_web_pages_part_replays_on_a_live_server(live_clocked: Any) -> None:
    live, clock = live_clocked, live_clocked.clock
    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()
    mina = await staff_client(live, live.managers[0])
    pages: list[Page] = []
    replay = Replay()
    try:
        # a staff sign-in starts a session; a reloaded page resumes it
        sign_in = hello_example("counter", "password")
        alice = await Page.open(live, sign_in.value)
        pages.append(alice)
        welcome = alice.welcome
        assert_same_shape(welcome, following(sign_in, "push", "welcome").value, "staff welcome")
        assert alice.first is not None and alice.first["type"] == "snapshot"
        assert welcome["session"].startswith("ws_") and welcome["session_idle_minutes"] == 60
        expires = datetime.fromisoformat(welcome["session_expires_at"])
        assert expires == clock.now + timedelta(hours=12)
        manager = hello_example("manager", "password")
        manager_page = await Page.open(live, manager.value)
        pages.append(manager_page)
        documented = following(manager, "push", "welcome").value
        assert_same_shape(manager_page.welcome, documented, "manager welcome")
        await manager_page.ws.close()

        await alice.ws.close()
        clock.advance(minutes=1)
        resume = hello_example("counter", "session")
        alice = await Page.open(live, resume.value | {"session": welcome["session"]})
        pages.append(alice)
        documented = following(resume, "push", "welcome").value
        assert_same_shape(alice.welcome, documented, "welcome of a resumed session")
        assert alice.welcome["session_expires_at"] == welcome["session_expires_at"]
        assert alice.first is not None and alice.first["type"] == "snapshot"
        for ask in ("sign_in_counter", "open_counter"):
            await alice.ask(example(ask), counter="Counter 1")

        # a visitor's page: welcome, then ticket_status, and a push when it is called
        keys = ("web-visitor-1", "web-visitor-2")
        issued = [
            await kiosk.request("issue_ticket", service="housing", idempotency_key=key)
            for key in keys
        ]
        visit = hello_example("visitor", "ticket")
        visitor = await Page.open(live, visit.value | {"ticket": issued[1]["ticket"]["id"]})
        pages.append(visitor)
        documented = following(visit, "push", "welcome").value
        assert_same_shape(visitor.welcome, documented, "a visitor's welcome")
        first = following(visit, "push", "ticket_status")
        assert visitor.first is not None
        assert_same_shape(visitor.first, first.value, f"first ticket_status ({first})")
        assert visitor.first["people_ahead"] == 1 and visitor.first["number"] == "H002"
        await visitor.ask(failing("forbidden", "snapshot"))
        await refused_hello(live, hello_example("visitor", "ticket", refused=True))

        for ask in ("call_next", "start_service"):
            await alice.ask(example(ask), counter="Counter 1")
        await alice.ask(example("complete"), counter="Counter 1")
        await alice.ask(example("call_next"), counter="Counter 1")
        called = documented_push("ticket_status", "visitor", state="called")
        pushed = await visitor.push("ticket_status", state="called")
        assert_same_shape(pushed, called.value, f"ticket_status when called ({called})")
        assert pushed["counter"] == "Counter 1"
        await visitor.ws.close()

        # the manager's dashboard, with an alert of each kind
        await kiosk.request("issue_ticket", service="general", idempotency_key="web-general-1")
        due = clock.now + timedelta(minutes=20)
        await live.server.execute(
            cmd.BookAppointment(actor="system:bookings", ref="RB-7001", service="planning", at=due)
        )
        await kiosk.request("check_in", ref="RB-7001", idempotency_key="web-check-in-1")
        await kiosk.request("device_status", component="printer", status="paper_near_end")
        clock.advance(minutes=31)
        dashboard = (await replay.send(mina, example("dashboard")))["dashboard"]
        kinds = {alert["kind"] for alert in dashboard["alerts"]}
        assert kinds == {"appointment_due", "over_target", "device"}, dashboard["alerts"]
        await alice.ask(failing("forbidden", "dashboard"))
        region = (await replay.send(mina, example("region")))["region"]
        assert [c["id"] for c in region["centres"]] == [live.setup.centre_id]

        # reports: the documented day is the live one (Tuesday 24 November 2026)
        figures = await replay.send(mina, example("report"))
        assert [r["day"] for r in figures["reports"]] == [clock.now.date().isoformat()]
        csv_example = example("report", format="csv")
        csv = await replay.send(mina, csv_example)
        assert csv_example.reply is not None
        header = csv_example.reply.value["csv"].splitlines()[0]
        assert csv["csv"].splitlines()[0] == header == ",".join(reports.CSV_COLUMNS)
        assert csv["filename"] == csv_example.reply.value["filename"]
        ranged = (await replay.send(mina, example("report", by="week")))["range"]
        assert list(ranged["groups"]) == ["2026-W48"]
        assert ranged["overall"]["issued"] == figures["reports"][0]["overall"]["issued"]
        for e in SENT:
            if e.type == "report" and e.reply and e.reply.value["type"] == "error":
                await replay.refused(mina, e)
        await mina.close()

        # sign_out: ok, then session_expired and the close 4401; the session is over
        await alice.ask(example("sign_out", "counter"))
        documented = following(example("sign_out", "counter"), "push", "session_expired")
        expired = await alice.push("session_expired")
        assert_same_shape(expired, documented.value, f"session_expired ({documented})")
        assert await alice.closed() == (staff_sessions.SESSION_ENDED, expired["message"])
        ended = hello_example("counter", "session", refused=True)
        reply, code, _ = await refused_hello(live, ended, session=welcome["session"])
        assert code == 1008 and reply["message"].startswith("That session has ended")

        # idle: an hour without a message from the page
        idle = await Page.open(live, manager.value)
        pages.append(idle)
        clock.advance(minutes=60)
        await live.server.sweep_sessions()
        documented = documented_push("session_expired", "manager")
        expired = await idle.push("session_expired")
        assert_same_shape(expired, documented.value, f"session_expired when idle ({documented})")
        assert expired["message"] == documented.value["message"]
        assert await idle.closed() == (staff_sessions.SESSION_ENDED, expired["message"])

        # its fixed age: twelve hours after the sign-in, however busy
        busy = await Page.open(live, manager.value)
        pages.append(busy)
        for _ in range(12):
            clock.advance(minutes=59)
            # a person's message (a ping would not count: the page sends those itself)
            await busy.ask(example("report"))
        clock.advance(minutes=13)
        await busy.ws.send(json.dumps({"type": "ping", "id": 99}))
        expired = await busy.push("session_expired")
        assert expired["message"].startswith("Your session reached its limit of 12 hours")
        assert await busy.closed() == (staff_sessions.SESSION_ENDED, expired["message"])
        assert not any(p.get("re") == 99 for p in busy.pushes), "an expired session is not served"

        # the sign-in rate limit: 5 wrong passwords for one username, then refused
        wrong = hello_example("counter", "password", refused=True)
        limited = failing("rate_limited", "hello")
        assert wrong.value["username"] == limited.value["username"]
        for _ in range(5):
            reply, code, _ = await refused_hello(live, wrong)
            assert reply["code"] == "not_authenticated" and code == 1008
        reply, code, reason = await refused_hello(live, limited)
        assert (code, reason) == (1008, "rate_limited")
        assert 0 < reply["details"]["retry_after_seconds"] <= 300
        assert replay.replies >= 6
    finally:
        for page in pages:
            await page.ws.close()
        await kiosk.close()
        await mina.close()


async def test_reprints_replay_on_a_live_server(live_clocked: Any) -> None:
    live = live_clocked
    kiosk = await QueueClient(live.url, token=live.kiosk_token, client_name="test").connect()
    alice = await staff_client(live, "alice")
    replay = Replay()
    try:
        issued = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key="doc-reprint-1"
        )
        ticket = issued["ticket"]
        by_kiosk = example("reprint_ticket", "kiosk")
        reply = await replay.send(kiosk, by_kiosk, ticket=ticket["id"])
        assert reply["reprint"] is True and reply["ticket"] == ticket

        by_staff = example("reprint_ticket", "counter")
        reply = await replay.send(alice, by_staff, ticket=ticket["number"])
        assert reply["kiosk"] == live.store.device_for_token(live.kiosk_token).name
        await kiosk.request("ping")
        pushed = [m for m in kiosk.drain_pushes() if m["type"] == "print_ticket"]
        documented = documented_push("print_ticket", "kiosk")
        assert len(pushed) == 1
        assert_same_shape(pushed[0], documented.value, f"print_ticket push ({documented})")
        assert pushed[0]["ticket"] == ticket and pushed[0]["requested_by"] == "alice"

        mina = await staff_client(live, live.managers[0])
        await mina.request("cancel", ticket=ticket["id"], reason="left")
        await mina.close()
        await replay.refused(alice, failing("conflict", "reprint_ticket"), ticket=ticket["id"])
        other = await kiosk.request(
            "issue_ticket", service="housing", idempotency_key="doc-reprint-2"
        )
        await kiosk.close()
        async with asyncio.timeout(5):
            while live.server.connection_count > 1:
                await asyncio.sleep(0.01)
        refused = await replay.refused(
            alice, failing("unavailable", "reprint_ticket"), ticket=other["ticket"]["id"]
        )
        assert refused.message == refusal(failing("unavailable", "reprint_ticket"))["message"]
        assert replay.replies == 4
    finally:
        await kiosk.close()
        await alice.close()
