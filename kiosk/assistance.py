"""Asking for help at the kiosk (issue 14 item 5; docs/assistance.md).

After the service is chosen (and the website offered, where it is), a centre with
``[[assistance]]`` categories asks "Do you need any help?": a large toggle button for
each category, named in the visitor's language (the centre's ``names``, else the kiosk
catalogue's translation of the English name, else English), and one button that goes
on: "No help needed" while none is ticked, "Continue" once one is. Nothing is
required: the ticket is one touch away either way. The codes ticked go with the
request that makes the ticket (``assistance``), so routing and the counter console
honour them:

* ``issue_ticket``, for a walk-in, and for a late arrival's walk-in ticket
  (``late_appointment_ref``);
* ``check_in``: asked once the reference is typed or scanned, before it is sent. The
  kiosk cannot know the booking will be found without checking in (and check-in makes
  the ticket), so the question comes first; a refusal (too early, not found) loses
  nothing but the visitor's touch. The server gives an appointment the counter it
  needs, not a head start (its own clock protects it);
* an offline ticket, from leased numbers while the server is away: the codes are
  journaled with the ticket and uploaded with it (``kiosk.offline``).

The question is asked once a visit: a visitor who answered it before a check-in that
was refused as too late, or not found, keeps their answer for the walk-in ticket they
take instead, without being asked again.

Not asked when the centre has no categories (the screen is skipped), nor when the
kiosk could not send the answer: check-in or a late ticket with the server away (the
offline screen says to ask at reception).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import ListProperty, StringProperty

from .centre import AssistanceView
from .i18n import N_, language
from .screens import KioskScreen
from .widgets import BigButton

if TYPE_CHECKING:
    from .controller import KioskController

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


def _may_ask(controller: KioskController, *, offline_too: bool) -> bool:
    """Whether to ask: the centre offers help, the visitor was not asked this visit,
    and the answer can reach the queue (online, or ``offline_too`` and issuing from
    leased numbers)."""
    centre = controller.centre
    reachable = controller.online or (offline_too and controller.working_offline)
    return (
        centre is not None and bool(centre.assistance) and not controller.visit.asked and reachable
    )


def ask_or_issue(controller: KioskController, late_reference: str | None = None) -> None:
    """The service is chosen (``late_reference``: a late arrival's walk-in ticket): ask
    for help (see the module docstring), else issue at once."""
    visit = controller.visit
    if controller.busy or visit.ticket is not None or visit.service is None:
        return
    visit.late_reference = late_reference
    visit.checking_in = False
    if _may_ask(controller, offline_too=late_reference is None):
        controller.show("assistance")
    else:
        controller.take_ticket(late_reference=late_reference)


def ask_or_check_in(controller: KioskController) -> None:
    """A booking reference is given (``visit.reference``): ask for help (see the module
    docstring), else check in at once."""
    visit = controller.visit
    if controller.busy or visit.ticket is not None or visit.reference is None:
        return
    visit.late_reference = None
    visit.checking_in = True
    if _may_ask(controller, offline_too=False):
        controller.show("assistance")
    else:
        controller.send_check_in()


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
    """ "No help needed" or "Continue": check in, or take the ticket, with what is
    ticked (online or, for a walk-in, offline: the help goes either way)."""
    visit = controller.visit
    if controller.busy:
        return
    visit.asked = True
    if visit.checking_in:
        controller.send_check_in()
    else:
        controller.take_ticket(late_reference=visit.late_reference)


def needs_server(controller: KioskController) -> bool:
    """The question is on screen for a check-in or a late ticket, which only the
    server can give (a walk-in's ticket can be issued offline)."""
    visit = controller.visit
    asking = controller.root.current == "assistance"
    return asking and (visit.checking_in or visit.late_reference is not None)


def add_help(controller: KioskController, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` of a request that makes a ticket, with ``assistance`` if any is ticked."""
    if chosen := chosen_for_request(controller):
        fields["assistance"] = chosen
    return fields


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
    """ "Help you asked for: …" for the ticket screen, in the visitor's language (online,
    offline or checked in: the help goes with each); "" for a ticket without help."""
    visit = controller.visit
    centre = controller.centre
    if visit.ticket is None or centre is None:
        return ""
    names = [category_name(controller, c) for c in centre.assistance if c.code in visit.assistance]
    if not names:
        return ""
    t = controller.app.t
    separator = "، " if language(controller.app.language).rtl else ", "
    return t("Help you asked for: {help}", help=separator.join(names))
