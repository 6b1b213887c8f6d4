"""Pages the queue server serves on its own port: the display board (``/board``), the
counter console (``/counter``), the manager dashboard (``/manager``) and the visitors'
ticket status pages (``/t/<ticket id>``).

``install_routes(server)`` adds to ``server.http_routes``:

| path | what |
| --- | --- |
| ``/board`` | the board page; it opens the websocket ``/ws`` and says hello with a token |
| ``/counter``, ``/manager`` | staff pages (``queue_server.web.pages``); they sign in over ``/ws`` |
| ``/static/<file>`` | every script, style and image in ``queue_server/web/static`` |
| ``/board/chime.wav`` | the chime (made by ``speech.audio``), public |
| ``/board/announce`` | ``?call=ID&languages=visitor,en``: the words for a recent call (JSON) |
| ``/board/announce.wav`` | the same, spoken by espeak-ng |
| ``/join/<centre id>`` | joining the queue from a phone (``join_page``) |

The two announce paths need ``Authorization: Bearer <board token>``, and answer only
for one of the centre's recent calls, so they say nothing the hall does not hear.
Rendering speech takes a few hundred milliseconds, too long for the server's event
loop (handlers are synchronous): it runs in a worker thread, and until it is ready
``announce.wav`` answers ``503`` with ``Retry-After``; the page asks again. Asking for
the JSON starts the rendering, so the WAV is usually ready by the end of the chime.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import formatdate
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from queue_server import views
from queue_server.core.errors import NotAuthenticated
from queue_server.store import hash_token
from speech.audio import AudioError, chime_wav, render_speech
from speech.board_words import board_words, parse_screen_languages, right_to_left
from speech.call import Call
from speech.phrases import Utterance, parse_languages, utterances

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from queue_server.net.server import QueueServer

log = logging.getLogger("walkin.web")

STATIC = Path(__file__).with_name("static")
#: what ``/static/`` serves, by file suffix (HTML pages have routes of their own)
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
#: a board token, once checked against the database, is trusted this long (a revoked
#: token stops working for the announce paths within this time; the websocket at once)
TOKEN_TRUST_SECONDS = 300.0
#: how many recent calls the announce paths will speak (the snapshot shows ten)
RECENT_CALLS = 30
#: rendered announcements kept (about 0.5 MB each)
CACHE_SIZE = 24


def install_routes(server: QueueServer) -> None:
    """Register every page and its files in ``server.http_routes``."""
    from queue_server.web import join_page, ticket_page
    from queue_server.web.pages import StaffPages

    StaticFiles().install(server)
    BoardPages(server).install()
    StaffPages(server).install()
    ticket_page.install(server)
    join_page.install(server)


class StaticFiles:
    """``/static/<name>``: the files in ``STATIC`` with a suffix in ``STATIC_TYPES``,
    read once when the server starts."""

    def __init__(self) -> None:
        self._files = {
            f"/static/{path.name}": (path.read_bytes(), STATIC_TYPES[path.suffix])
            for path in sorted(STATIC.iterdir())
            if path.is_file() and path.suffix in STATIC_TYPES
        }

    def install(self, server: QueueServer) -> None:
        server.http_prefix_routes["/static/"] = self.serve
        # browsers ask for /favicon.ico whatever the page says; the pages link icon.svg
        server.http_routes["/favicon.ico"] = self.icon

    def icon(self, connection: ServerConnection, request: Request) -> Response:
        body, content_type = self._files["/static/icon.svg"]
        return respond(HTTPStatus.OK, body, content_type, {"Cache-Control": "max-age=86400"})

    def serve(self, connection: ServerConnection, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        found = self._files.get(path)
        if found is None:
            return json_body(
                HTTPStatus.NOT_FOUND, {"error": "not_found", "message": f"Nothing at {path}."}
            )
        body, content_type = found
        return respond(HTTPStatus.OK, body, content_type, {"Cache-Control": "no-cache"})


def page_policy(host: str, peers: Sequence[str] = ()) -> str:
    """The Content-Security-Policy of every page: nothing but this server's own files,
    and its websocket; and the centre's other servers (``peers``, config ``[servers]
    pages``), whose ``/healthz`` a page asks when its own server stops (failover.js)."""
    others = "".join(f" {peer}" for peer in peers)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob:; connect-src 'self' ws://{host} wss://{host}{others}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def html_page(
    request: Request,
    body: bytes,
    status: HTTPStatus = HTTPStatus.OK,
    peers: Sequence[str] = (),
) -> Response:
    """An HTML page under ``page_policy``, never cached (it may carry live figures)."""
    return respond(
        status,
        body,
        "text/html; charset=utf-8",
        {
            "Content-Security-Policy": page_policy(request.headers.get("Host", ""), peers),
            "Cache-Control": "no-store",
        },
    )


class BoardPages:
    def __init__(self, server: QueueServer) -> None:
        self.server = server
        self._page = (STATIC / "board.html").read_bytes()
        self._trusted: dict[str, float] = {}
        self._speech: OrderedDict[tuple[str, tuple[str, ...]], Future[bytes]] = OrderedDict()
        self._workers: ThreadPoolExecutor | None = None

    def install(self) -> None:
        routes = self.server.http_routes
        routes["/board"] = self.page
        routes["/board/chime.wav"] = self.chime
        routes["/board/announce"] = self.announce_text
        routes["/board/announce.wav"] = self.announce_wav
        # a revoked or rotated board token stops fetching speech at the next check
        self.server.credential_caches.append(self._trusted.clear)

    # ------------------------------------------------------------ public files

    def page(self, connection: ServerConnection, request: Request) -> Response:
        """The board page, its words in the screen languages ``?screen=cy,en`` (default
        English): put into the page for its script, which draws every visitor-facing
        phrase from them. An unknown language is reported on the page, English shown."""
        query = parse_qs(urlsplit(request.path).query)
        wanted = (query.get("screen") or ["en"])[0]
        problem = ""
        try:
            languages = parse_screen_languages(wanted)
        except ValueError as exc:
            languages, problem = ["en"], str(exc)
        words = {**board_words(languages), "problem": problem}
        direction = "rtl" if right_to_left(languages) else "ltr"
        page = self._page.replace(
            b'<html lang="en">',
            f'<html lang="{languages[0]}" dir="{direction}">'.encode(),
        ).replace(
            b"<body>",
            f"<body data-words='{escape(json.dumps(words), quote=True)}'>".encode(),
        )
        return html_page(request, page, peers=self.server.peer_pages)

    def chime(self, connection: ServerConnection, request: Request) -> Response:
        return respond(
            HTTPStatus.OK, chime_wav(), "audio/wav", {"Cache-Control": "public, max-age=86400"}
        )

    # ------------------------------------------------------------ announcements

    def announce_text(self, connection: ServerConnection, request: Request) -> Response:
        """``{"call_id", "captions": [{"language", "text", "rtl"}]}``; starts the speech."""
        found = self._find(request)
        if isinstance(found, Response):
            return found
        call, languages, said = found
        self._start_rendering(call, languages, said)
        captions = [{"language": u.language, "text": u.text, "rtl": u.right_to_left} for u in said]
        return json_body(HTTPStatus.OK, {"call_id": call.call_id, "captions": captions})

    def announce_wav(self, connection: ServerConnection, request: Request) -> Response:
        found = self._find(request)
        if isinstance(found, Response):
            return found
        call, languages, said = found
        future = self._start_rendering(call, languages, said)
        if not future.done():
            return json_body(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": "rendering", "message": "The announcement is being made; ask again."},
                {"Retry-After": "1"},
            )
        try:
            wav = future.result()
        except AudioError as exc:
            return json_body(
                HTTPStatus.NOT_IMPLEMENTED, {"error": "speech_unavailable", "message": str(exc)}
            )
        return respond(HTTPStatus.OK, wav, "audio/wav", {"Cache-Control": "private, max-age=600"})

    def _find(self, request: Request) -> tuple[Call, tuple[str, ...], list[Utterance]] | Response:
        """The call a request names, or the error response to send."""
        if not self._authorised(request):
            return json_body(
                HTTPStatus.UNAUTHORIZED,
                {
                    "error": "not_authenticated",
                    "message": "Send a board token: Authorization: Bearer ...",
                },
                {"WWW-Authenticate": 'Bearer realm="walkin-board"'},
            )
        query = parse_qs(urlsplit(request.path).query)
        call_id = query.get("call", [""])[0]
        try:
            languages = tuple(parse_languages(query.get("languages", ["visitor,en"])[0]))
        except ValueError as exc:
            return json_body(
                HTTPStatus.BAD_REQUEST, {"error": "invalid_request", "message": str(exc)}
            )
        for message in views.recent_calls(self.server.centre, RECENT_CALLS):
            if message["call_id"] == call_id:
                call = Call.from_message(message)
                return call, languages, utterances(call, languages)
        return json_body(
            HTTPStatus.NOT_FOUND, {"error": "not_found", "message": "No such recent call."}
        )

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 256:
            return False
        key = hash_token(token)
        now = time.monotonic()
        if self._trusted.get(key, 0.0) > now:
            return True
        # A blocking lookup by the token's hash, once per board per TOKEN_TRUST_SECONDS.
        from queue_server.net.auth import authenticate

        try:
            identity = authenticate(self.server.store, self.server.setup.centre_id, token=token)
        except NotAuthenticated:
            return False
        except Exception:
            log.exception("checking a board token failed")
            return False
        if identity.role != "board":
            return False
        self._trusted[key] = now + TOKEN_TRUST_SECONDS
        return True

    def _start_rendering(
        self, call: Call, languages: tuple[str, ...], said: list[Utterance]
    ) -> Future[bytes]:
        key = (call.call_id, languages)
        future = self._speech.get(key)
        if future is None:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="walkin-speech"
                )
            future = self._workers.submit(render_speech, said)
            self._speech[key] = future
            while len(self._speech) > CACHE_SIZE:
                self._speech.popitem(last=False)
        else:
            self._speech.move_to_end(key)
        return future


# ---------------------------------------------------------------- responses


def respond(
    status: HTTPStatus, body: bytes, content_type: str, extra: dict[str, str] | None = None
) -> Response:
    """A complete HTTP response (the websockets ``Response``) with safe defaults."""
    headers = Headers()
    headers["Date"] = formatdate(usegmt=True)
    headers["Connection"] = "close"
    headers["Content-Length"] = str(len(body))
    headers["Content-Type"] = content_type
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    for name, value in (extra or {}).items():
        headers[name] = value
    return Response(status.value, status.phrase, headers, body)


def json_body(
    status: HTTPStatus, body: dict[str, Any], extra: dict[str, str] | None = None
) -> Response:
    return respond(
        status,
        (json.dumps(body) + "\n").encode(),
        "application/json; charset=utf-8",
        {"Cache-Control": "no-store", **(extra or {})},
    )
