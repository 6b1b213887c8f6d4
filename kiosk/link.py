"""The kiosk's line to the queue server: stay connected, know the centre, send requests.

:class:`ServerLink` wraps :class:`queue_server.client.QueueClient`. The client already
reconnects after a drop; the link adds what a kiosk needs on top:

* it starts even when the server is down, and keeps trying (a ``QueueClient`` that
  cannot connect at first gives up, so the link makes a new one after a pause);
* it keeps :attr:`centre` (a :class:`CentreView`) current from the snapshot and the
  ``queue`` pushes, and asks for a fresh snapshot every ``refresh_every`` seconds,
  because whether the centre is open changes with the clock and nothing is pushed;
* it calls ``on_change()`` whenever :attr:`state` or :attr:`centre` changes.

States: ``connecting`` (never connected yet), ``online``, ``offline`` (lost; trying
again), ``refused`` (the token was refused: reconnecting will not help).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from queue_server.client import (
    AuthenticationFailed,
    Backoff,
    ConnectionLost,
    NotConnected,
    QueueClient,
    stop_task,
)

from .centre import CentreView, centre_from_snapshot

log = logging.getLogger("walkin.kiosk")

CLIENT_NAME = "walkin-kiosk/0.1"


class ServerLink:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        on_change: Callable[[], None] = lambda: None,
        refresh_every: float = 60.0,
        max_backoff: float = 3.0,
    ) -> None:
        self.url = url
        self.token = token
        self.on_change = on_change
        self.refresh_every = refresh_every
        self.max_backoff = max_backoff
        self.state = "connecting"
        self.centre: CentreView | None = None
        #: a plain line for staff about the last connection problem
        self.problem = ""
        self._client: QueueClient | None = None
        self._task: asyncio.Task[None] | None = None
        #: called with a ``print_ticket`` push (staff reprint a ticket on this kiosk)
        self.on_print: Callable[[dict[str, Any]], None] | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start connecting in the background (on the running asyncio loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        await stop_task(self._task)  # cancelled until it ends (see stop_task)
        self._task = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def online(self) -> bool:
        return self._client is not None and self._client.connected

    # ------------------------------------------------------------ requests

    async def request(self, type_: str, *, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send a request; raises ``RemoteError``, ``ConnectionLost`` or ``NotConnected``.

        Requests with an ``idempotency_key`` are retried after a lost connection until
        ``timeout`` (the server answers a repeat with the same ticket).
        """
        client = self._client
        if client is None:
            raise NotConnected(f"Not connected to the queue server at {self.url}.")
        return await client.request(
            type_, timeout=timeout, retry="idempotency_key" in fields, **fields
        )

    # ------------------------------------------------------------ the loop

    def _set(self, state: str | None = None, centre: CentreView | None = None) -> None:
        changed = False
        if state is not None and state != self.state:
            self.state, changed = state, True
        if centre is not None and centre != self.centre:
            self.centre, changed = centre, True
        if changed:
            self.on_change()

    async def _run(self) -> None:
        backoff = Backoff(0.2, self.max_backoff)
        while True:
            client = QueueClient(
                self.url, token=self.token, client_name=CLIENT_NAME, max_backoff=self.max_backoff
            )
            try:
                await client.connect(timeout=5.0)
            except AuthenticationFailed as exc:
                self.problem = f"The server refused this kiosk's token ({exc.code})."
                log.error("%s", self.problem)
                self._set("refused")
                return
            except (NotConnected, OSError) as exc:
                self.problem = str(exc)
                self._set("offline")
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self._client = client
            await self._follow(client)

    async def _follow(self, client: QueueClient) -> None:
        """Read pushes and watch the connection until the client gives up for good."""
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + self.refresh_every
        while True:
            try:
                push = await client.next_push(timeout=0.25)
            except TimeoutError:
                push = None
            if push is not None:
                self._on_push(push)
            if client.connected:
                self.problem = ""
                self._set("online")
            else:
                self.problem = f"Lost the connection to {self.url}; reconnecting."
                self._set("offline")
            if client.connected and loop.time() >= next_refresh:
                next_refresh = loop.time() + self.refresh_every
                loop.create_task(self.refresh())

    async def refresh(self) -> None:
        """Ask for a fresh snapshot (opening hours move with the clock)."""
        try:
            reply = await self.request("snapshot", timeout=5.0)
        except (ConnectionLost, NotConnected, Exception) as exc:  # retried next time
            log.info("snapshot refresh failed: %s", exc)
            return
        self._set(centre=centre_from_snapshot(reply["snapshot"]))

    def _on_push(self, push: dict[str, Any]) -> None:
        kind = push.get("type")
        if kind == "snapshot":
            self._set(centre=centre_from_snapshot(push))
        elif kind == "queue" and self.centre is not None:
            self._set(centre=self.centre.with_queue(push.get("waiting") or {}))
        elif kind == "print_ticket" and self.on_print is not None:
            self.on_print(push)
