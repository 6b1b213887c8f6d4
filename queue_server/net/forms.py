"""HTML forms posted to the queue server's own port.

websockets answers plain HTTP before a handshake (``net/http.py``) but reads only a
request line and headers: a request with a body is refused as "unsupported request
body", so a page could only send what it asks for in the address. The visitors' pages
(joining the queue, feedback) must work without scripts and must not change anything
on a GET (a link preview or a prefetch would take a ticket). So the server's
connections parse one more thing than websockets does: a ``POST`` of an
``application/x-www-form-urlencoded`` body of at most ``MAX_FORM_BYTES``, read into
``FormRequest.body``. Everything else is exactly websockets' handshake; the handshake
itself (a GET) is untouched.

The integrations' HTTP API (``API_PREFIX``: ``net/bookings_api.py``) gets one more:
under it, a ``POST`` of ``application/json`` of at most ``MAX_JSON_BYTES`` is read into
``body`` too. A body under it that this server will not take (too large up to
``MAX_DRAINED_BYTES``, another type, a body on a ``DELETE``) is read and dropped, and
``FormRequest.refused`` says why, so that the API answers a JSON error the client can
read instead of a closed connection; beyond ``MAX_DRAINED_BYTES`` the connection is
closed unanswered, as websockets does for any request it cannot read.

``create_connection`` is given to ``websockets.asyncio.server.serve``: it gives each
connection's sans-I/O protocol the form-reading ``parse`` before any byte arrives.
``form_fields(request)`` reads the fields of a posted form (or None for a GET).
"""

from __future__ import annotations

import dataclasses
import http
import json
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import InvalidMessage
from websockets.http11 import (
    HeaderLineTooLong,
    Request,
    RequestLineTooLong,
    TooManyHeaders,
    parse_headers,
    parse_line,
)
from websockets.protocol import CONNECTING, Protocol
from websockets.server import ServerProtocol

#: the largest form body read (a feedback comment of 1,200 characters, percent-encoded
#: as Arabic script, is about 7 KB)
MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
#: the paths of the integrations' JSON API
API_PREFIX = "/api/"
JSON_TYPE = "application/json"
#: the largest JSON body read (one booking is about 150 bytes)
MAX_JSON_BYTES = 16 * 1024
#: an API body refused (too large, another type) is still read and dropped up to this,
#: so the refusal reaches the client (a socket closed with unread bytes is reset)
MAX_DRAINED_BYTES = 256 * 1024


@dataclasses.dataclass
class FormRequest(Request):
    """A request as websockets reads it, and the body of a posted form (or, under
    ``API_PREFIX``, of posted JSON). ``refused``: why an API request's body was read
    and dropped (``"too_large"``, ``"unsupported_type"``, ``"unexpected_body"``);
    None when it was taken or there was none."""

    body: bytes = b""
    refused: str | None = None


class BadForm(ValueError):
    """A request this server cannot read (the reason is the message)."""


def parse_request(
    read_line: Callable[[int], Generator[None, None, bytes | bytearray]],
    read_exact: Callable[[int], Generator[None, None, bytes | bytearray]],
) -> Generator[None, None, FormRequest]:
    """As ``websockets.http11.Request.parse``, and a form body for a POST."""
    request_line = yield from parse_line(read_line)
    try:
        raw_method, raw_path, raw_protocol = request_line.split(b" ", 2)
    except ValueError:
        raise BadForm("invalid HTTP request line") from None
    if raw_protocol not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadForm("unsupported protocol")
    method, path = raw_method.decode("ascii"), raw_path.decode("ascii")
    headers: Headers = yield from parse_headers(read_line)
    if "Transfer-Encoding" in headers:
        raise BadForm("transfer codings aren't supported")
    lengths = set(headers.get_all("Content-Length"))
    body = b""
    refused = None
    if lengths - {"0"}:
        if len(lengths) != 1:
            raise BadForm("unsupported request body")
        kind = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        (length,) = lengths
        if not length.isdigit():
            raise BadForm("unsupported request body")
        size = int(length)
        if path.startswith(API_PREFIX):
            if size > MAX_DRAINED_BYTES:
                raise BadForm("request body too large")
            refused = (
                "unexpected_body"
                if method != "POST"
                else "unsupported_type"
                if kind != JSON_TYPE
                else "too_large"
                if size > MAX_JSON_BYTES
                else None
            )
        elif method != "POST" or kind != FORM_TYPE or size > MAX_FORM_BYTES:
            raise BadForm("unsupported request body")
        body = bytes((yield from read_exact(size)))
        if refused is not None:
            body = b""
    return FormRequest(
        path, headers, method, raw_protocol.decode("ascii"), body=body, refused=refused
    )


