"""Asking for help at the kiosk (issue 14 item 5; docs/assistance.md).

After the service is chosen (and the website offered, where it is), a centre with
``[[assistance]]`` categories asks "Do you need any help?": a large toggle button for
each category, named in the visitor's language (the centre's ``names``, else the kiosk
catalogue's translation of the English name, else English), and one button that goes
on: "No help needed" while none is ticked, "Continue" once one is. Nothing is
required: the ticket is one touch away either way. The codes ticked go with the
``issue_ticket`` request (``assistance``), so routing and the counter console honour
them. A late arrival's walk-in ticket (``late_appointment_ref``) is asked the same way.

Not asked:

* when the centre has no categories (the screen is skipped);
* when the kiosk is issuing offline from leased numbers: ``upload_offline`` carries no
  assistance (its tickets are the protocol's ``OfflineTicket``), so a tick could not
  reach the queue, and the visitor must not be told it would;
* at booking check-in: ``check_in`` takes no assistance (a booking's needs belong with
  the booking).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import ListProperty, StringProperty

from .centre import AssistanceView
from .i18n import N_, language
from .screens import KioskScreen
from .widgets import BigButton

if TYPE_CHECKING:
    from .controller import KioskController

log = logging.getLogger("walkin.kiosk")

#: the usual categories' English names (examples/centre.toml), translated in the
#: kiosk's catalogues and shown when the centre gives no name in the visitor's language
COMMON_ASSISTANCE_NAMES = (
    N_("I use a wheelchair"),
    N_("I use a hearing aid (hearing loop)"),
    N_("I need help in my language"),
    N_("I am unwell or can't wait long"),
)


def category_name(controller: KioskController, category: AssistanceView) -> str:
    """The category's name in the visitor's language (see the module docstring)."""
    language = controller.app.language
    return category.name_in(language) or controller.app.t(category.name)


def ask_or_issue(controller: KioskController, late_reference: str | None = None) -> None:
    """The service is chosen (``late_reference``: a late arrival's walk-in ticket): ask
    for help when the centre offers it and the server is there, else issue at once."""
    visit = controller.visit
    if controller.busy or visit.ticket is not None or visit.service is None:
        return
    visit.late_reference = late_reference
    centre = controller.centre
    if centre is None or not centre.assistance or not controller.online:
        controller.take_ticket(late_reference=late_reference)
        return
    controller.show("assistance")


def toggle(controller: KioskController, code: str) -> None:
    """Tick or untick one category (an unknown code, or a tap while busy: nothing)."""
    centre = controller.centre
    chosen = controller.visit.assistance
    if controller.busy or centre is None or code not in {c.code for c in centre.assistance}:
        return
    if code in chosen:
        chosen.remove(code)
    else:
        chosen.append(code)
    controller.root.current_screen.refresh(controller)


def carry_on(controller: KioskController) -> None:
    """ "No help needed" or "Continue": take the ticket with what is ticked."""
    visit = controller.visit
    if not controller.online:
        # the server went away on this screen: an offline ticket cannot carry the help
        if visit.assistance:
            log.warning("assistance %s not sent: the server is away", ",".join(visit.assistance))
        visit.assistance.clear()
    controller.take_ticket(late_reference=visit.late_reference)


def chosen_for_request(controller: KioskController) -> list[str]:
    """The ticked codes the centre still offers, in its order (for ``issue_ticket``)."""
    centre = controller.centre
    chosen = set(controller.visit.assistance)
    return [c.code for c in (centre.assistance if centre else ()) if c.code in chosen]


class AssistanceScreen(KioskScreen):
    """ "Do you need any help?" (layout: ``kv/assistance.kv``)."""

    #: [(code, name in the visitor's language, ticked)]
    choices = ListProperty([])
    carry_on_text = StringProperty("")

    def refresh(self, controller: KioskController) -> None:
        t = App.get_running_app().t
        centre = controller.centre
        chosen = controller.visit.assistance
        self.title = t("Do you need any help?")
        self.message = t("Touch any that apply to you. The staff who call you will know.")
        self.hint = t("You do not have to choose any.")
        self.choices = [
            (c.code, category_name(controller, c), c.code in chosen)
            for c in (centre.assistance if centre else ())
        ]
        self.carry_on_text = t("Continue") if chosen else t("No help needed")
        if not controller.online:
            # the server went away on this screen: a ticket issued now cannot carry
            # the help (see the module docstring), so the visitor is not offered it
            self.message = t(
                "This kiosk cannot reach the server just now. "
                "Please tell the staff about any help you need when you are called."
            )
            self.hint = ""
            self.choices = []
            self.carry_on_text = t("Continue")

    def on_choices(self, _screen: Any, choices: list[tuple[str, str, bool]]) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        app = App.get_running_app()
        for code, name, ticked in choices:
            # ticked shows as a filled button with a ticked box, not by colour alone
            grid.add_widget(
                BigButton(
                    text=name,
                    value=code,
                    icon="checked" if ticked else "unchecked",
                    kind="primary" if ticked else "secondary",
                    fill_height=app.min_touch * 1.3,  # large targets: a shaky hand, a stick
                    on_release=lambda button: toggle(app.controller, button.value),
                )
            )

    def speech(self, controller: KioskController) -> str:
        names = ". ".join(name for _code, name, _ticked in self.choices)
        return f"{self.title} {self.message} {names}. {self.hint} {self.carry_on_text}."


def help_asked(controller: KioskController) -> str:
    """ "Help you asked for: …" for the ticket screen, in the visitor's language; "" for
    a ticket issued without help (or offline, or at check-in, where none is asked)."""
    visit = controller.visit
    centre = controller.centre
    if visit.ticket is None or visit.ticket.get("offline") or centre is None:
        return ""
    names = [category_name(controller, c) for c in centre.assistance if c.code in visit.assistance]
    if not names:
        return ""
    t = controller.app.t
    separator = "، " if language(controller.app.language).rtl else ", "
    return t("Help you asked for: {help}", help=separator.join(names))
