"""Issuing through an outage, the kiosk's side (issue 13 item 4; docs/kiosk.md,
"Through an outage").

:class:`OfflineSync` runs beside the :class:`~kiosk.link.ServerLink` for as long as
the kiosk runs. Every ``every`` seconds (and at once when poked):

* it notes in the journal when the link went down and when it came back;
* while online, it **uploads** the journal's pending tickets (``upload_offline``, 50 a
  message, with the outage they were issued in), marks each as the server answered,
  and tries again on the next round until every one is answered: the tickets'
  idempotency keys make a repeat harmless;
* then it **keeps a block ahead**: for each service the centre offers, when fewer than
  ``low_water`` numbers for today are in hand, it leases ``block_size`` more
  (``lease_numbers``) and writes the block to the journal.

Issuing itself (``issue``) is the controller's, when the link is not online: the next
number in hand, journaled (fsynced) before the ticket is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from queue_server.client import (
    ConnectionLost,
    NotConnected,
    RemoteError,
    new_idempotency_key,
    stop_task,
)

from .journal import JournalTicket, OfflineJournal
from .link import ServerLink

log = logging.getLogger("walkin.kiosk")

#: tickets per ``upload_offline`` (the protocol's ``MAX_UPLOAD``)
UPLOAD_CHUNK = 50
#: an outage shorter than this is a reconnect, not worth a line on the board
SHORTEST_OUTAGE = timedelta(seconds=10)


def utc_now() -> datetime:
    return datetime.now(UTC)


class OfflineSync:
    def __init__(
        self,
        link: ServerLink,
        journal: OfflineJournal,
        *,
        block_size: int = 20,
        low_water: int = 10,
        every: float = 1.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.link = link
        self.journal = journal
        self.block_size = block_size
        self.low_water = low_water
        self.every = every
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._was_online: bool | None = None
        #: uploads the server answered, and tickets they accepted; for tests and logs
        self.uploads = 0
        self.accepted = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        await stop_task(self._task)  # cancelled until it ends (see stop_task)
        self._task = None

    def poke(self) -> None:
        """Do a round now (the link changed)."""
        self._wake.set()

    # ------------------------------------------------------------ issuing

    def today(self) -> date:
        centre = self.link.centre
        now = self.clock()
        return centre.local(now).date() if centre is not None else now.date()

    def can_issue(self, service: str | None = None) -> bool:
        """Whether a number is in hand for ``service`` (any service if None) today."""
        day = self.today()
        if service is None:
            return bool(self.journal.services_in_hand(day))
        return self.journal.unused(service, day) > 0

    def issue(
        self, service: str, language: str, key: str, assistance: tuple[str, ...] = ()
    ) -> JournalTicket | None:
        """A ticket issued offline with the help asked for (``assistance``, uploaded
        with it), journaled durably; None with no number left."""
        now = self.clock()
        self.journal.went_offline(now)  # the link is down: the outage has begun (once)
        return self.journal.take(service, language, now, self.today(), key, assistance)

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad round must not end the uploads
                log.exception("offline sync round failed; trying again")
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a close's
            # cancellation that comes as a poke wakes it, and this loop ran on for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.every):
                    await self._wake.wait()

    async def round(self) -> None:
        """Note the link's state; online, upload what is pending and top up blocks."""
        online = self.link.online
        now = self.clock()
        if not online and self._was_online:
            self.journal.went_offline(now)
        if online and self.journal.open_outage() is not None:
            self.journal.came_back(now)
        self._was_online = online
        if not online:
            return
        self.journal.forget_before(self.today())
        try:
            await self.upload()
            await self.top_up()
        except (ConnectionLost, NotConnected) as exc:
            log.info("offline sync interrupted (%s); next round", exc)
        except RemoteError as exc:
            log.warning("offline sync refused: %s (%s)", exc.message, exc.code)

    async def upload(self) -> None:
        """Every pending ticket (and any outage not yet told), until each is answered."""
        while True:
            pending = self.journal.pending()[:UPLOAD_CHUNK]
            outage = self.journal.unreported_outage()
            if outage is not None and outage.back_at is not None and not pending:
                if outage.back_at - outage.since < SHORTEST_OUTAGE:
                    self.journal.outage_reported(outage.id)  # a blip: nothing to say
                    continue
            if not pending and outage is None:
                return
            fields: dict[str, object] = {"tickets": [t.upload_entry() for t in pending]}
            if outage is not None and outage.back_at is not None:
                fields["offline_since"] = outage.since.isoformat()
                fields["back_at"] = outage.back_at.isoformat()
            reply = await self.link.request("upload_offline", timeout=15.0, **fields)
            self.journal.mark(reply.get("tickets") or [], self.clock())
            if outage is not None:
                self.journal.outage_reported(outage.id)
            self.uploads += 1
            self.accepted += int(reply.get("accepted") or 0)
            for answer in reply.get("tickets") or []:
                if answer.get("status") == "refused" or answer.get("assistance_dropped"):
                    # refused, or taken without help the centre no longer offers: the
                    # journal keeps the server's message too
                    log.warning(
                        "offline ticket %s %s by the server: %s",
                        answer.get("number"),
                        answer.get("status"),
                        answer.get("message"),
                    )
            if len(pending) < UPLOAD_CHUNK:
                return

    async def top_up(self) -> None:
        """A block ahead for each service the centre offers."""
        centre = self.link.centre
        if centre is None:
            return
        day = self.today()
        for service in centre.services:
            if self.journal.unused(service.code, day) >= self.low_water:
                continue
            key = new_idempotency_key()
            reply = await self.link.request(
                "lease_numbers",
                service=service.code,
                day=day.isoformat(),
                size=self.block_size,
                idempotency_key=key,
                timeout=10.0,
            )
            block = reply["block"]
            self.journal.add_block(
                key,
                service.code,
                block["numbers"][0],
                date.fromisoformat(block["day"]),
                int(block["first"]),
                int(block["last"]),
            )
