"""The one Python client of the queue server, for the kiosk, the board, the CLI and
the tests: authenticate, request/reply, pushes, reconnect with backoff.

Usage::

    async with QueueClient("ws://127.0.0.1:8765/ws", token=TOKEN) as client:
        reply = await client.request("issue_ticket", service="HB",
                                     idempotency_key=new_idempotency_key())
        async for push in client.pushes():   # "call", "queue", "event", ...
            ...

Replies come back as dicts; an error reply raises ``RemoteError`` (with the server's
``code``). If the connection drops, the client reconnects with exponential backoff
and jitter, says hello again, and receives a fresh snapshot (pushed as a message of
type ``snapshot``, and kept in ``client.snapshot``). A request that was in flight
when the connection dropped raises ``ConnectionLost``: it may or may not have been
done. Requests that carry an ``idempotency_key`` are safe to send again — the server
returns the same ticket — and ``request(..., retry=True)`` does that for you, also
after an ``unavailable`` error (nothing was saved).

A centre with a standby server: give both addresses (a list, or one string with
commas). The client uses whichever accepts it (a standby refuses the handshake with
503), leaves a server that stops answering its pings within ``2 x keepalive`` seconds,
and goes round the list at once before it pauses (docs/operations.md, "Clients").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    InvalidHandshake,
    InvalidURI,
)

from queue_server.core.errors import InvalidRequest
from queue_server.net.protocol import Hello, read_server_message, request_frame
from queue_server.net.redact import wire_logger

log = logging.getLogger("walkin.client")

#: how long an address that hung or died is passed over while another may answer
SUSPECT_SECONDS = 10.0
#: the pause before a keyed request is sent again after its connection was lost
RETRY_PAUSE = 0.05


class ClientError(Exception):
    """Base of the client's errors."""


class RemoteError(ClientError):
    """The server answered with an error."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class ConnectionLost(ClientError):
    """The connection dropped before the reply came; the request may or may not be done."""


class NotConnected(ClientError):
    """The server could not be reached (within the timeout)."""


class ProtocolViolation(ClientError):
    """The server sent something that is not our protocol (the client reconnects)."""


def _server_message(frame: str | bytes) -> dict[str, Any]:
    """A frame from the server, read with the protocol's own envelope models."""
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError) as exc:
        raise ProtocolViolation(f"the server sent a frame that is not JSON: {exc}") from None
    try:
        return read_server_message(message).model_dump()
    except ValueError as exc:
        raise ProtocolViolation(str(exc)) from None


class RefusedBeforeSending(RemoteError):
    """The request was not sent: the protocol's own check (``net/protocol.py``, the one the
    server makes) refused it, with the code and message the server would have given."""


class AuthenticationFailed(RemoteError):
    """The server refused our credentials; reconnecting will not help."""


