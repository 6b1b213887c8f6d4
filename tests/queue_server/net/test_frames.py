"""Every frame on every role goes through one guarded path (issue 10, points 2 and 3).

Real websockets over loopback against a live server (tests/conftest.py): odd frames of
every shape get an ``invalid_request`` reply, never a traceback or a closed
connection; request ids follow docs/protocol.md ("a string of at most 64 characters or
an integer"; a bool is not an integer); a key given twice in one JSON object is refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 5.0
STAFF_PASSWORD = "correct horse battery"

#: frames that are JSON objects but no request: each must get an error reply
ODD_FRAMES: dict[str, str] = {
    "type a list": '{"type": [], "id": 1}',
    "type a list of a keepalive": '{"type": ["ping"], "id": 1}',
    "type an object": '{"type": {}, "id": 1}',
    "type an object with keys": '{"type": {"ping": 1}, "id": 1}',
    "type a number": '{"type": 7, "id": 1}',
    "type a float": '{"type": 7.5, "id": 1}',
    "type null": '{"type": null, "id": 1}',
    "type true": '{"type": true, "id": 1}',
    "type false": '{"type": false, "id": 1}',
    "type missing": '{"id": 1}',
    "empty object": "{}",
    "type a huge int": '{"type": 123456789012345678901234567890123456789, "id": 1}',
    "nested garbage": '{"type": "ping", "id": 1, "x": {"a": [[{"b": [null, {}]}]]}}',
    "nested garbage in a field": '{"type": "estimate", "id": 1, "ticket": [[{"b": {}}]]}',
    "huge int in a field": '{"type": "estimate", "id": 1, "ticket": 1' + "0" * 300 + "}",
    "infinite id": '{"type": "ping", "id": 1e999}',
    "a list": "[[], {}]",
    "a number": "42",
    "a string": '"ping"',
    "duplicate type": '{"type": "ping", "type": "snapshot", "id": 1}',
    "id an object": '{"type": "ping", "id": {"a": 1}}',
    "id a list": '{"type": "ping", "id": [1]}',
    "id true": '{"type": "ping", "id": true}',
    "id a float": '{"type": "ping", "id": 1.0}',
    "id too long": '{"type": "ping", "id": "' + "x" * 65 + '"}',
}


async def receive(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))


async def reply_to(ws: ClientConnection, frame: str) -> dict[str, Any]:
    """Send ``frame``; the reply to it (pushes before it skipped)."""
    await ws.send(frame)
    while True:
        message = await receive(ws)
        if message["type"] in ("ok", "error"):
            return message


async def open_as(live: Any, role: str) -> ClientConnection:
    """A connection that has said hello as ``role`` and read its welcome."""
    if role == "visitor":
        async with connect(live.url) as kiosk:
            await kiosk.send(json.dumps({"type": "hello", "token": live.kiosk_token}))
            issued = await reply_to(
                kiosk,
                json.dumps(
                    {
                        "type": "issue_ticket",
                        "id": 1,
                        "service": "housing",
                        "idempotency_key": "frames-visitor-1",
                    }
                ),
            )
        hello: dict[str, Any] = {"ticket": issued["ticket"]["id"]}
    elif role == "kiosk":
        hello = {"token": live.kiosk_token}
    elif role == "board":
        hello = {"token": live.board_token}
    else:
        hello = {"username": "alice" if role == "counter" else "mina", "password": STAFF_PASSWORD}
    ws = await connect(live.url, max_queue=None)
    await ws.send(json.dumps({"type": "hello", **hello}))
    welcome = await receive(ws)
    assert welcome["type"] == "welcome" and welcome["role"] == role, welcome
    return ws


ROLES = ("kiosk", "board", "counter", "manager", "visitor")


@pytest.mark.parametrize("role", ROLES)
async def test_odd_frames_get_invalid_request_and_the_connection_lives(
    live: Any, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await open_as(live, role)
    caplog.set_level(logging.DEBUG)
    try:
        for name, frame in ODD_FRAMES.items():
            reply = await reply_to(ws, frame)
            assert reply["type"] == "error", (name, reply)
            assert reply["code"] == "invalid_request", (name, reply)
            assert reply["message"].strip(), (name, reply)
            # and the connection is still served
            pong = await reply_to(ws, json.dumps({"type": "ping", "id": "after"}))
            assert pong == {"type": "ok", "re": "after", "server_time": pong["server_time"]}, name
    finally:
        await ws.close()
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


@pytest.mark.parametrize(
    "request_id",
    [True, False, 1.0, 2.5, [], {}, {"a": 1}, "x" * 65],
    ids=["true", "false", "1.0", "2.5", "list", "object", "object with keys", "65 chars"],
)
async def test_a_request_id_that_is_no_string_or_integer_is_refused_naming_id(
    live: Any, request_id: Any
) -> None:
    ws = await open_as(live, "kiosk")
    try:
        reply = await reply_to(ws, json.dumps({"type": "ping", "id": request_id}))
        assert reply["type"] == "error" and reply["code"] == "invalid_request", reply
        assert reply["re"] is None, "an unusable id is not echoed"
        assert reply["details"] == {"field": "id"}, reply
        assert '"id"' in reply["message"], reply
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "request_id",
    [0, -3, 2**70, "", "x" * 64, "a b"],
    ids=["0", "-3", "2**70", "empty", "64", "spaced"],
)
async def test_a_string_or_integer_id_is_echoed(live: Any, request_id: Any) -> None:
    ws = await open_as(live, "kiosk")
    try:
        reply = await reply_to(ws, json.dumps({"type": "ping", "id": request_id}))
        assert reply["type"] == "ok" and reply["re"] == request_id, reply
        # and echoed on an error too
        refused = await reply_to(ws, json.dumps({"type": "estimate", "id": request_id}))
        assert refused["type"] == "error" and refused["re"] == request_id, refused
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "frame, key, echoed",
    [
        ('{"type": "ping", "id": 5, "id": 6}', "id", None),
        ('{"type": "ping", "type": "ping", "id": 5}', "type", 5),
        (
            '{"type": "device_status", "id": "d", "component": "printer", "status": "ready",'
            ' "status": "paper_out"}',
            "status",
            "d",
        ),
        ('{"type": "ping", "id": 7, "x": {"a": 1, "a": 2}}', "a", 7),
    ],
    ids=["id twice", "type twice", "a field twice", "nested key twice"],
)
async def test_a_key_given_twice_is_refused_naming_it(
    live: Any, frame: str, key: str, echoed: Any
) -> None:
    ws = await open_as(live, "kiosk")
    try:
        reply = await reply_to(ws, frame)
        assert reply["type"] == "error" and reply["code"] == "invalid_request", reply
        assert f'"{key}"' in reply["message"] and "twice" in reply["message"], reply
        assert reply["details"] == {"field": key}, reply
        assert reply["re"] == echoed, reply
        statuses = live.store.device_statuses(live.setup.centre_id)
        assert statuses == [], "nothing was recorded from a refused frame"
    finally:
        await ws.close()


async def test_a_bad_id_in_the_hello_is_refused(live: Any) -> None:
    async with connect(live.url) as ws:
        await ws.send(json.dumps({"type": "hello", "id": True, "token": live.kiosk_token}))
        reply = await receive(ws)
        assert reply["type"] == "error" and reply["code"] == "invalid_request", reply
        assert reply["details"] == {"field": "id"} and reply["re"] is None
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        assert ws.close_code == 1008
