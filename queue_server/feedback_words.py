"""What the feedback question and its pages say, in the visitor's language (the
``status`` domain of the shared catalogues, as the status page: ``status_words.py``).

The answers' English is ``core.feedback.ANSWERS``' ``text``, marked here again for
extraction (the core has no translations).
"""

from __future__ import annotations

from catalogues import N_
from queue_server.core.feedback import ANSWERS, COMMENT_MAX_CHARS
from queue_server.status_words import status_translator

ANSWER_WORDS = {
    "very_satisfied": N_("Very satisfied"),
    "satisfied": N_("Satisfied"),
    "neither": N_("Neither satisfied or dissatisfied"),
    "dissatisfied": N_("Dissatisfied"),
    "very_dissatisfied": N_("Very dissatisfied"),
}
assert [ANSWER_WORDS[a.value] for a in ANSWERS] == [a.text for a in ANSWERS]

FORM = {
    "title": N_("Feedback"),
    "question": N_("How satisfied were you with the service today?"),
    "comment_label": N_("How could we improve the service? (optional)"),
    "comment_hint": N_(
        "Do not include personal details, such as your name, address, phone number "
        "or National Insurance number."
    ),
    "comment_limit": N_("You can enter up to {n} characters."),
    "send": N_("Send feedback"),
    "privacy": N_(
        "Your answer is kept with your visit (the service and the counter), not with "
        "your name. Personal details are taken out of comments before staff read them, "
        "and comments are deleted after {days} days."
    ),
    "error_title": N_("There is a problem"),
    "error_choice": N_("Select how satisfied you were with the service today"),
    "error_comment_long": N_("Your comment must be {n} characters or fewer"),
    "back": N_("Back to your ticket"),
}

#: the pages after (or instead of) the form: a heading and a sentence each
OUTCOMES = {
    "thanks": (
        N_("Thank you for your feedback"),
        N_("Your answer helps the centre improve its service."),
    ),
    "already": (
        N_("You have already given feedback on this visit"),
        N_("Each visit can be rated once. Thank you for telling us how it went."),
    ),
    "not_yet": (
        N_("You can give feedback once your visit is over"),
        N_("We will ask how it went on this page after you have been seen."),
    ),
    "not_seen": (
        N_("There is no feedback to give for this ticket"),
        N_("We ask for feedback after a visit has been completed."),
    ),
    "not_asked": (
        N_("This centre is not asking for feedback at the moment"),
        N_("If you would like to tell us how it went, please speak to a member of staff."),
    ),
    "too_late": (
        N_("Feedback on this visit has closed"),
        N_("You can give feedback for a limited time after your visit."),
    ),
    "rate_limited": (
        N_("Too many attempts"),
        N_("Please wait a few minutes, then try again."),
    ),
    "forbidden": (
        N_("This form could not be sent"),
        N_("Please open the form from your ticket's page and try again."),
    ),
    "unavailable": (
        N_("Sorry, your feedback could not be saved"),
        N_("Please try again in a moment."),
    ),
}


def form_words(language: str | None, retention_days: int) -> dict[str, str]:
    """The form's wording (and ``lang``, ``dir``), with each answer's as
    ``answer_<value>``."""
    t = status_translator(language)
    words = {
        key: t(text, n=COMMENT_MAX_CHARS) if "{n}" in text else t(text)
        for key, text in FORM.items()
        if key != "privacy"
    }
    words["privacy"] = t(FORM["privacy"], days=retention_days)
    for value, text in ANSWER_WORDS.items():
        words[f"answer_{value}"] = t(text)
    words["lang"] = t.code
    words["dir"] = "rtl" if t.language.rtl else "ltr"
    return words


def outcome_words(outcome: str, language: str | None) -> tuple[str, str]:
    """The heading and sentence of one of ``OUTCOMES``."""
    t = status_translator(language)
    heading, sentence = OUTCOMES[outcome]
    return t(heading), t(sentence)


def feedback_question(language: str | None) -> str:
    """The question, in the visitor's language, for the link sent after the visit."""
    return status_translator(language)(FORM["question"])
