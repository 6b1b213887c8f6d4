"""What the joining pages (``/join/<centre>``, ``web/join_page.py``) and the "I'm here"
form of a remote ticket's status page say, in the visitor's language: the ``join``
domain of the shared catalogues (``catalogues/locale/<code>/LC_MESSAGES/join.po``).

A domain of its own, not the status page's: the joining pages are a journey of their
own, and their words change with it. A language without a ``join`` catalogue gets
English. Messages with ``{button}`` carry the name of a button, which the page makes
bold after escaping the rest (no HTML in the catalogues).
"""

from __future__ import annotations

from catalogues import N_, Translator, primary_language, shipped_languages, translator

DOMAIN = "join"

WORDS = {
    "title": N_("Join the queue"),
    "join_at": N_("Join the queue at {centre}"),
    # the language page's heading, shown in every language the centre offers
    "language_question": N_("Choose your language"),
    "problem": N_("There is a problem"),
    "question": N_("What do you need help with?"),
    "intro": N_(
        "Join the queue at {centre} from your phone. You will get a ticket number and a "
        "page that shows your place in the queue."
    ),
    "continue": N_("Continue"),
    "choose_service": N_("Select the service you need"),
    "back": N_("Back"),
    # the channel-shift offer, before the page that joins (as at the kiosk; the first
    # two are the kiosk's own words, so both say the same)
    "online_title": N_("You can do this online"),
    "online_text": N_("{service} can be done online, at any time, with no waiting."),
    "online_link": N_("Go to the {service} page"),
    "online_queue": N_(
        "If you need to see someone at the centre today, you can still join the queue."
    ),
    "join_anyway": N_("Join the queue anyway"),
    "nobody_waiting": N_("Nobody is waiting for this service just now."),
    "here_note": N_(
        "When you arrive, press {button} on your ticket's page, or scan its code at the "
        "kiosk. We call you only once you have."
    ),
    "join": N_("Join the queue"),
    # help a visitor may ask for (the centre's [[assistance]], docs/assistance.md)
    "help_legend": N_("Do you need any help?"),
    "help_hint": N_(
        "Select any that apply to you. The staff who call you will know. You do not have "
        "to choose any."
    ),
    "help_gone": N_("The help you chose is no longer offered here. You are not in the queue yet."),
    "not_found_title": N_("Page not found"),
    "not_found": N_("Check the address, or scan the QR code on the poster again."),
    "closed_title": N_("Joining from a phone"),
    "closed": N_(
        "You can't join this centre's queue from a phone. Please come in and take a "
        "ticket at the kiosk."
    ),
    "expired_title": N_("This form has expired"),
    "expired": N_(
        "Your phone's browser did not send back the form we gave it (it may block "
        "cookies, or the form was opened elsewhere). Nothing was taken."
    ),
    "start_again": N_("Start again"),
    "wrong_title": N_("Something went wrong"),
    # a join form that came back changed: its language or its key not ours
    "wrong_form": N_(
        "We could not read the form you sent: it was changed, or it did not come from "
        "this page. Nothing was taken."
    ),
    "too_many_title": N_("Too many tickets"),
    "too_many": N_(
        "This phone or network has joined the queue several times in the last hour. "
        "Please come in and take a ticket at the kiosk."
    ),
    "unavailable_title": N_("Sorry, we can't give you a ticket just now"),
    "unavailable": N_("Please try again in a minute, or come in and take a ticket at the kiosk."),
    "refused_title": N_("You can't join the queue now"),
    # the status page's "I'm here" form, and what pressing it can lead to
    "here_button": N_("I'm here"),
    "here_prompt": N_(
        "When you are at the centre, tell us you're here. We call you only once you have."
    ),
    "retry_title": N_("Sorry, please try again"),
    "retry": N_("Please try again in a minute."),
    "ended_title": N_("Your ticket has ended"),
    "ended_passed": N_(
        "Your turn passed while you were not here. Please take a new ticket at the kiosk."
    ),
    "ended": N_("This ticket is no longer in the queue. Please take a new ticket at the kiosk."),
}

#: why joining was refused (``JoinRefused`` codes, and the centre being closed)
REFUSALS = {
    "remote_closed": N_(
        "Joining from a phone is not open just now. Please come in and take a ticket at the kiosk."
    ),
    "remote_service": N_(
        "This service cannot be joined from a phone. Please come in and take a ticket at the kiosk."
    ),
    "centre_closed": N_("The centre is closed now. Please join the queue when it is open."),
    "remote_too_late": N_(
        "The centre closes soon, so joining from a phone has stopped for today. Please "
        "come in and take a ticket at the kiosk."
    ),
    "remote_full": N_(
        "The queue is full for people joining from a phone just now. Please try again "
        "later, or come in and take a ticket at the kiosk."
    ),
}
OTHER_REFUSAL = N_("Please come in and take a ticket at the kiosk.")


def join_translator(language: str | None) -> Translator:
    """The ``join`` wording for a visitor's language (English when there is none)."""
    code = primary_language(language or "en")
    return translator(DOMAIN, code if code in shipped_languages(DOMAIN) else "en")


def service_name(english: str, names: dict[str, str], language: str) -> str:
    """A service's name in ``language``: the centre's own (its configuration), else the
    usual council service's name as the kiosk's catalogue translates it (the kiosk
    shows the same), else English."""
    if language in names:
        return names[language]
    return translator("kiosk", language)(english)


def assistance_name(english: str, names: dict[str, str], language: str) -> str:
    """A kind of help's name in ``language``: the centre's own (its ``names``), else
    the usual categories' names as the kiosk's catalogue translates them (the kiosk
    shows the same), else English."""
    return service_name(english, names, language)


def waiting_now(t: Translator, waiting: int) -> str:
    if waiting == 0:
        return t(WORDS["nobody_waiting"])
    return t.plural(
        "{n} person is waiting for this service now.",
        "{n} people are waiting for this service now.",
        waiting,
    )


def stops_before_closing(t: Translator, minutes: int) -> str:
    return t.plural(
        "Joining from a phone closes {n} minute before the centre does.",
        "Joining from a phone closes {n} minutes before the centre does.",
        minutes,
    )


def place_kept(t: Translator, minutes: int) -> str:
    return t.plural(
        "If your turn comes first, we keep your place for {n} minute.",
        "If your turn comes first, we keep your place for {n} minutes.",
        minutes,
    )
