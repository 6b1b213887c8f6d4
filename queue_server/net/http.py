"""Plain HTTP on the queue server's port, answered before any websocket handshake:
``/healthz``, the pages of ``queue_server.web`` (the server's ``http_routes`` and
``http_prefix_routes``), the ``Origin`` check of a websocket handshake, and a JSON error
for anything else (docs/protocol.md, "Connecting")."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from queue_server.net import wire
from queue_server.net.wire import json_response

if TYPE_CHECKING:
    from queue_server.net.server import QueueServer

#: the websocket endpoint's paths
WS_PATHS = ("/", "/ws")

#: a page's handler: the response, or (for one that must commit, such as a posted
#: form) an awaitable of it
HttpHandler = Callable[[ServerConnection, Request], Response | None | Awaitable[Response | None]]
#: the methods a page may be asked with (a form posts); a handler with a ``methods``
#: attribute is asked with those instead (the bookings API's DELETE)
METHODS = ("GET", "HEAD", "POST")


async def process_request(
    server: QueueServer, connection: ServerConnection, request: Request
) -> Response | None:
    """The response to a plain HTTP request, or None to go on with the handshake."""
    path = request.path.split("?", 1)[0]
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if path == "/healthz":
        return await health(server, connection)
    if path in WS_PATHS and upgrade:
        return wire.foreign_origin(connection, request)
    route = server.http_routes.get(path) or prefix_route(server.http_prefix_routes, path)
    methods = getattr(route, "methods", METHODS)
    if request.method not in methods:
        response = json_response(
            connection,
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"error": "method_not_allowed", "message": f"{request.method} is not served here."},
        )
        response.headers["Allow"] = ", ".join(methods)
        return response
    if route is not None:
        if upgrade:
            return json_response(
                connection,
                HTTPStatus.BAD_REQUEST,
                {"error": "not_websocket", "message": f"{path} is a page; use /ws."},
            )
        response = route(connection, request)
        if inspect.isawaitable(response):
            response = await response
        return response
    if path in WS_PATHS:
        return json_response(
            connection,
            HTTPStatus.UPGRADE_REQUIRED,
            {
                "error": "upgrade_required",
                "message": "This address is for websocket clients; see docs/protocol.md.",
            },
        )
    return json_response(
        connection,
        HTTPStatus.NOT_FOUND,
        {"error": "not_found", "message": f"Nothing at {path}."},
    )


def prefix_route(routes: dict[str, HttpHandler], path: str) -> HttpHandler | None:
    """The route of the longest prefix of ``path`` in ``routes``, if any."""
    matches = [prefix for prefix in routes if path.startswith(prefix)]
    return routes[max(matches, key=len)] if matches else None


async def health(server: QueueServer, connection: ServerConnection) -> Response:
    """``ok`` (200) while the database answers and the last write succeeded;
    ``degraded`` (503) with the reason while it does not answer, or while writes fail
    (a full disk, a read-only database: reads alone would still say ok), until the
    next good commit (``Store.write_failure``). ``stepping_down`` (503, role
    ``standby``) from the moment a server that lost its database steps down
    (``serving.ClaimedQueueServer.step_down``)."""
    # "standby" once a ClaimedQueueServer stepped down: the database is not asked
    role = getattr(server, "role", "active")
    database = "ok" if role == "active" else "not asked: this server stepped down"
    if role == "active":
        try:
            await asyncio.wait_for(asyncio.to_thread(server.store.ping), timeout=3)
        except Exception as exc:  # any failure means unhealthy; say which
            database = f"error: {type(exc).__name__}"
    failure = server.store.write_failure
    writes = "ok" if failure is None else f"failing since {failure[0].isoformat()}: {failure[1]}"
    healthy = role == "active" and database == "ok" and failure is None
    now = server.clock()
    body = {
        "status": "ok" if healthy else "degraded" if role == "active" else "stepping_down",
        # the standby answers 503 with "standby" here (net/serving.py: stand_by)
        "role": role,
        "centre": server.setup.centre_id,
        "time": now.isoformat(),
        "database": database,
        "writes": writes,
        "connections": server.connection_count,
        "waiting": len(server.centre.queued()),
        "open": server.centre.is_open(now),
        # the centre's servers, for the pages to find the active one (failover.js)
        "servers": list(server.peer_pages),
    }
    status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
    return wire.for_any_page(json_response(connection, status, body))