class Backoff:
    """How long to wait before the next reconnection attempt: exponential backoff with
    full jitter, the one rule every Walkin client follows (the pages' copy is
    ``queue_server/web/static/backoff.js``).

    Attempt *n* (from 0) waits a uniformly random time in ``[0, min(maximum,
    minimum * 2**n))``: the ceiling doubles after each failure, and the randomness
    spreads a hall of kiosks and boards that lost the server at the same moment, so
    they do not all come back in the same instant. ``reset()`` after a success.
    """

    def __init__(
        self,
        minimum: float = 0.2,
        maximum: float = 10.0,
        draw: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError(f"backoff needs 0 < minimum <= maximum, not {minimum}, {maximum}")
        self.minimum = minimum
        self.maximum = maximum
        self._ceiling = minimum
        self._draw = draw

    @property
    def ceiling(self) -> float:
        """The longest the next wait can be."""
        return self._ceiling

    def next_delay(self) -> float:
        """The wait before this attempt; the ceiling then doubles (up to ``maximum``)."""
        delay = self._draw(0.0, self._ceiling)
        self._ceiling = min(self.maximum, self._ceiling * 2)
        return delay

    def reset(self) -> None:
        self._ceiling = self.minimum


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(16)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended, whatever it raised; the caller's own
    cancellation still propagates.

    Cancelled again each time it carries on: on Python 3.11, ``asyncio.wait_for`` loses
    a cancellation that comes in the same turn of the loop as the thing it waits for
    (it returns that thing's result instead: CPython gh-86296, fixed in 3.12), and a
    loop around it runs on while its closer waits for it for ever. That is how a
    kiosk's shutdown hung (``OfflineSync.close``, ``ServerLink.close``). This module
    waits with ``asyncio.timeout`` instead, which does not lose one; this is for
    whatever else a task may await."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled() and task.exception() is not None:
        log.debug("a stopped task had failed: %r", task.exception())


def server_urls(url: str | Sequence[str]) -> tuple[str, ...]:
    """The addresses a client may use, in order of preference: a list, or one string
    of addresses separated by commas (``ws://a:8765/ws,ws://b:8765/ws``: a centre's
    active server and its standby, in a configuration file or on a command line)."""
    parts = url.split(",") if isinstance(url, str) else list(url)
    urls = tuple(part.strip() for part in parts if part.strip())
    if not urls:
        raise ValueError("Give the queue server's address, e.g. ws://HOST:8765/ws.")
    return urls


class QueueClient:
    """A connection to a centre's queue server that stays up.

    ``url`` is one address or several (``server_urls``: the active server and its
    standbys): the client connects to the first that accepts it, and when that one
    goes away (its process ended, it hung: no answer to a ping within ``keepalive``
    seconds, or it became a standby, which refuses the handshake with 503) it tries
    the next at once, and pauses with backoff only when every address has failed."""

    #: per list of addresses, the one a new client tries first: where the last client
    #: was served, or the one after the last that failed (a kiosk or board that starts
    #: a new client after a failed first connection goes on round the list)
    _next_of: dict[tuple[str, ...], int] = {}

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        client_name: str = "walkin-client",
        reconnect: bool = True,
        min_backoff: float = 0.2,
        max_backoff: float = 10.0,
        ssl: Any = None,
        max_pushes: int = 1000,
        keepalive: float = 5.0,
        open_timeout: float = 3.0,
    ) -> None:
        self.urls = server_urls(url)
        #: the address in use (or tried last)
        self.url = self.urls[self._next_of.get(self.urls, 0)]
        self.keepalive = keepalive
        #: a handshake takes milliseconds; one that takes this long is a hung server
        #: (whose kernel still accepts connections): the next address is tried
        self.open_timeout = open_timeout
        credentials = {"token": token} if token else {"username": username, "password": password}
        try:
            hello = Hello.model_validate({"type": "hello", "client": client_name, **credentials})
        except ValidationError as exc:
            raise ValueError(
                f"These credentials cannot be sent: {exc.errors()[0]['msg']}"
            ) from None
        self._hello = hello.model_dump(mode="json", exclude_none=True)
        self.reconnect = reconnect
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.ssl = ssl
        self.role: str | None = None
        self.snapshot: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_pushes)
        #: pushes dropped because nobody read them (see ``max_pushes``)
        self.dropped_pushes = 0
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._fatal: BaseException | None = None
        #: how many times the connection was (re-)established
        self.connections = 0
        #: the code and reason of the last close the server sent (None: none yet)
        self.last_close: tuple[int, str] | None = None

    # ------------------------------------------------------------ lifecycle

    async def connect(self, timeout: float = 10.0) -> QueueClient:
        """Connect and authenticate; raises ``NotConnected`` or ``AuthenticationFailed``."""
        self._runner = asyncio.create_task(self._run())
        waiter = asyncio.create_task(self._connected.wait())
        try:
            await asyncio.wait(
                {waiter, self._runner}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if self._fatal is not None:
            await self.close()
            raise self._fatal
        if not self._connected.is_set():
            await self.close()
            where = self.url if len(self.urls) == 1 else f"any of {', '.join(self.urls)}"
            raise NotConnected(f"Could not reach the queue server at {where} within {timeout:g} s.")
        return self

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        await stop_task(self._runner)
        self._fail_pending(ConnectionLost("The client was closed."))

    async def __aenter__(self) -> QueueClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    # ------------------------------------------------------------ the connection loop

    async def _run(self) -> None:
        backoff = Backoff(self.min_backoff, self.max_backoff)
        at = self._next_of.get(self.urls, 0)  # the address to try next
        failed_in_a_row = 0  # addresses tried since the last good connection
        #: address index -> until when it is tried only if no other is left: it hung
        #: (no handshake in time) or dropped without a word
        suspects: dict[int, float] = {}
        loop = asyncio.get_running_loop()
        while not self._closing:
            self.url = self.urls[at]
            handshaken = False
            started = loop.time()
            try:
                async with connect(
                    self.url,
                    ssl=self.ssl,
                    open_timeout=self.open_timeout,
                    max_size=2**22,
                    # a server that hangs is left within 2 x keepalive seconds
                    ping_interval=self.keepalive,
                    ping_timeout=self.keepalive,
                    # and not kept waiting for its closing handshake (10 s by default)
                    close_timeout=1.0,
                    # frames hold tokens and passwords: logged by kind and length only
                    logger=wire_logger("walkin.client.wire"),
                ) as ws:
                    await self._handshake(ws)
                    handshaken = True
                    self._next_of[self.urls] = at
                    backoff.reset()
                    failed_in_a_row = 0
                    await self._read(ws)
                    self._closed_by_server(ws)
            except AuthenticationFailed as exc:
                if exc.code == "rate_limited" and self.connections and self.reconnect:
                    # someone else's failed sign-ins from our address: wait it out
                    # rather than stay down (only a first connection gives up)
                    wait = float((exc.details or {}).get("retry_after_seconds", 60))
                    log.warning("%s; reconnecting in %g s", exc.message, wait)
                    await asyncio.sleep(wait)
                    continue
                self._fatal = exc
                return
            except TimeoutError:  # no handshake in time: hung (its kernel still accepts)
                suspects[at] = loop.time() + SUSPECT_SECONDS
            except ConnectionClosedError as exc:
                if exc.rcvd is None:  # no closing frame: it died or hung (pings unanswered)
                    suspects[at] = loop.time() + SUSPECT_SECONDS
                else:
                    self._closed_by_server(exc)
            except (OSError, ConnectionClosed, InvalidHandshake):
                pass
            except ProtocolViolation as exc:
                log.warning("%s; reconnecting", exc)
            except InvalidURI as exc:
                self._fatal = NotConnected(f"Bad server URL {self.url!r}: {exc}")
                return
            finally:
                self._ws = None
                self._connected.clear()
                self._fail_pending(
                    ConnectionLost("The connection to the queue server dropped before it answered.")
                )
            if not self.reconnect or self._closing:
                return
            # the next address (the same one if there is only one), passing over those
            # that just hung or died while others may answer: at once while some are
            # untried since the last connection that served a while (a standby
            # answers 503 at once), with backoff once all have failed
            now = loop.time()
            live = [i for i in range(len(self.urls)) if suspects.get(i, 0.0) <= now]
            at = next(
                (
                    (at + step) % len(self.urls)
                    for step in range(1, len(self.urls) + 1)
                    if (at + step) % len(self.urls) in live
                ),
                (at + 1) % len(self.urls),
            )
            if not handshaken:
                self._next_of[self.urls] = at
            served = handshaken and now - started >= 1.0
            failed_in_a_row = 0 if served else failed_in_a_row + 1
            if served or failed_in_a_row < max(1, len(live)):
                continue
            failed_in_a_row = 0
            await asyncio.sleep(backoff.next_delay())

    def _closed_by_server(self, closed: ClientConnection | ConnectionClosed) -> None:
        """Note why the server closed the connection (``last_close``), if it said: a
        server stepping down says so, and the client goes on to the next address."""
        frame = closed.protocol.close_rcvd if isinstance(closed, ClientConnection) else closed.rcvd
        if frame is None or self._closing:
            return
        self.last_close = (int(frame.code), frame.reason)
        log.info(
            "the server at %s closed the connection: %s %s", self.url, frame.code, frame.reason
        )

    async def _handshake(self, ws: ClientConnection) -> None:
        await ws.send(json.dumps(self._hello))
        async with asyncio.timeout(15):
            welcome = _server_message(await ws.recv())
        if welcome.get("type") == "error":
            raise AuthenticationFailed(
                welcome.get("code", "not_authenticated"),
                welcome.get("message", ""),
                welcome.get("details"),
            )
        if welcome.get("type") != "welcome":
            raise ProtocolViolation(f"expected a welcome, got {welcome.get('type')!r}")
        self.role = welcome.get("role")
        async with asyncio.timeout(15):
            snapshot = _server_message(await ws.recv())
        if snapshot.get("type") != "snapshot":
            raise ProtocolViolation(f"expected a snapshot, got {snapshot.get('type')!r}")
        self.snapshot = snapshot
        self._ws = ws
        self.connections += 1
        self._connected.set()
        self._push(snapshot)

    async def _read(self, ws: ClientConnection) -> None:
        async for frame in ws:
            message = _server_message(frame)
            kind = message.get("type")
            if kind in ("ok", "error"):
                future = self._pending.pop(message.get("re"), None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                if kind == "snapshot":
                    self.snapshot = message
                self._push(message)

    def _push(self, message: dict[str, Any]) -> None:
        # A client that never reads its pushes (a kiosk cares only for replies) must
        # not grow without bound over a day: past the limit the oldest are dropped.
        if self._pushes.full():
            self._pushes.get_nowait()
            self.dropped_pushes += 1
        self._pushes.put_nowait(message)

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # ------------------------------------------------------------ requests

    async def request(
        self, type_: str, *, timeout: float = 15.0, retry: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Send one request and return the server's ``ok`` reply.

        Raises ``RemoteError`` for an error reply, ``ConnectionLost`` if the
        connection dropped first, ``NotConnected`` if not connected within
        ``timeout``. With ``retry=True`` (only for requests with an idempotency
        key), a lost connection is retried until ``timeout``.
        """
        if "id" in fields or "type" in fields:
            raise ValueError("'id' and 'type' are set by the client, not passed as fields")
        if self._closing:
            raise NotConnected("This client was closed.")
        if retry and "idempotency_key" not in fields:
            raise ValueError(
                "retry=True needs an idempotency_key, or a retry could do the thing twice"
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return await self._request_once(type_, deadline, fields)
            except ConnectionLost:
                if not retry or loop.time() >= deadline:
                    raise
                # give the reader its turn to notice the closed connection and
                # connect again: without a real wait, a send that fails at once on a
                # closed connection retried without ever yielding, and the whole
                # event loop (the kiosk's screen, the timeouts) stood still
                await asyncio.sleep(min(RETRY_PAUSE, max(0.0, deadline - loop.time())))
            except RemoteError as exc:
                # "unavailable": nothing was saved (the database could not, or this
                # server is no longer the centre's active one and is closing): the
                # same key again, soon, here or at the server that took over
                if not retry or exc.code != "unavailable" or loop.time() >= deadline:
                    raise
                await asyncio.sleep(min(0.5, max(0.0, deadline - loop.time())))

    async def _request_once(
        self, type_: str, deadline: float, fields: dict[str, Any]
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        # asyncio.timeout, not wait_for, here and below: see stop_task
        try:
            async with asyncio.timeout_at(deadline):
                await self._connected.wait()
        except TimeoutError:
            if self._fatal is not None:
                raise self._fatal from None
            raise NotConnected(f"Not connected to the queue server at {self.url}.") from None
        ws = self._ws
        if ws is None:
            raise ConnectionLost("The connection dropped.")
        request_id = next(self._ids)
        try:
            frame = request_frame(type_, request_id, fields)
        except InvalidRequest as exc:
            raise RefusedBeforeSending(exc.code, exc.message, exc.details) from None
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[request_id] = future
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            self._pending.pop(request_id, None)
            # this connection is done: the next request waits for the reader to
            # connect again rather than failing on the same closed one at once
            if self._ws is ws:
                self._ws = None
                self._connected.clear()
            raise ConnectionLost("The connection dropped while sending.") from None
        try:
            async with asyncio.timeout_at(deadline):
                reply = await future
        except TimeoutError:
            self._pending.pop(request_id, None)
            raise ConnectionLost(f"No reply to {type_!r} in time.") from None
        if reply.get("type") == "error":
            raise RemoteError(
                reply.get("code", "error"), reply.get("message", ""), reply.get("details")
            )
        return reply

    # ------------------------------------------------------------ pushes

    async def next_push(self, timeout: float | None = None) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            return await self._pushes.get()

    async def pushes(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self._pushes.get()

    def drain_pushes(self) -> list[dict[str, Any]]:
        items = []
        while not self._pushes.empty():
            items.append(self._pushes.get_nowait())
        return items
