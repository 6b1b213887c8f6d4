"""Printer status changes to the queue server, so managers see a kiosk out of paper.

A ``Printer`` calls its status listeners from whatever thread read the status (a
print, or a ``StatusMonitor``). ``StatusReporter`` hands each change to the asyncio
loop that owns the ``QueueClient`` and sends it as a ``device_status`` message. The
latest change per component wins: if the server is unreachable, the reporter keeps
only the newest state and sends it once the connection is back, never a backlog.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from .status import PrinterStatus

log = logging.getLogger("walkin.devices")


class Requester(Protocol):
    async def request(self, type_: str, **fields: Any) -> dict[str, Any]: ...


def describe(status: PrinterStatus) -> str:
    """A short line for a manager: what the printer said, in words."""
    state = status.state.value.replace("_", " ")
    if status.reachable is False:
        # The detail field holds 500 characters; an OS error's text is far shorter.
        return f"The printer cannot be reached: {status.problem}"[:500]
    if not status.answered:
        return "The printer does not answer (switched off, or no status support)."
    return f"Printer {state}."


class StatusReporter:
    """Forward ``Printer`` status changes to the server (thread-safe ``__call__``)."""

    def __init__(
        self,
        client: Requester,
        loop: asyncio.AbstractEventLoop,
        component: str = "printer",
        retry_every: float = 5.0,
    ) -> None:
        self.client = client
        self.loop = loop
        self.component = component
        self.retry_every = retry_every
        self._latest: PrinterStatus | None = None
        self._sender: asyncio.Task[None] | None = None
        #: statuses the server acknowledged, oldest first (for tests and diagnostics)
        self.sent: list[str] = []

    def __call__(self, previous: PrinterStatus | None, current: PrinterStatus) -> None:
        """A ``Printer`` status listener: may be called from any thread."""
        self.loop.call_soon_threadsafe(self._note, current)

    def _note(self, status: PrinterStatus) -> None:
        self._latest = status
        if self._sender is None or self._sender.done():
            self._sender = self.loop.create_task(self._send_latest())

    async def _send_latest(self) -> None:
        while self._latest is not None:
            status, self._latest = self._latest, None
            try:
                await self.client.request(
                    "device_status",
                    component=self.component,
                    status=status.state.value,
                    detail=describe(status),
                )
                self.sent.append(status.state.value)
            except Exception as exc:  # the server is away: keep the newest, try later
                log.warning("could not report printer status (%s); will retry", exc)
                if self._latest is None:
                    self._latest = status
                await asyncio.sleep(self.retry_every)
