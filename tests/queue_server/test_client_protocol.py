"""The Python client speaks through the protocol's own models (net/protocol.py), the
ones the server checks and replies with: a malformed request is refused before it is
sent, with the code and message the server would give; a frame from the server that is
not our protocol is a ProtocolViolation, not a KeyError deep in a caller."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import serve

from queue_server.client import QueueClient, RefusedBeforeSending, RemoteError
from queue_server.core.errors import InvalidRequest
from queue_server.net import protocol, wire

TIMEOUT = 5.0


async def test_a_malformed_request_is_refused_before_sending_as_the_server_would(
    live: Any,
) -> None:
    frames: list[Any] = []
    original = wire.request_id

    def seen(raw: Any) -> Any:  # every request the server decodes passes here
        frames.append(raw)
        return original(raw)

    wire.request_id = seen  # type: ignore[assignment]
    try:
        async with QueueClient(live.url, token=live.kiosk_token) as kiosk:
            connected = len(frames)  # the hello
            with pytest.raises(RefusedBeforeSending) as local:
                await kiosk.request("issue_ticket", idempotency_key="k" * 16, timeout=TIMEOUT)
            before = len(frames)
            await kiosk.request("ping", timeout=TIMEOUT)
    finally:
        wire.request_id = original  # type: ignore[assignment]
    # the bad request never reached the server; the ping did
    assert before == connected and len(frames) == connected + 1
    # the same answer the server gives for the same frame
    with pytest.raises(InvalidRequest) as server_side:
        protocol.decode({"type": "issue_ticket", "id": 1, "idempotency_key": "k" * 16})
    assert isinstance(local.value, RemoteError)
    assert local.value.code == server_side.value.code == "invalid_request"
    assert local.value.message == server_side.value.message
    assert local.value.details["fields"] == ["service"]


def test_a_request_frame_is_what_the_server_decodes() -> None:
    frame = protocol.request_frame(
        "complete", 7, {"counter": "  Counter 1 ", "outcome": "resolved", "avoidable": False}
    )
    assert frame == {
        "type": "complete",
        "id": 7,
        "counter": "Counter 1",
        "outcome": "resolved",
        "avoidable": False,
    }
    assert protocol.decode(json.loads(json.dumps(frame))) == protocol.decode(frame)


@pytest.mark.parametrize(
    "bad_frame",
    [
        {"type": "error", "re": 1, "message": "no code"},
        {"type": "ok"},  # no re
        {"no": "type"},
        ["a", "list"],
    ],
    ids=["error without code", "ok without re", "no type", "not an object"],
)
async def test_a_frame_outside_the_protocol_is_a_protocol_violation(bad_frame: Any) -> None:
    """A stand-in server that welcomes, sends its snapshot, then one malformed frame in
    answer to the first request: the client drops the connection (the request fails as
    lost) instead of handing a caller a half-message."""

    async def handler(ws: Any) -> None:
        await ws.recv()  # hello
        await ws.send(json.dumps({"type": "welcome", "role": "kiosk", "name": "k"}))
        await ws.send(json.dumps({"type": "snapshot", "server_time": "2026-12-04T09:00:00+00:00"}))
        await ws.recv()
        await ws.send(json.dumps(bad_frame))
        await asyncio.sleep(1)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = QueueClient(f"ws://127.0.0.1:{port}", token="t" * 20, reconnect=False)
        await client.connect(timeout=TIMEOUT)
        with pytest.raises(Exception) as lost:
            await client.request("ping", timeout=TIMEOUT)
        await client.close()
    assert type(lost.value).__name__ == "ConnectionLost"


def test_error_replies_have_one_shape() -> None:
    reply = wire.error_reply(3, InvalidRequest("Bad.", field="id"))
    assert reply == {
        "type": "error",
        "re": 3,
        "code": "invalid_request",
        "message": "Bad.",
        "details": {"field": "id"},
    }
    assert protocol.read_server_message(reply).model_dump() == reply