class FormServerProtocol(ServerProtocol):
    """websockets' server protocol, reading a posted form's body too."""

    def parse(self) -> Generator[None]:
        if self.state is CONNECTING:
            try:
                request = yield from parse_request(self.reader.read_line, self.reader.read_exact)
            except RequestLineTooLong as exc:
                self.handshake_exc = exc
                self.send_response(
                    self.reject(http.HTTPStatus.REQUEST_URI_TOO_LONG, f"Failed: {exc}.\n")
                )
                yield
            except (HeaderLineTooLong, TooManyHeaders) as exc:
                self.handshake_exc = exc
                self.send_response(
                    self.reject(
                        http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"Failed: {exc}.\n"
                    )
                )
                yield
            except Exception as exc:  # as websockets: any unreadable request
                self.handshake_exc = InvalidMessage("did not receive a valid HTTP request")
                self.handshake_exc.__cause__ = exc
                self.send_eof()
                self.parser = self.discard()
                next(self.parser)
                yield
            if self.debug:  # as websockets logs a request (redacted by net/redact.py)
                self.logger.debug("< %s %s %s", request.method, request.path, request.protocol)
                for key, value in request.headers.raw_items():
                    self.logger.debug("< %s: %s", key, value)
            self.events.append(request)
        yield from Protocol.parse(self)


def create_connection(protocol: ServerProtocol, *args: Any, **kwargs: Any) -> ServerConnection:
    """``serve(create_connection=...)``: the connection, its protocol reading forms.
    Nothing has been received yet, so its parser is simply started afresh."""
    protocol.__class__ = FormServerProtocol
    protocol.parser = protocol.parse()
    next(protocol.parser)
    return ServerConnection(protocol, *args, **kwargs)


def json_body(request: Request) -> Any:
    """The JSON value posted under ``API_PREFIX``. Raises ``BadForm`` (the message
    says what is wrong, for the client) for a body refused while reading
    (``FormRequest.refused``), none at all, or one that is not UTF-8 JSON."""
    refused = getattr(request, "refused", None)
    if refused == "too_large":
        raise BadForm(f"The body is larger than {MAX_JSON_BYTES} bytes.")
    if refused == "unsupported_type":
        raise BadForm(f"The body must be {JSON_TYPE} (send a Content-Type: {JSON_TYPE} header).")
    if refused == "unexpected_body":
        raise BadForm(f"A {request.method} takes no body.")
    body = getattr(request, "body", b"")
    if not body:
        raise BadForm(f"The request has no body: send the booking as {JSON_TYPE}.")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadForm("The body is not UTF-8 text.") from None
    except ValueError as exc:
        raise BadForm(f"The body is not JSON: {exc}.") from None


def form_fields(request: Request) -> dict[str, str] | None:
    """The fields of a posted form (the first value of each; blank values kept), or
    None if ``request`` is not a POST. Raises ``BadForm`` for a body that is not
    UTF-8 form data."""
    if request.method != "POST":
        return None
    body = getattr(request, "body", b"")
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise BadForm("the form could not be read") from None
    return {name: values[0] for name, values in fields.items()}


def posted_action(request: Request) -> str | None:
    """A posted form's hidden ``do`` field: which of a page's forms was sent (the
    ticket status page holds several), or None for a GET or a body that is not a form."""
    try:
        return (form_fields(request) or {}).get("do")
    except BadForm:
        return None
