"""The staff pages: the counter console (``/counter``) and the manager dashboard
(``/manager``).

Each page is static HTML, script and style. It signs in and does everything over the
websocket (``/ws``), where the server checks every message against the signed-in
role (``queue_server.net.server.PERMISSIONS``): a page hides what a role may not do, but
hiding is a courtesy, never the protection. docs/console.md describes the pages.

Why no forms posted to the server and no cookies: a session token that the page
holds in ``sessionStorage`` and sends in its ``hello`` is never sent by the browser
on its own, so another site cannot make a signed-in browser act (no CSRF), and the
websocket handshake refuses a foreign ``Origin`` besides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from queue_server.web import STATIC, html_page

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from queue_server.net.server import QueueServer

#: path -> the HTML file in ``static/`` it serves
PAGES = {"/counter": "counter.html", "/manager": "manager.html"}


class StaffPages:
    def __init__(self, server: QueueServer) -> None:
        self.server = server
        self._pages = {path: (STATIC / name).read_bytes() for path, name in PAGES.items()}

    def install(self) -> None:
        for path in self._pages:
            self.server.http_routes[path] = self.page

    def page(self, connection: ServerConnection, request: Request) -> Response:
        page = self._pages[request.path.split("?", 1)[0]]
        return html_page(request, page, peers=self.server.peer_pages)
