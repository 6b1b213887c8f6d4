"""The wire layer under the server: frames to JSON values, request ids, error
replies, HTTP responses on the websocket port, and the handshake's Origin check."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from queue_server.core.errors import InvalidRequest, WalkinError
from queue_server.net import protocol as p


class MalformedMessage(InvalidRequest):
    code = "invalid_json"


class TooLarge(InvalidRequest):
    code = "too_large"


class DuplicateKey(InvalidRequest):
    """A key given twice in one JSON object; ``request_id`` is the frame's id when
    that was readable (not itself the key given twice), for the reply's ``re``."""

    def __init__(self, key: str, request_id: Any) -> None:
        super().__init__(
            f'The key "{key}" appears twice in one object; send each key once.', field=key
        )
        self.request_id = request_id


class _Repeated(Exception):
    """Raised from the JSON parser's object hook: this key came twice."""

    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Repeated(key)
            seen.add(key)
    return value


def parse_frame(frame: str | bytes) -> Any:
    """The frame's JSON value; ``InvalidRequest`` (or a subclass) if it is not one,
    or if any object in it gives a key twice (``DuplicateKey``: JSON parsers disagree
    on which of the two wins, so a request that says two things is refused)."""
    if isinstance(frame, bytes):
        raise InvalidRequest("Send JSON as text frames, not binary.")
    size = len(frame.encode())
    if size > p.MAX_FRAME:
        raise TooLarge(f"Message too large: {size} bytes; the limit is {p.MAX_FRAME}.")
    try:
        return json.loads(frame, object_pairs_hook=_refuse_repeats)
    except json.JSONDecodeError as exc:
        raise MalformedMessage(
            f"Not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except (ValueError, RecursionError):
        # JSON, but more than Python will parse: nesting too deep, an integer of
        # thousands of digits
        raise MalformedMessage(
            "Not JSON we can read: too deeply nested or too long a number."
        ) from None
    except _Repeated as repeated:
        echo = None
        if repeated.key != "id":
            try:
                echo = usable_id(json.loads(frame))
            except (ValueError, RecursionError):
                pass
        raise DuplicateKey(repeated.key, echo) from None


#: a request id: a string of at most this many characters, or an integer
MAX_ID_LENGTH = 64


def usable_id(raw: Any) -> Any:
    """The ``id`` of a decoded frame if it is a valid request id, else None."""
    request_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return None
    if isinstance(request_id, str) and len(request_id) > MAX_ID_LENGTH:
        return None
    return request_id


def request_id(raw: Any) -> Any:
    """The ``id`` of a decoded frame (None if it has none). ``InvalidRequest`` naming
    the field ``id`` if it is neither a string of at most 64 characters nor an integer
    (``true`` is not an integer here, nor is ``1.0``)."""
    if not isinstance(raw, dict) or raw.get("id") is None:
        return None
    found = usable_id(raw)
    if found is None:
        shown = json.dumps(raw["id"])
        if len(shown) > 40:
            shown = shown[:37] + "..."
        raise InvalidRequest(
            f'The request "id" must be a string of at most {MAX_ID_LENGTH} characters or an '
            f"integer, not {shown}.",
            field="id",
        )
    return found


def error_reply(request_id: Any, error: WalkinError) -> dict[str, Any]:
    return p.error_frame(
        request_id,
        error.code,
        error.message,
        {k: v for k, v in error.details.items() if k != "detail"},
    )


def json_response(
    connection: ServerConnection, status: HTTPStatus, body: dict[str, Any]
) -> Response:
    response = connection.respond(status, json.dumps(body) + "\n")
    headers = Headers(response.headers)
    del headers["Content-Type"]
    headers["Content-Type"] = "application/json; charset=utf-8"
    headers["Cache-Control"] = "no-store"
    return Response(response.status_code, response.reason_phrase, headers, response.body)


def for_any_page(response: Response) -> Response:
    """``response`` readable by a page of any site (``/healthz``: a page of the
    centre's other server asks which server is active; it says nothing secret)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def foreign_origin(connection: ServerConnection, request: Request) -> Response | None:
    """A 403 for a browser page from another site opening our websocket, else None.

    Browsers send ``Origin`` on every websocket handshake; our own pages' origin is
    this server (the ``Host`` they asked). Programs (kiosks, boards, the CLI) send
    none and are not affected. Credentials are never cookies, so this is a second
    guard, not the only one.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    host = request.headers.get("Host", "").lower()
    if origin != "null" and urlsplit(origin).netloc.lower() == host:
        return None
    return json_response(
        connection,
        HTTPStatus.FORBIDDEN,
        {
            "error": "forbidden",
            "message": f"Pages from {origin} may not connect here; open the page from this "
            "server instead.",
        },
    )
