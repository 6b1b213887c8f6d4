"""Posted HTML forms on the queue server's port (``net/forms.py``), over a real socket:
a form's fields reach the page's handler, anything else websockets would refuse is
still refused, and the websocket handshake is untouched."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from queue_server.net.forms import MAX_FORM_BYTES, BadForm, form_fields
from queue_server.net.wire import json_response
from tests.conftest import LiveServer


async def raw(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is and read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


def post(path: str, body: bytes, kind: str = "application/x-www-form-urlencoded") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def install_echo(live: LiveServer) -> list[tuple[str, dict[str, str] | None]]:
    seen: list[tuple[str, dict[str, str] | None]] = []

    async def echo(connection: ServerConnection, request: Request) -> Response:
        await asyncio.sleep(0)  # an awaitable handler, as one that commits is
        try:
            fields = form_fields(request)
        except BadForm as exc:
            return json_response(connection, 400, {"error": "bad_form", "message": str(exc)})
        seen.append((request.method, fields))
        return json_response(connection, 200, {"method": request.method, "fields": fields})

    live.server.http_routes["/echo"] = echo
    return seen


def body_of(response: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


async def test_a_posted_form_reaches_the_page_with_its_fields(live: LiveServer) -> None:
    seen = install_echo(live)
    fields = {"service": "council_tax", "comment": "Très bien — شكرا", "blank": ""}
    status, body = body_of(await raw(live.port, post("/echo", urlencode(fields).encode())))
    assert status == 200
    assert body == {"method": "POST", "fields": fields}
    status, body = body_of(
        await raw(live.port, b"GET /echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    )
    assert (status, body) == (200, {"method": "GET", "fields": None})
    assert seen == [("POST", fields), ("GET", None)]


async def test_bodies_that_are_not_small_forms_are_refused_and_nothing_is_handled(
    live: LiveServer,
) -> None:
    seen = install_echo(live)
    too_big = b"a=" + b"x" * MAX_FORM_BYTES
    for request in (
        post("/echo", too_big),
        post("/echo", b'{"a": 1}', kind="application/json"),
        b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 3\r\n\r\na=1",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\na=1\r\n0\r\n\r\n",
    ):
        answer = await raw(live.port, request)
        assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
    # a body that is a form in name only
    status, body = body_of(await raw(live.port, post("/echo", b"\xff\xfe=%%%")))
    assert status == 400 and body["error"] == "bad_form"
    assert seen == []


async def test_other_methods_get_405_and_unknown_paths_404(live: LiveServer) -> None:
    status, body = body_of(await raw(live.port, b"DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 405 and body["error"] == "method_not_allowed"
    status, body = body_of(await raw(live.port, post("/nowhere", b"a=1")))
    assert status == 404 and body["error"] == "not_found"


async def test_the_websocket_handshake_is_unchanged(live: LiveServer) -> None:
    async with connect(live.url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": live.kiosk_token}))
        assert json.loads(await ws.recv())["type"] == "welcome"
