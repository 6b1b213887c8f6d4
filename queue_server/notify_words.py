"""What the status page's offer to be told when it is nearly your turn says
(``web/notify_page.py``; docs/notifications.md), in the visitor's language: the
``status`` domain of the shared catalogues, as the page around it and the feedback
question (``catalogues/locale/<code>/LC_MESSAGES/status.po``). The messages sent
themselves are the status page's own words (``views.ticket_status``)."""

from __future__ import annotations

from catalogues import N_, Translator

WORDS = {
    "title": N_("Get a message when it is nearly your turn"),
    "intro": N_(
        "We can text you when {ahead} and again when you are called, so you can wait "
        "somewhere else."
    ),
    "ahead_none": N_("it is nearly your turn"),
    "mobile": N_("Mobile phone number (optional)"),
    "mobile_hint": N_("A UK mobile number, like 07700 900 982."),
    "email": N_("Email address (optional)"),
    "privacy": N_(
        "We use your number only to send you these messages about this ticket, "
        "through GOV.UK Notify, the government's messaging service. We delete it at the end "
        "of today. It is not shared and not used for anything else."
    ),
    "privacy_email": N_(
        "We use your number or email address only to send you these messages "
        "about this ticket, through GOV.UK Notify, the government's messaging service. We "
        "delete them at the end of today. They are not shared and not used for anything else."
    ),
    # the same, when the centre sends through a gateway of its own, not Notify
    "privacy_own": N_(
        "We use your number only to send you these messages about this ticket. We delete "
        "it at the end of today. It is not shared and not used for anything else."
    ),
    "privacy_email_own": N_(
        "We use your number or email address only to send you these messages about this "
        "ticket. We delete them at the end of today. They are not shared and not used for "
        "anything else."
    ),
    "send": N_("Text me"),
    "send_any": N_("Send me messages"),
    "push": N_("Notify me on this phone"),
    "push_hint": N_("Your phone shows the message even when this page is closed."),
    "push_on": N_("This phone will be notified."),
    "push_failed": N_("Notifications could not be turned on. You can still use a text message."),
    "error_title": N_("There is a problem"),
    "error_mobile": N_("Enter a UK mobile number, like 07700 900 982"),
    "error_email": N_("Enter an email address in the correct format, like name@example.com"),
    "error_empty": N_("Enter a mobile phone number"),
    "will_send_sms": N_(
        "We will text {address} when it is nearly your turn and when you are called."
    ),
    "will_send_email": N_(
        "We will email {address} when it is nearly your turn and when you are called."
    ),
    "will_send_push": N_(
        "This phone will be notified when it is nearly your turn and when you are called."
    ),
    "stop": N_("Stop these messages"),
    "refused_title": N_("We cannot send you messages for this ticket"),
    "refused_finished": N_("This ticket is no longer waiting, so there is nothing to tell you."),
    "refused_number_in_use": N_(
        "This number is already getting messages about another ticket "
        "that is still waiting. Each number can follow one ticket at a time."
    ),
    "refused_channel": N_("This centre does not send these messages."),
    "refused_subscription": N_("This phone's notifications could not be set up."),
    "rate_limited_title": N_("Too many attempts"),
    "rate_limited": N_("Please wait a few minutes and try again."),
    "forbidden_title": N_("This form could not be sent"),
    "forbidden": N_("Please go back to your ticket's page and try again."),
    "unavailable_title": N_("Sorry, there is a problem with the service"),
    "unavailable": N_("Please try again in a moment."),
    "back": N_("Back to your ticket"),
}


def ahead_words(t: Translator, people: int, minutes: int) -> str:
    """When the centre's rules tell a visitor, for the form's introduction
    (``[notifications] people_ahead``, else ``minutes_before``)."""
    if people:
        return t.plural("{n} person is ahead of you", "{n} people are ahead of you", people)
    if minutes:
        return t.plural(
            "your turn is about {n} minute away", "your turn is about {n} minutes away", minutes
        )
    return t(WORDS["ahead_none"])
