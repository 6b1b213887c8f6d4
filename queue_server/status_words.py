"""What a visitor's ticket status page (``/t/<id>``) says, in the visitor's language.

The words are made here once, on the server, from the ``status`` domain of the shared
catalogues (``catalogues/locale/<code>/LC_MESSAGES/status.po``), with dates and times in
that language through Babel: the page drawn by the server and each live
``ticket_status`` push carry the same words, so the page's script only shows them.
A language without a ``status`` catalogue gets English.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from babel.dates import format_date, format_time

from catalogues import N_, Translator, cldr_locale, primary_language, shipped_languages, translator
from catalogues import language as language_of

DOMAIN = "status"

#: the page's fixed wording, keyed for the HTML; ``{time}`` stands for a <time> element
PAGE = {
    "your_number": N_("Your number"),
    "last_updated": N_("Last updated at {time}."),
    "no_script": N_("This page does not update by itself without JavaScript."),
    "refresh": N_("Refresh the page to see the latest."),
    "advice": N_(
        "Please stay in or near the waiting area. "
        "Numbers are also shown on the screens and called out."
    ),
    # the connection line the script shows
    "connecting": N_("Updating…"),
    "live": N_("Updates automatically"),
    "reconnecting": N_("Reconnecting…"),
    "stopped": N_("Not updating. Refresh the page to try again."),
}
NOT_FOUND = {
    "title": N_("Ticket not found"),
    "headline": N_("We cannot find this ticket"),
    "detail": N_(
        "Please check that you scanned the code on your own ticket. "
        "Tickets are valid on the day they are issued."
    ),
    "advice": N_("If you need help, please ask at reception."),
}


def status_translator(language: str | None) -> Translator:
    """The ``status`` wording for a visitor's language (English when there is none)."""
    code = primary_language(language or "en")
    return translator(DOMAIN, code if code in shipped_languages(DOMAIN) else "en")


def page_words(language: str | None) -> dict[str, str]:
    """The page's fixed wording, plus ``lang`` and ``dir`` for the <html> element."""
    t = status_translator(language)
    return {
        **{key: t(text) for key, text in PAGE.items()},
        "lang": t.code,
        "dir": "rtl" if t.language.rtl else "ltr",
    }


def not_found_words(language: str | None = None) -> dict[str, str]:
    t = status_translator(language)
    return {key: t(text) for key, text in NOT_FOUND.items()}


def _time(moment: str, tz: tzinfo, t: Translator) -> str:
    return format_time(
        datetime.fromisoformat(moment).astimezone(tz), "HH:mm", locale=cldr_locale(t.code)
    )


def _wait(
    t: Translator,
    minutes: int | None,
    reason: str | None,
    low: int | None = None,
    high: int | None = None,
) -> str:
    if minutes is not None and low is not None and high is not None:
        # an uncertain estimate is shown as the range it will likely fall in
        return t.plural(
            "Estimated wait: about {low}–{high} minute.",
            "Estimated wait: about {low}–{high} minutes.",
            high,
            low=low,
            high=high,
        )
    if minutes is None:
        if reason == "beyond_horizon":
            return t("No time estimate: the wait is longer than we can estimate today.")
        return t("No time estimate: no counter for this service is open right now.")
    if minutes < 1:
        return t("Estimated wait: less than a minute.")
    return t.plural(
        "Estimated wait: about {n} minute.", "Estimated wait: about {n} minutes.", minutes
    )


def status_words(
    status: dict[str, Any], day: date, tz: tzinfo, language: str | None
) -> dict[str, str]:
    """The words for one ``views.ticket_status`` message: ``state`` (the page's
    ``data-state``: the ticket's state or ``"earlier-day"``), ``title``, ``call`` (the
    assertive live region, only while called), ``headline`` and ``detail`` (the polite
    one), ``appointment`` ("Appointment 14:30" or ""), ``updated`` (the time of
    ``as_of``), ``lang``, and for the service's name ``service_lang``, ``service_dir``
    and ``service_note`` ("(in English)" where it is not in the visitor's language).
    ``day`` is the ticket's local day, ``tz`` the centre's."""
    t = status_translator(language)
    number = status["number"]
    state = status["state"]
    counter = status.get("counter")
    at = status.get("appointment_at")
    # a service the centre has no name for in the visitor's language is named in English:
    # the page marks the name's own language and direction (so a right-to-left page
    # does not reorder it) and says so, "(in English)"
    named_in = status.get("service_name_lang") or t.code
    words = {
        "lang": t.code,
        "service_lang": named_in,
        "service_dir": "rtl" if language_of(named_in).rtl else "ltr",
        "service_note": t("(in English)") if named_in == "en" and t.code != "en" else "",
        "appointment": t("Appointment {time}", time=_time(at, tz, t)) if at else "",
        "updated": _time(status["as_of"], tz, t),
        "call": "",
        "headline": "",
        "detail": "",
    }
    if not status["today"]:
        long_date = format_date(day, "full", locale=cldr_locale(t.code))
        return words | {
            "state": "earlier-day",
            "title": t("Ticket {number}: not valid today", number=number),
            "headline": t("This ticket was for {date}.", date=long_date),
            "detail": t(
                "Tickets are valid on the day they are issued. "
                "Please take a new ticket at the kiosk if you need help today."
            ),
        }
    if status["waiting"]:
        ahead = status.get("people_ahead") or 0
        if ahead == 0:
            headline, short = t("You are next."), t("You are next")
        else:
            headline = t.plural("{n} person ahead of you.", "{n} people ahead of you.", ahead)
            short = t.plural("{n} person ahead of you", "{n} people ahead of you", ahead)
        return words | {
            "state": "waiting",
            "title": t("Ticket {number}: {progress}", number=number, progress=short),
            "headline": headline,
            "detail": _wait(
                t,
                status["minutes"],
                status.get("no_estimate_reason"),
                status.get("minutes_low"),
                status.get("minutes_high"),
            ),
        }
    if state == "called":
        if counter:
            go = t("Please go to {counter} now.", counter=counter)
            title = t("Go to {counter} now: ticket {number}", counter=counter, number=number)
        else:
            go = t("Please go to the counter now.")
            title = t("Go to the counter now: ticket {number}", number=number)
        return words | {
            "state": "called",
            "title": title,
            "call": go,
            "detail": t("Your number {number} has been called.", number=number),
        }
    if state == "serving":
        return words | {
            "state": "serving",
            "title": t("Ticket {number}: being seen", number=number),
            "headline": (
                t("You are being seen at {counter}.", counter=counter)
                if counter
                else t("You are being seen.")
            ),
        }
    if state == "parked":
        return words | {
            "state": "parked",
            "title": t("Ticket {number}: on hold", number=number),
            "headline": t("Your ticket is on hold."),
            "detail": t(
                "An adviser will call your number again when you are ready. Please stay nearby."
            ),
        }
    if state == "done":
        return words | {
            "state": "done",
            "title": t("Ticket {number}: dealt with", number=number),
            "headline": t("This ticket has been dealt with."),
            "detail": t("Thank you for visiting."),
        }
    if state == "no_show":
        return words | {
            "state": "no_show",
            "title": t("Ticket {number}: missed", number=number),
            "headline": t("Your number was called, but you did not come to the counter."),
            "detail": t("If you still need help, please ask at reception."),
        }
    return words | {
        "state": "cancelled",
        "title": t("Ticket {number}: cancelled", number=number),
        "headline": t("This ticket has been cancelled."),
        "detail": t("If you still need help, please ask at reception."),
    }
