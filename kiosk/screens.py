"""The screens' behaviour; their layouts are the rules in ``kv/*.kv``.

Each screen sets its wording in :meth:`KioskScreen.refresh` (from the controller's
visit and centre, in the visitor's language) and says what :meth:`speech` returns
when it appears: its title, what it says, and what the visitor can do next. Touches
go to the controller (``app.controller``); no screen talks to the server.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from speech.phrases import spoken_number

from .i18n import N_, Translator, language, shipped_languages
from .widgets import BigButton, MirrorBox

if TYPE_CHECKING:
    from .controller import KioskController

#: the keypad for booking references: digits, then letters in keyboard order
KEY_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM")
EXAMPLE_REFERENCE = "BK-7Q2M4"


def _t() -> Translator:
    return App.get_running_app().t  # type: ignore[no-any-return]


def _controller() -> KioskController:
    return App.get_running_app().controller  # type: ignore[no-any-return]


class KioskRoot(ScreenManager):
    """The kiosk's screens. Each is built the first time it is shown (``get_screen``),
    not all at start: a visitor meets four or five of the twelve, building one is a few
    hundred widgets (the keypad alone is forty buttons), and an unbuilt screen has no
    wording to redo when the language or text size changes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(transition=NoTransition(), **kwargs)
        from . import assistance  # its screen builds on KioskScreen, below

        self._unbuilt: dict[str, type[KioskScreen]] = {
            "welcome": WelcomeScreen,
            "services": ServicesScreen,
            "online": OnlineScreen,
            "online_done": OnlineDoneScreen,
            "assistance": assistance.AssistanceScreen,
            "checkin": CheckinScreen,
            "problem": ProblemScreen,
            "working": WorkingScreen,
            "confirm": ConfirmScreen,
            "here": HereScreen,
            "closed": ClosedScreen,
            "offline": OfflineScreen,
        }
        self.get_screen("welcome")  # the first screen added is the current one

    def get_screen(self, name: str) -> Any:
        """The screen ``name``, built now if it was not yet (Kivy's ``current`` asks
        here too)."""
        build = self._unbuilt.pop(name, None)
        if build is not None:
            self.add_widget(build(name=name))
        return super().get_screen(name)

    def show(self, name: str, controller: KioskController) -> None:
        self.get_screen(name).refresh(controller)
        self.current = name

    def on_touch_down(self, touch: Any) -> bool:
        app = App.get_running_app()
        if app is not None and app.controller is not None:
            app.controller.touched()
        return bool(super().on_touch_down(touch))


class KioskScreen(Screen):
    title = StringProperty("")
    message = StringProperty("")
    hint = StringProperty("")
    show_back = BooleanProperty(True)

    def refresh(self, controller: KioskController) -> None:
        """Set this screen's wording from the controller's visit and centre."""

    def speech(self, controller: KioskController) -> str:
        return " ".join(part for part in (self.title, self.message, self.hint) if part)


class WelcomeScreen(KioskScreen):
    closed_notice = StringProperty("")
    #: [(code, own name, "touch here" in that language)]
    languages = ListProperty([])

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        centre = controller.centre
        codes = list(centre.languages) if centre else shipped_languages()
        touch_here = N_("Touch here to start")
        self.languages = [
            (code, language(code).own_name, Translator(code)(touch_here)) for code in codes
        ]
        self.title = t("Welcome")
        self.message = t("Choose your language.")
        self.closed_notice = ""
        if centre is not None and not centre.open:
            self.closed_notice = _closed_sentence(t, centre.next_opening, centre)
        self.hint = " ".join(
            (
                t("Have an appointment letter? You can scan its code at any time."),
                # "I'm here": the QR code of a ticket joined from a phone (kiosk.here)
                t("Joined the queue on your phone? Scan the code on your ticket's page."),
            )
        )
        self.show_back = False

    def on_languages(self, _screen: Any, languages: list[tuple[str, str, str]]) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        for code, name, touch in languages:
            grid.add_widget(
                BigButton(
                    text=name,
                    subtext=touch,
                    value=code,
                    lang=code,
                    icon="language",
                    size_hint_y=1,
                    on_release=lambda button: _controller().choose_language(button.value),
                )
            )

    def speech(self, controller: KioskController) -> str:
        return " ".join(p for p in (self.title, self.closed_notice, self.message) if p)


