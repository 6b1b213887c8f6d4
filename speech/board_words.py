"""What a board shows around the calls ("Now calling", "Ticket", "Counter", "Waiting"),
in the board's screen languages: the ``board`` domain of the shared catalogues, as the
spoken calls are. A board in Wales shows ``cy,en``: each phrase in Welsh, then English.

Both boards use this: the Kivy board (``--screen-languages``) and the web board
(``/board?screen=cy,en``, the words put into the page by the server).
"""

from __future__ import annotations

from collections.abc import Sequence

from catalogues import N_, primary_language, shipped_languages, translator

DOMAIN = "board"
#: between the same phrase in two languages
JOIN = " / "

PHRASES = {
    "now_calling": N_("Now calling"),
    "take_a_seat": N_("Please take a seat"),
    "placeholder": N_("Your number will be shown here"),
    "ticket": N_("Ticket"),
    "counter": N_("Counter"),
    "waiting": N_("Waiting"),
    "nobody": N_("nobody"),
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Reconnecting…"),
}


def parse_screen_languages(value: str) -> list[str]:
    """``--screen-languages`` / ``?screen=``: a comma list of language codes, each once.
    Raises ``ValueError`` naming a language with no board wording."""
    known = shipped_languages(DOMAIN)
    codes: list[str] = []
    for item in value.split(","):
        if not item.strip():
            continue
        code = primary_language(item)
        if code not in known:
            raise ValueError(
                f"no board wording for language {item.strip()!r}; known: {', '.join(known)}"
            )
        if code not in codes:
            codes.append(code)
    if not codes:
        raise ValueError("the screen needs at least one language, e.g. en or cy,en")
    return codes


def board_words(languages: Sequence[str] = ("en",)) -> dict[str, str]:
    """Each phrase in every screen language, in order, joined by ``JOIN`` (a phrase that
    reads the same in two languages is shown once)."""
    words: dict[str, str] = {}
    for key, phrase in PHRASES.items():
        said: list[str] = []
        for code in languages:
            text = translator(DOMAIN, code)(phrase)
            if text not in said:
                said.append(text)
        words[key] = JOIN.join(said)
    return words


def right_to_left(languages: Sequence[str]) -> bool:
    """The screen's first language is written right to left (Urdu, Arabic)."""
    return bool(languages) and translator(DOMAIN, languages[0]).language.rtl
