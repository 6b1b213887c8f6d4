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

from queue_server.net.forms import (
    MAX_DRAINED_BYTES,
    MAX_FORM_BYTES,
    MAX_JSON_BYTES,
    BadForm,
    form_fields,
    json_body,
)
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


def install_api_echo(live: LiveServer) -> list[tuple[str, object]]:
    """A route under /api/ that takes GET, POST and DELETE, echoing what it read."""
    seen: list[tuple[str, object]] = []

    async def echo(connection: ServerConnection, request: Request) -> Response:
        try:
            refused = getattr(request, "refused", None)
            post = request.method == "POST" or refused is not None
            value = json_body(request) if post else None
        except BadForm as exc:
            refused = getattr(request, "refused", None)
            return json_response(connection, 400, {"refused": refused, "message": str(exc)})
        seen.append((request.method, value))
        return json_response(connection, 200, {"method": request.method, "json": value})

    echo.methods = ("GET", "POST", "DELETE")  # type: ignore[attr-defined]
    live.server.http_prefix_routes["/api/echo"] = echo
    return seen


async def test_json_is_read_under_api_and_a_delete_reaches_its_route(live: LiveServer) -> None:
    seen = install_api_echo(live)
    value = {"ref": "BK-1", "note": "Très bien — شكرا", "n": [1, 2]}
    body = json.dumps(value, ensure_ascii=False).encode()
    status, answer = body_of(await raw(live.port, post("/api/echo", body, "application/json")))
    assert (status, answer) == (200, {"method": "POST", "json": value})
    kind = "application/json; charset=utf-8"
    status, answer = body_of(await raw(live.port, post("/api/echo", b"[]", kind)))
    assert (status, answer["json"]) == (200, [])
    status, answer = body_of(
        await raw(live.port, b"DELETE /api/echo/BK-1 HTTP/1.1\r\nHost: x\r\n\r\n")
    )
    assert (status, answer) == (200, {"method": "DELETE", "json": None})
    assert seen == [("POST", value), ("POST", []), ("DELETE", None)]
    # the same JSON outside /api/ is still refused, and a DELETE there still 405
    assert not (await raw(live.port, post("/echo", body, "application/json"))).startswith(
        b"HTTP/1.1 200"
    )
    status, _ = body_of(await raw(live.port, b"DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 405


async def test_an_api_body_refused_is_read_and_answered_not_handled(live: LiveServer) -> None:
    seen = install_api_echo(live)
    too_big = b'{"a": "' + b"x" * MAX_JSON_BYTES + b'"}'
    for request, refused in (
        (post("/api/echo", too_big, "application/json"), "too_large"),
        (post("/api/echo", b"a=1"), "unsupported_type"),
        (post("/api/echo", b"{}", "text/plain"), "unsupported_type"),
        (
            b"DELETE /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            "unexpected_body",
        ),
    ):
        status, answer = body_of(await raw(live.port, request))
        assert (status, answer["refused"]) == (400, refused), answer
        assert answer["message"]
    status, answer = body_of(await raw(live.port, post("/api/echo", b"{nope", "application/json")))
    assert status == 400 and "not JSON" in answer["message"]
    # beyond what is drained, or chunked: closed unanswered, as websockets does
    for request in (
        b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {MAX_DRAINED_BYTES + 1}\r\n\r\n".encode(),
        b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\n\r\n",
    ):
        assert not (await raw(live.port, request)).startswith(b"HTTP/1.1 200")
    assert seen == []