class ServicesScreen(KioskScreen):
    #: [(code, name, icon, waiting line)]
    services = ListProperty([])
    appointment = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        centre = controller.centre
        self.title = t("What do you need help with?")
        self.message = t("Touch a service to take a ticket.")
        offline = controller.working_offline
        if offline:
            # the queue's length is as last seen: not shown, and the visitor told why
            self.message = t(
                "This kiosk is working offline: you can still take a ticket, "
                "but we cannot tell you how long the wait is."
            )
        self.appointment = t("I have an appointment")
        self.services = [
            (
                s.code,
                controller.service_name(s),
                s.icon,
                "" if offline else t("People waiting: {n}", n=s.waiting),
            )
            for s in (centre.services if centre else ())
        ]

    def on_services(self, _screen: Any, services: list[tuple[str, str, str, str]]) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        for code, name, icon, waiting in services:
            button = BigButton(
                text=name,
                subtext=waiting,
                icon=icon,
                value=code,
                on_release=lambda button: _controller().choose_service(button.value),
            )
            # once its words are laid out anew (a smaller scale), see if all fit now
            button.ids.labels.bind(height=lambda *_: self._check_fit())
            grid.add_widget(button)
        self._fit_rows()

    #: the smallest the services' words are drawn at so that every service shows
    #: without scrolling (at normal text size; large text keeps its size and scrolls)
    MIN_FIT_SCALE = 0.7
    #: the scale the services' words are drawn at now (``_fit_rows``)
    fit_scale = 1.0

    def on_kv_post(self, _base: Any) -> None:
        self._check_fit = Clock.create_trigger(self._shrink_to_fit, 0)
        self.ids.scroll.bind(height=self._fit_rows)
        self.ids.grid.bind(cols=self._fit_rows)
        app = App.get_running_app()
        if app is not None:
            app.bind(large_text=self._fit_rows, fs=self._fit_rows)

    def _fit_rows(self, *_args: Any) -> None:
        """Spread the rows over the space, all at one height; and, where their words
        at full size would make the rows taller than the space (eight services in
        four columns on a landscape screen), draw every service's words a little
        smaller, the same for all, so that every service shows without scrolling
        (``_shrink_to_fit``, once the words are laid out). With large text chosen the
        words keep their size and the rows scroll."""
        self.fit_scale = 1.0
        self._lay_out()
        self._check_fit()

    def _share(self) -> float:
        grid, scroll = self.ids.grid, self.ids.scroll
        rows = max(1, -(-len(grid.children) // max(1, grid.cols or 1)))
        return max(0.0, (scroll.height - grid.spacing[1] * (rows - 1)) / rows)

    def _lay_out(self) -> None:
        share = self._share()
        for button in self.ids.grid.children:
            button.font_scale = self.fit_scale
            button.fill_height = share

    def _shrink_to_fit(self, *_args: Any) -> None:
        """Where a button's words need more than its share, the largest scale (in
        steps of 0.05, down to ``MIN_FIT_SCALE``) at which none does, found in one go:
        each step's words laid out at once (the labels' textures and the buttons'
        layouts done now, not a frame later), so the visitor never sees a step."""
        app = App.get_running_app()
        buttons = list(self.ids.grid.children)
        if not buttons or app is None or app.large_text:
            return
        share = self._share()
        if self._need(app, buttons) <= share + 0.5:
            return
        scale = self.fit_scale
        while scale > self.MIN_FIT_SCALE:
            scale = max(self.MIN_FIT_SCALE, round(scale - 0.05, 2))
            for button in buttons:
                button.font_scale = scale
            if self._need(app, buttons) <= share + 0.5:
                break
        self.fit_scale = scale
        self._lay_out()

    @staticmethod
    def _need(app: Any, buttons: list[Any]) -> float:
        """The height the tallest button's words make it (its kv rule), were it not
        given a share, with its words laid out now."""
        for button in buttons:
            for child in button.children:
                if hasattr(child, "texture_update"):
                    child.texture_update()  # the icon, at its new size
            button.do_layout()  # the words' column as wide as the icon leaves
            labels, main, sub = button.ids.labels, button.ids.main_label, button.ids.sub_label
            labels.do_layout()  # each label that wide
            main.texture_update()
            button._fit_words()  # noqa: SLF001 - the words whole at the new width
            main.texture_update()
            sub.texture_update()
            labels.do_layout()
        return max(max(app.min_touch, b.ids.labels.height + app.pad * 1.4) for b in buttons)

    def speech(self, controller: KioskController) -> str:
        names = ", ".join(name for _code, name, _icon, _waiting in self.services)
        return f"{self.title} {self.message} {names}. {self.appointment}."


class OnlineScreen(KioskScreen):
    url = StringProperty("")
    online_button = StringProperty("")
    ticket_button = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        service = controller.service(controller.visit.service)
        self.url = service.online_url or "" if service else ""
        name = controller.service_name(service) if service else ""
        self.title = t("You can do this online")
        self.message = t(
            "{service} can be done online, at any time, with no waiting.", service=name
        )
        self.hint = t("Scan the code with your phone's camera to open the website.")
        self.online_button = t("I will do it online")
        self.ticket_button = t("Take a ticket anyway")

    def speech(self, controller: KioskController) -> str:
        return (
            f"{self.title}. {self.message} {self.hint} {self.online_button}. {self.ticket_button}."
        )


class OnlineDoneScreen(KioskScreen):
    url = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        service = controller.service(controller.visit.service)
        self.url = service.online_url or "" if service else ""
        self.title = t("Thank you")
        self.message = t("Scan the code with your phone to go online. You do not need a ticket.")
        self.hint = t("Touch Done when you have finished.")


class CheckinScreen(KioskScreen):
    typed = StringProperty("")
    placeholder = StringProperty("")
    scan_hint = StringProperty("")
    enter_text = StringProperty("")
    delete_text = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        self.title = t("Check in for your appointment")
        self.message = t(
            "Type the booking reference from your letter, for example {example}.",
            example=EXAMPLE_REFERENCE,
        )
        self.scan_hint = t("Or scan the code on your letter.")
        self.typed = controller.visit.typed
        self.placeholder = t("Booking reference")
        self.enter_text = t("Check in")
        self.delete_text = t("Delete")

    def on_kv_post(self, _base: Any) -> None:
        pad = self.ids.keypad
        for row in KEY_ROWS:
            # references are Latin letters and digits: always left to right
            line = BoxLayout(spacing=8, size_hint_y=1)
            for key in row:
                line.add_widget(
                    BigButton(
                        text=key,
                        value=key,
                        kind="secondary",
                        size_hint_y=1,
                        on_release=lambda button: _controller().type_key(button.value),
                    )
                )
            pad.add_widget(line)

    def speech(self, controller: KioskController) -> str:
        return f"{self.title}. {self.message} {self.scan_hint}"


class ProblemScreen(KioskScreen):
    #: the main button: "late_ticket" (take a ticket after a late arrival), "retry", ""
    action = StringProperty("")
    action_text = StringProperty("")
    other_text = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        code, details = controller.visit.problem or ("error", {})
        reference = controller.visit.reference or ""
        centre = controller.centre
        self.action, self.action_text = "", ""
        self.other_text = t("Take a ticket instead")
        self.hint = ""
        if code == "check_in_too_late":
            service = controller.service(details.get("service"))
            name = controller.service_name(service) if service else ""
            booked = _when(details.get("appointment_at"))
            self.title = t("You have missed your appointment time")
            self.message = t(
                "You can still be seen today: take a ticket for {service} and wait to be called.",
                service=name,
            )
            if booked is not None:
                local = centre.local(booked) if centre else booked
                self.message = (
                    t(
                        "Your appointment was at {time}, and check-in for it has closed.",
                        time=t.date_and_time(local)[1],
                    )
                    + " "
                    + self.message
                )
            self.action, self.action_text = "late_ticket", t("Take a ticket")
            self.other_text = ""
        elif code == "check_in_too_early":
            opens = _when(details.get("opens_at"))
            local = centre.local(opens) if centre and opens else opens
            self.title = t("It is too early to check in")
            self.message = (
                t("Please come back and check in from {time}.", time=t.date_and_time(local)[1])
                if local
                else t("Please come back closer to your appointment time.")
            )
            self.other_text = ""
        elif code == "check_in_wrong_day":
            when = _when(details.get("appointment_at"))
            local = centre.local(when) if centre and when else when
            day, clock = t.date_and_time(local) if local else ("", "")
            self.title = t("Your appointment is not today")
            self.message = t("Your appointment is on {date} at {time}.", date=day, time=clock)
        elif code == "already_checked_in":
            self.title = t("This booking has already been used today")
            self.message = t("Please ask at reception.")
        elif code.startswith("here_"):
            self._here_refused(t, code, details)
        elif code in ("not_found", "invalid_request"):
            self.title = t("We could not find that booking")
            self.message = t(
                "Please check the letters and numbers of {reference} and try again.",
                reference=reference or "-",
            )
            self.action, self.action_text = "retry", t("Try again")
        else:
            self.title = t("Sorry, something went wrong")
            self.message = t("Please ask at reception.")
            self.other_text = ""

    def _here_refused(self, t: Translator, code: str, details: dict[str, Any]) -> None:
        """ "I'm here" scanned from a phone, refused (``kiosk.here``)."""
        if code == "here_not_remote":
            self.title = t("You are already in the queue")
            self.message = t(
                "This ticket was taken here, so there is no need to scan it. "
                "Please wait for your number to be called."
            )
            self.other_text = ""
        elif code == "here_ticket_ended" and details.get("state") in ("called", "serving"):
            self.title = t("Your number has been called")
            self.message = t("Please look at the screens, or ask at reception.")
            self.other_text = ""
        elif code == "here_ticket_ended":
            self.title = t("This ticket is no longer in the queue")
            self.message = t("Please take a new ticket, or ask at reception.")
        elif code == "here_other_centre":
            self.title = t("This ticket is for another centre")
            self.message = t(
                "Please go to the centre where you joined the queue, or take a ticket here."
            )
        else:
            self.title = t("We could not find this ticket")
            self.message = t(
                "Tickets are valid on the day they are issued. "
                "Please take a ticket here, or ask at reception."
            )

    def speech(self, controller: KioskController) -> str:
        choices = ". ".join(p for p in (self.action_text, self.other_text) if p)
        return f"{self.title}. {self.message} {choices}"


class WorkingScreen(KioskScreen):
    def refresh(self, controller: KioskController) -> None:
        t = _t()
        self.title = t("One moment, please")
        self.show_back = False


class ConfirmScreen(KioskScreen):
    number = StringProperty("")
    number_label = StringProperty("")
    service = StringProperty("")
    ahead = StringProperty("")
    wait = StringProperty("")
    appointment = StringProperty("")
    #: for an appointment: early (when they will be called) or late (they keep it)
    timing = StringProperty("")
    #: the help asked for, in words (``kiosk.assistance``)
    help_asked = StringProperty("")
    paper = StringProperty("")
    #: the ticket's status page, shown as a QR when the paper ticket did not print
    status_url = StringProperty("")
    printed = BooleanProperty(True)
    next_step = StringProperty("")
    #: the paper did not print: "retry_print" (nothing came out: "Try again") or
    #: "print_again" (it may be partly printed: a reprint), else ""
    paper_action = StringProperty("")
    paper_action_text = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        reply = controller.visit.ticket or {}
        ticket = reply.get("ticket") or {}
        estimate = reply.get("estimate") or {}
        centre = controller.centre
        service = controller.service(ticket.get("service"))
        show_wait = centre.settings.show_wait_estimate if centre else True
        self.number_label = t("Your number is")
        self.number = ticket.get("number", "")
        self.service = (
            controller.service_name(service) if service else ticket.get("service_name", "")
        )
        ahead, minutes = estimate.get("people_ahead"), estimate.get("minutes")
        self.ahead = (
            t("People ahead of you: {n}", n=ahead) if show_wait and ahead is not None else ""
        )
        self.wait = ""
        low, high = estimate.get("minutes_low"), estimate.get("minutes_high")
        if reply.get("offline"):
            self.wait = t("The wait estimate is not available: this kiosk is working offline.")
        elif show_wait and minutes is not None and low is not None and high is not None:
            # an uncertain wait, shown as the range it will likely fall in
            self.wait = t.plural(
                "Estimated wait: about {low}–{high} minute",
                "Estimated wait: about {low}–{high} minutes",
                high,
                low=low,
                high=high,
            )
        elif show_wait and minutes is not None:
            self.wait = (
                t("Estimated wait: less than a minute")
                if minutes < 1
                else t.plural(
                    "Estimated wait: about {n} minute", "Estimated wait: about {n} minutes", minutes
                )
            )
        self.appointment = ""
        when = _when(ticket.get("appointment_at"))
        if when is not None:
            local = centre.local(when) if centre else when
            # as its status page says it: "Appointment 14:30"
            self.appointment = t("Appointment {time}", time=t.date_and_time(local)[1])
        self.timing = _timing(t, when, _when(ticket.get("issued_at")), centre)
        from .assistance import help_asked  # it imports this module

        self.help_asked = help_asked(controller)
        outcome = controller.visit.printed
        self.printed = outcome is None or outcome.printed
        self.status_url = ticket.get("status_url") or ""
        self.paper_action = self.paper_action_text = ""
        if outcome is None:
            self.paper = t("Your ticket is printing.")
        elif outcome.printed:
            self.paper = t("Please take your ticket from the printer.")
        elif outcome.maybe_printed:
            self.paper = t(
                "The printer may not have printed all of your ticket. "
                "Please remember your number: {number}.",
                number=self.number,
            )
            self.paper_action, self.paper_action_text = "print_again", t("Print again")
        else:
            self.paper = t(
                "The printer is not working, so there is no paper ticket. "
                "Please remember your number: {number}.",
                number=self.number,
            )
            if outcome.code != "no_printer":
                self.paper_action, self.paper_action_text = "retry_print", t("Try again")
        self.hint = (
            t("Scan this code with your phone to follow your place in the queue.")
            if not self.printed and self.status_url
            else ""
        )
        self.next_step = t(
            "Please take a seat. Your number will be shown on the screen and called out."
        )
        self.title = self.number_label

    def speech(self, controller: KioskController) -> str:
        parts = [
            f"{self.number_label} {spoken_number(self.number)}.",
            f"{self.service}.",
            self.appointment,
            self.timing,
            self.help_asked + "." if self.help_asked else "",
            self.ahead + "." if self.ahead else "",
            self.wait + "." if self.wait else "",
            self.paper,
            self.next_step,
        ]
        return " ".join(p for p in parts if p)


class HereScreen(KioskScreen):
    """ "I'm here", scanned from a phone (``kiosk.here``): in the queue, and how many
    are ahead."""

    number = StringProperty("")
    number_label = StringProperty("")
    service = StringProperty("")
    ahead = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        reply = controller.visit.here or {}
        ticket = reply.get("ticket") or {}
        ahead = (reply.get("estimate") or {}).get("people_ahead")
        centre = controller.centre
        service = controller.service(ticket.get("service"))
        self.title = t("Thank you, you're in the queue")
        self.number_label = t("Your number is")
        self.number = ticket.get("number", "")
        self.service = (
            controller.service_name(service) if service else ticket.get("service_name", "")
        )
        show_wait = centre.settings.show_wait_estimate if centre else True
        self.ahead = (
            t("People ahead of you: {n}", n=ahead) if show_wait and ahead is not None else ""
        )
        self.message = t(
            "Please take a seat. Your number will be shown on the screen and called out."
        )
        self.hint = t("You had already told us you are here.") if reply.get("already") else ""
        self.show_back = False

    def speech(self, controller: KioskController) -> str:
        parts = [
            self.title + ".",
            f"{self.number_label} {spoken_number(self.number)}.",
            f"{self.service}.",
            self.ahead + "." if self.ahead else "",
            self.message,
        ]
        return " ".join(p for p in parts if p)


class ClosedScreen(KioskScreen):
    def refresh(self, controller: KioskController) -> None:
        t = _t()
        centre = controller.centre
        opening = controller.visit.next_opening or (centre.next_opening if centre else None)
        self.title = t("We are closed")
        self.message = _closed_sentence(t, opening, centre)
        self.hint = t("Sorry, we cannot give out tickets now.")


class OfflineScreen(KioskScreen):
    staff_note = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = _t()
        self.title = t("Please ask at reception")
        self.message = t("This machine cannot give out tickets at the moment.")
        if controller.visit.no_numbers:
            # offline, and the numbers leased for this service are all used
            self.message = t(
                "This machine has no ticket numbers left until it can reach the server again."
            )
        self.hint = t("It will start working again by itself.")
        link = controller.app.link
        # for staff, in English: what is wrong
        self.staff_note = link.problem if link is not None else ""


def _closed_sentence(t: Translator, opening: Any, centre: Any) -> str:
    if opening is None:
        return t("We are closed now.")
    local = centre.local(opening) if centre is not None else opening
    day, clock = t.date_and_time(local)
    return t("We open again on {date} at {time}.", date=day, time=clock)


def _timing(t: Translator, booked: Any, checked_in: Any, centre: Any) -> str:
    """What happens to an appointment ticket checked in at ``checked_in`` for a booking
    at ``booked``: early, the time it will be called; a minute or more late, that the
    visitor keeps their appointment (its standard runs from check-in, docs/protocol.md);
    on time, or not an appointment, nothing more to say."""
    if booked is None or checked_in is None:
        return ""
    minutes = int((checked_in - booked).total_seconds() // 60)
    if minutes >= 1:
        return t.plural(
            "You are {n} minute late, but you keep your appointment: "
            "we will call you as soon as we can.",
            "You are {n} minutes late, but you keep your appointment: "
            "we will call you as soon as we can.",
            minutes,
        )
    if checked_in < booked - timedelta(minutes=1):
        local = centre.local(booked) if centre else booked
        return t("You are early: we will call you at about {time}.", time=t.time(local))
    return ""


def _when(text: object) -> Any:
    from datetime import datetime

    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


__all__ = ["BigButton", "KioskRoot", "KioskScreen", "MirrorBox"]
