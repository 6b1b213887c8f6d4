"""One visitor's journey through the kiosk: what each touch does, and which screen follows.

The screens (``kiosk.screens``, ``kv/*.kv``) only show and forward touches; the rules
live here:

* **One ticket per visitor.** A :class:`Visit` gets a fresh idempotency key when it
  starts; every request that could make a ticket (``issue_ticket``, ``check_in``)
  carries it, and is resent with it after a dropped connection. While a request is
  out (:attr:`KioskController.busy`) further taps are ignored, and once the visit has
  its ticket, taps that would ask for another are ignored too. Printing uses the
  ticket id as its request id. So double taps, impatient taps and retries never make
  or print a second ticket.
* **No half-issued ticket.** Nothing is sent while the server is away: the visitor
  sees "Please ask at reception". A request whose connection drops is retried with
  its key until its timeout; only a ticket the server confirmed is shown or printed.
* **Through an outage** (``kiosk.offline``): with an offline journal and numbers
  leased in hand, a walk-in ticket is issued while the server is away from the next
  number, journaled (fsynced) before it prints, marked on paper and screen as having
  no wait estimate, and uploaded (with its help) when the server answers again. With
  no number left the kiosk says so and prints nothing. Check-in needs the server.
* **Idle reset.** After the centre's ``idle_reset_seconds`` without a touch (sooner on
  the ticket and thank-you screens) the kiosk starts again: welcome screen, default
  language and settings, typed reference forgotten, speech stopped, new key.
* **Speech** says each screen as it appears and stops on any touch.
* **A ticket on paper, or a way to get one.** When the paper ticket certainly did not
  print (nothing was written), the kiosk prints it as soon as the printer is back,
  while the visitor is still on the ticket screen, and offers "Try again". When it may
  have printed in part, "Print again" asks the server (``reprint_ticket``, audited)
  and prints the ticket marked REPRINT. Staff reprints pushed by the server
  (``print_ticket``) print behind any print under way and leave the screen alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock

from device_drivers import TicketPrint
from queue_server.client import ConnectionLost, NotConnected, RemoteError, new_idempotency_key

from . import assistance, here
from .centre import CentreView, ServiceView
from .i18n import N_, translator
from .printing import PrintOutcome, TicketPrinter
from .scanning import booking_reference, status_page_ticket
from .visit import Visit

if TYPE_CHECKING:
    from .screens import KioskRoot
    from .ui import KioskApp

log = logging.getLogger("walkin.kiosk")

#: screens a visitor can be sent back to the welcome screen from when the server goes
SERVER_SCREENS = ("welcome", "services", "online", "assistance", "checkin", "problem")
#: screens after which the visit is over: reset sooner
DONE_SCREENS = ("confirm", "online_done", "closed", "problem", "offline", "here")
#: longest a reference can be: the protocol's limit on names
MAX_REFERENCE = 32
REQUEST_TIMEOUT = 12.0
#: seconds between printer status checks while a visitor waits for the printer to be back
PRINTER_BACK_EVERY = 2.0


class KioskController:
    def __init__(
        self,
        app: KioskApp,
        root: KioskRoot,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.root = root
        self.clock = clock
        self.visit = Visit(app.options.language_default)
        self.busy = False
        self.last_touch = clock()
        self._tick_event: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: channel-shift choices the server acknowledged: (service, choice)
        self.channel_choices: list[tuple[str, str]] = []
        #: requests that could make a ticket, as sent: (type, key); for tests
        self.ticket_requests: list[tuple[str, str]] = []
        #: ``print_ticket`` pushes from staff and how each print went; for tests
        self.staff_prints: list[tuple[dict[str, Any], PrintOutcome]] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._tick_event = Clock.schedule_interval(lambda _dt: self.tick(), 0.5)
        if self.app.link is not None:
            self.app.link.on_print = self.print_pushed
        self.show("welcome", remember=False)

    def stop(self) -> None:
        if self._tick_event is not None:
            self._tick_event.cancel()
        for task in self._tasks:
            task.cancel()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ what the screens read

    @property
    def centre(self) -> CentreView | None:
        return self.app.link.centre if self.app.link else None

    @property
    def online(self) -> bool:
        return self.app.link is not None and self.app.link.online

    @property
    def working_offline(self) -> bool:
        """The server is away, and this kiosk can still issue from its leased numbers."""
        offline = self.app.offline
        return (
            offline is not None
            and self._server_missing()
            and self.centre is not None
            and offline.can_issue()
        )

    def service(self, code: str | None) -> ServiceView | None:
        centre = self.centre
        return centre.service(code) if centre and code else None

    def service_name(self, service: ServiceView, language: str | None = None) -> str:
        """The centre's name for it in the visitor's language; else the kiosk catalogue's
        translation of the English name; else English."""
        language = language or self.app.language
        return service.name_in(language) or self.app.t(service.name)

    @property
    def idle_seconds(self) -> float:
        if self.app.options.idle_reset_seconds is not None:
            return self.app.options.idle_reset_seconds
        centre = self.centre
        return centre.settings.idle_reset_seconds if centre else 60.0

    # ------------------------------------------------------------ screens

    def show(self, name: str, *, remember: bool = True) -> None:
        current = self.root.current
        if remember and current != name and current not in ("working",):
            self.visit.trail.append(current)
        self.root.show(name, self)
        self.say_screen()

    def say_screen(self) -> None:
        if self.app.speech_on:
            self.app.speaker.say(self.root.current_screen.speech(self), self.app.language)

    def touched(self) -> None:
        """Any touch: the visitor is acting, so stop speaking and restart the idle clock."""
        self.last_touch = self.clock()
        self.app.speaker.stop()

    def back(self) -> None:
        if self.busy:
            return
        trail = self.visit.trail
        while trail and trail[-1] in ("working", "offline"):
            trail.pop()
        if not trail or self.root.current in DONE_SCREENS and self.root.current != "problem":
            self.reset()
            return
        self.root.show(trail.pop(), self)
        self.say_screen()

    def reset(self) -> None:
        """Start again for the next visitor: forget everything about this one."""
        self.app.speaker.stop()
        self.visit = Visit(self.app.options.language_default)
        self.busy = False
        self.app.language = self.app.options.language_default
        self.app.large_text = False
        self.app.high_contrast = False
        self.app.speech_on = self.app.options.speech
        self.last_touch = self.clock()
        self.show("offline" if self._stranded() else "welcome", remember=False)

    def tick(self) -> None:
        """Twice a second: the idle timeout, and the printer's phrases when it is back."""
        printer = self.app.printer
        if printer is not None and self.centre is not None and printer.claim_phrases():
            self._spawn(printer.prepare_phrases(self.phrase_tickets()))
        if self.root.current == "welcome" or self.busy:
            return
        limit = self.idle_seconds
        if self.root.current in DONE_SCREENS:
            limit = min(limit, 30.0)
        if self.clock() - self.last_touch >= limit:
            log.info("idle for %.0f s on %s: starting again", limit, self.root.current)
            self.reset()

    def _server_missing(self) -> bool:
        link = self.app.link
        return link is not None and link.state in ("offline", "refused") and not link.online

    def _stranded(self) -> bool:
        """The server is away and no ticket can be given here without it."""
        return self._server_missing() and not self.working_offline

    def link_changed(self) -> None:
        """The server link changed state or the centre changed."""
        current = self.root.current
        if self.app.offline is not None:
            self.app.offline.poke()
        if self._server_missing() and self.working_offline and not self.busy:
            if current in ("checkin", "problem") or assistance.needs_server(self):
                self.show("offline", remember=False)
            else:
                self.root.current_screen.refresh(self)
        elif self._server_missing() and current in SERVER_SCREENS and not self.busy:
            self.show("offline", remember=False)
        elif self.online and current == "offline":
            self.reset()
        else:
            self.root.current_screen.refresh(self)

    # ------------------------------------------------------------ settings

    def toggle(self, setting: str) -> None:
        if setting == "large_text":
            self.app.large_text = not self.app.large_text
        elif setting == "high_contrast":
            self.app.high_contrast = not self.app.high_contrast
        elif setting == "speech":
            self.app.speech_on = not self.app.speech_on
        if self.app.speech_on:
            self.say_screen()

    # ------------------------------------------------------------ the journey

    def choose_language(self, code: str) -> None:
        if self.busy:
            return
        self.app.language = code
        self.visit.language = code
        centre = self.centre
        if self._stranded() or centre is None:
            self.show("offline")
        elif not centre.open:
            self.visit.next_opening = centre.next_opening
            self.show("closed")
        else:
            self.show("services")

    def choose_service(self, code: str) -> None:
        if self.busy or self.visit.ticket is not None:
            return  # a second tap while the first is under way, or after the ticket
        service = self.service(code)
        if service is None:
            return
        self.visit.service = code
        centre = self.centre
        if centre and centre.settings.channel_shift and service.online_url:
            self.show("online")
        else:
            assistance.ask_or_issue(self)

    def choose_online(self) -> None:
        if self.busy or self.visit.service is None:
            return
        self._spawn(self._record_channel(self.visit.service, "online"))
        self.show("online_done")

    def take_ticket(self, late_reference: str | None = None) -> None:
        """Issue a ticket for the visit's service (from the services or online screen)."""
        if self.busy or self.visit.ticket is not None or self.visit.service is None:
            return
        trail = self.visit.trail
        offered = trail[-1:] if self.root.current == "assistance" else [self.root.current]
        if offered == ["online"]:  # the website offered, and a ticket taken anyway
            self._spawn(self._record_channel(self.visit.service, "ticket"))
        fields: dict[str, Any] = {"service": self.visit.service}
        if late_reference:
            fields["late_appointment_ref"] = late_reference
        assistance.add_help(self, fields)
        if self._server_missing() and self.app.offline is not None and not late_reference:
            self._issue_offline(self.visit.service)
            return
        self._send("issue_ticket", fields)

    def _issue_offline(self, service: str) -> None:
        """A ticket from the numbers in hand, journaled before it prints; or, with none
        left, the offline screen saying so (nothing printed)."""
        visit = self.visit
        offline = self.app.offline
        assert offline is not None
        if any(key == visit.key for _kind, key in self.ticket_requests):
            # this visit's key went to the server, which may have made a ticket with it
            # before it went away: that one goes unclaimed, this one needs its own key
            visit.key = new_idempotency_key()
        self.ticket_requests.append(("offline", visit.key))
        help_asked = tuple(assistance.chosen_for_request(self))
        issued = offline.issue(service, visit.language, visit.key, help_asked)
        if issued is None:
            visit.no_numbers = True
            self.show("offline", remember=False)
            return
        log.info("ticket %s issued offline", issued.number)
        visit.ticket = {
            "ticket": {
                # no id until the server has it: the print request id is the key
                "id": f"offline-{issued.key}",
                "number": issued.number,
                "service": issued.service,
                "issued_at": issued.arrival_at.isoformat(),
                "status_url": self._server_home() + "board",
                "language": issued.language,
            },
            "offline": True,
        }
        self.show("confirm")
        self._spawn(self._print(visit))

    def take_late_ticket(self) -> None:
        problem = self.visit.problem
        if problem is None or problem[0] != "check_in_too_late":
            return
        service = problem[1].get("service")
        if not isinstance(service, str):
            return
        self.visit.service = service
        assistance.ask_or_issue(self, late_reference=self.visit.reference)

    def open_checkin(self) -> None:
        if not self.busy:
            self.show("checkin")

    def type_key(self, key: str) -> None:
        if self.busy:
            return
        if key == "delete":
            self.visit.typed = self.visit.typed[:-1]
        elif key == "clear":
            self.visit.typed = ""
        elif len(self.visit.typed) < MAX_REFERENCE:
            self.visit.typed += key
        self.root.current_screen.refresh(self)

    def submit_reference(self) -> None:
        reference = self.visit.typed.strip().upper()
        if reference:
            self.check_in(reference)

    def scanned(self, code: str) -> None:
        """A booking letter's code from a scanner, on any screen before the ticket; or
        a phone's status page, to say "I'm here" (``kiosk.here``)."""
        ticket_id = status_page_ticket(code)
        reference = None if ticket_id else booking_reference(code)
        if (ticket_id or reference) is None or self.busy or self.visit.ticket is not None:
            return
        if self.root.current not in ("welcome", "services", "checkin", "problem", "here"):
            return
        self.touched()
        if ticket_id is not None:
            self.confirm_here(ticket_id)
            return
        assert reference is not None
        self.visit.typed = reference
        self.check_in(reference)

    def confirm_here(self, ticket_id: str) -> None:
        """A visitor who joined from a phone is here: tell the server (``kiosk.here``)."""
        if self.root.current == "here":
            self.reset()  # the next visitor's scan
        if self._server_missing() or not self.online:
            self.show("offline", remember=False)
            return
        chosen = self.root.current != "welcome"
        self.busy = True
        self.show("working")
        self._spawn(here.confirm_here(self, self.visit, ticket_id, language_chosen=chosen))

    def check_in(self, reference: str) -> None:
        if self.busy or self.visit.ticket is not None:
            return
        self.visit.reference = reference
        assistance.ask_or_check_in(self)

    def send_check_in(self) -> None:
        """Check in the visit's booking, with the help asked for (``kiosk.assistance``)."""
        self._send("check_in", assistance.add_help(self, {"ref": self.visit.reference}))

    # ------------------------------------------------------------ requests

    def _send(self, kind: str, fields: dict[str, Any]) -> None:
        if self._server_missing() or not self.online:
            self.show("offline", remember=False)
            return
        self.busy = True
        self.show("working")
        self._spawn(self._request_ticket(kind, fields))

    async def _request_ticket(self, kind: str, fields: dict[str, Any]) -> None:
        assert self.app.link is not None
        visit = self.visit
        self.ticket_requests.append((kind, visit.key))
        try:
            reply = await self.app.link.request(
                kind,
                idempotency_key=visit.key,
                language=visit.language,
                timeout=REQUEST_TIMEOUT,
                **fields,
            )
        except RemoteError as exc:
            self.busy = False
            if visit is self.visit:
                self._refused(exc)
            return
        except (ConnectionLost, NotConnected) as exc:
            log.warning("%s not confirmed: %s", kind, exc)
            self.busy = False
            if visit is self.visit:
                self.show("offline", remember=False)
            return
        except Exception:
            log.exception("%s failed", kind)
            self.busy = False
            if visit is self.visit:
                visit.problem = ("error", {})
                self.show("problem")
            return
        visit.ticket = reply
        visit.service = reply["ticket"]["service"]
        self.busy = False
        self.show("confirm")
        await self._print(visit)

    def _refused(self, error: RemoteError) -> None:
        if error.code == "centre_closed":
            self.visit.next_opening = _when(error.details.get("next_opening"))
            self.show("closed")
            return
        self.visit.problem = (error.code, dict(error.details))
        self.show("problem")

    async def _print(self, visit: Visit, *, reprint: bool = False) -> None:
        """Print the visit's ticket (``reprint``: marked REPRINT), show the outcome, and
        after a failure that wrote nothing, print it once the printer is back."""
        printer = self.app.printer
        reply = visit.ticket
        assert reply is not None
        if visit.printed is not None:
            visit.printed = None  # printing again: the screen says so
            if visit is self.visit and self.root.current == "confirm":
                self.root.current_screen.refresh(self)
        if printer is None:
            visit.printed = PrintOutcome(False, "no_printer")
        else:
            job = printer.reprint_ticket if reprint else printer.print_ticket
            visit.printed = await job(self.ticket_print(reply), request_id=reply["ticket"]["id"])
        if visit is not self.visit:
            return
        if self.root.current == "confirm":
            self.root.current_screen.refresh(self)
            if not visit.printed.printed:
                self.say_screen()  # the next step has changed: no paper ticket
        outcome = visit.printed
        if printer is not None and not outcome.printed and not outcome.maybe_printed:
            self._spawn(self._print_when_back(visit, printer, reprint=reprint))

    async def _print_when_back(
        self, visit: Visit, printer: TicketPrinter, *, reprint: bool
    ) -> None:
        """Nothing came out: print as soon as the printer is ready, while the visitor
        is still here (their visit, on the ticket screen)."""
        waiting = asyncio.ensure_future(printer.wait_until_ready(PRINTER_BACK_EVERY))
        try:
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=0.5)
                if visit is not self.visit or self.root.current != "confirm":
                    return
                if visit.printed is None or visit.printed.printed:
                    return  # "Try again" got there first
        finally:
            waiting.cancel()
        if waiting.exception() is None:
            log.info("the printer is back: printing the ticket again")
            await self._print(visit, reprint=reprint)

    def retry_print(self) -> None:
        """ "Try again": the last attempt certainly wrote nothing, so print it as it was."""
        visit = self.visit
        outcome = visit.printed
        if visit.ticket is None or outcome is None or outcome.printed or outcome.maybe_printed:
            return  # printing now, printed, or only a reprint is safe
        self._spawn(self._print(visit, reprint=outcome.reprint))

    def print_again(self) -> None:
        """ "Print again": the paper may be partly printed, so ask the server for a
        reprint (audited) and print the ticket marked REPRINT."""
        visit = self.visit
        outcome = visit.printed
        if visit.ticket is None or outcome is None or outcome.printed or not outcome.maybe_printed:
            return
        visit.printed = None  # printing: a second tap finds nothing to do
        self.root.current_screen.refresh(self)
        self._spawn(self._reprint(visit, outcome))

    async def _reprint(self, visit: Visit, failed: PrintOutcome) -> None:
        assert visit.ticket is not None and self.app.link is not None
        try:
            reply = await self.app.link.request(
                "reprint_ticket",
                ticket=visit.ticket["ticket"]["id"],
                reason="print_failed",
                timeout=REQUEST_TIMEOUT,
            )
        except (RemoteError, ConnectionLost, NotConnected) as exc:
            log.warning("reprint of %s not granted: %s", visit.ticket["ticket"]["number"], exc)
            visit.printed = failed  # as before: the number on screen, "Print again"
            if visit is self.visit and self.root.current == "confirm":
                self.root.current_screen.refresh(self)
            return
        # the server's view of the ticket now (with its status page), this visit's estimate
        visit.ticket = {**visit.ticket, "ticket": {**visit.ticket["ticket"], **reply["ticket"]}}
        await self._print(visit, reprint=True)

    def print_pushed(self, push: dict[str, Any]) -> None:
        """A ``print_ticket`` push: staff want a ticket printed here. It queues behind
        any print under way and does not touch the screen or the visit."""
        printer = self.app.printer
        ticket = push.get("ticket")
        if printer is None or not isinstance(ticket, dict) or "id" not in ticket:
            log.warning("print_ticket push ignored (no printer, or no ticket in it)")
            return
        try:
            paper = self.ticket_print({"ticket": ticket}, language=ticket.get("language"))
        except (KeyError, TypeError, ValueError) as exc:
            # the number, never the id: a ticket's id is the key to its status page
            log.warning("print_ticket push for %s not printable: %s", ticket.get("number"), exc)
            return
        job = printer.reprint_ticket if push.get("reprint", True) else printer.print_ticket
        self._spawn(self._print_for_staff(job(paper, request_id=ticket["id"]), push))

    async def _print_for_staff(
        self, job: Coroutine[Any, Any, PrintOutcome], push: dict[str, Any]
    ) -> None:
        outcome = await job
        self.staff_prints.append((push, outcome))
        number = push["ticket"].get("number")
        if outcome.printed:
            log.info("ticket %s reprinted for %s", number, push.get("requested_by", "staff"))
        else:
            log.warning("ticket %s not reprinted for staff: %s", number, outcome.message)

    def ticket_print(self, reply: dict[str, Any], language: str | None = None) -> TicketPrint:
        """The paper ticket for a server reply, in ``language`` (default: the visitor's)."""
        ticket = reply["ticket"]
        estimate = reply.get("estimate") or {}
        centre = self.centre
        service = self.service(ticket["service"])
        show_wait = centre.settings.show_wait_estimate if centre else True
        issued = datetime.fromisoformat(ticket["issued_at"])
        language = language or self.app.language
        return TicketPrint(
            centre_name=centre.name if centre else "",
            ticket_number=ticket["number"],
            service_name=self.service_name(service, language)
            if service
            else ticket["service_name"],
            issued_at=centre.local(issued) if centre else issued,
            status_url=ticket.get("status_url") or self._server_home(),
            people_ahead=estimate.get("people_ahead") if show_wait else None,
            estimated_wait_minutes=estimate.get("minutes") if show_wait else None,
            estimated_wait_range=_wait_range(estimate) if show_wait else None,
            estimate_unavailable=bool(reply.get("offline")),
            online_url=service.online_url if service else None,
            language=language,
            footer=translator(language)(N_("Please keep this ticket")),
            appointment_at=self._centre_time(ticket.get("appointment_at")),
        )

    def phrase_tickets(self) -> list[TicketPrint]:
        """A ticket in each language the centre offers with what every ticket in it
        says (centre, labels, footer) and no service, for ``prepare_phrases``: the same
        wording as :meth:`ticket_print`, so the same pictures and keys."""
        centre = self.centre
        if centre is None:
            return []
        return [
            TicketPrint(
                centre_name=centre.name,
                ticket_number="-",
                service_name="",
                issued_at=datetime.now(UTC),
                status_url=self._server_home(),
                language=language,
                footer=translator(language)(N_("Please keep this ticket")),
            )
            for language in centre.languages
        ]

    def _centre_time(self, moment: str | None) -> datetime | None:
        """An ISO time from the server in the centre's zone (as the kiosk shows times)."""
        if not moment:
            return None
        parsed = datetime.fromisoformat(moment)
        return self.centre.local(parsed) if self.centre else parsed

    def _server_home(self) -> str:
        url = self.app.options.server
        scheme, rest = url.split("://", 1)
        return f"{'https' if scheme == 'wss' else 'http'}://{rest.split('/', 1)[0]}/"

    async def _record_channel(self, service: str, choice: str) -> None:
        """Tell the server whether a visitor offered the website chose it (channel shift)."""
        if self.app.link is None:
            return
        try:
            await self.app.link.request(
                "channel_choice",
                service=service,
                choice=choice,
                language=self.app.language,
                timeout=5.0,
            )
        except RemoteError as exc:
            log.warning("channel choice not recorded: %s", exc)
            return
        except (ConnectionLost, NotConnected) as exc:
            log.warning("channel choice not recorded (server away): %s", exc)
            return
        self.channel_choices.append((service, choice))


def _when(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _wait_range(estimate: dict[str, Any]) -> tuple[int, int] | None:
    """The range the server gives with an uncertain estimate, or None."""
    low, high = estimate.get("minutes_low"), estimate.get("minutes_high")
    if isinstance(low, int) and isinstance(high, int):
        return low, high
    return None
