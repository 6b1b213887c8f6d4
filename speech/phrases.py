"""The words a board says (and shows) for a call, in each language.

"H023" is said as "H 23": the letter by its name, then the number as people say it
("twenty-three", never "oh two three"). espeak-ng reads the digits as a number in the
voice's own language, so the same text works in Polish or Welsh; the letter is marked
``say-as characters`` in the SSML so a prefix "A" is said "ay", not the article.

The wording in each language is the ``board`` domain of the shared catalogues
(``catalogues/locale/<code>/LC_MESSAGES/board.po``); a new language needs only its
``.po``. The non-English phrases are first drafts and want checking by native speakers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from catalogues import N_, primary_language, shipped_languages, translator
from speech.call import Call

DOMAIN = "board"

#: the announcement languages a board understands; ``visitor`` is the call's language
VISITOR = "visitor"

_NUMBER = re.compile(r"^\s*([^\d]*?)[\s-]*(\d+)\s*$")
_COUNTER_N = re.compile(r"^\s*counter\s+(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Phrase:
    """``{number}`` is the spoken number; ``{counter}`` the counter's name, or, for a counter
    named "Counter 4", ``counter_n`` with ``{n}`` (so the word is in this language)."""

    sentence: str
    counter_n: str
    voice: str
    right_to_left: bool = False


#: the English wording, which is also each phrase's id in the ``board`` catalogues
SENTENCE = N_("Ticket {number}, please go to {counter}.")
COUNTER_N = N_("counter {n}")


def _phrase(code: str) -> Phrase:
    t = translator(DOMAIN, code)
    return Phrase(t(SENTENCE), t(COUNTER_N), t.language.voice, t.language.rtl)


#: every language with a ``board`` catalogue (and English), from the catalogues
PHRASES: dict[str, Phrase] = {code: _phrase(code) for code in shipped_languages(DOMAIN)}
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(PHRASES)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One sentence in one language: ``text`` is shown (and is what is said); ``ssml`` is
    what espeak-ng is given; ``voice`` is the espeak-ng voice."""

    language: str
    text: str
    ssml: str
    voice: str
    right_to_left: bool = False


def split_number(number: str) -> tuple[str, str]:
    """``"H023"`` -> ``("H", "23")``; ``"AB-007"`` -> ``("AB", "7")``; ``"042"`` ->
    ``("", "42")``. A number without trailing digits is returned whole as letters."""
    match = _NUMBER.match(number)
    if not match:
        return number.strip(), ""
    letters, digits = match.groups()
    return letters.strip().upper(), str(int(digits))


def spoken_number(number: str) -> str:
    """How a ticket number is said: ``"H023"`` -> ``"H 23"``; ``"AB7"`` -> ``"A B 7"``."""
    letters, digits = split_number(number)
    return " ".join([*letters.replace(" ", ""), *([digits] if digits else [])])


def counter_words(counter: str, language: str) -> str:
    """The counter as said in a language: "Counter 4" becomes that language's word and the
    number; any other name (e.g. "Reception") is said as it is."""
    phrase = PHRASES[language]
    match = _COUNTER_N.match(counter)
    if match:
        return phrase.counter_n.format(n=match.group(1))
    return counter.strip()


def announcement_languages(call_language: str, wanted: Sequence[str]) -> list[str]:
    """The languages to announce a call in, in order, each once: ``wanted`` holds codes
    and ``"visitor"`` (the call's language). A language with no phrase is skipped."""
    out: list[str] = []
    for item in wanted:
        code = primary_language(call_language if item == VISITOR else item)
        if code in PHRASES and code not in out:
            out.append(code)
    return out


def utterance(call: Call, language: str) -> Utterance:
    """The sentence for ``call`` in ``language`` (a code in ``PHRASES``; else ``KeyError``)."""
    phrase = PHRASES[language]
    counter = counter_words(call.counter, language)
    text = phrase.sentence.format(number=spoken_number(call.number), counter=counter)
    letters, digits = split_number(call.number)
    said_number = " ".join(
        [f'<say-as interpret-as="characters">{escape(letters)}</say-as>'] * bool(letters)
        + [digits] * bool(digits)
    )
    ssml_sentence = escape(phrase.sentence).format(number=said_number, counter=escape(counter))
    ssml = f"<speak>{ssml_sentence}</speak>"
    return Utterance(language, text, ssml, phrase.voice, phrase.right_to_left)


def utterances(call: Call, wanted: Iterable[str] = (VISITOR, "en")) -> list[Utterance]:
    """What a board says for a call: by default the visitor's language, then English
    (once, if the visitor's language is English)."""
    return [utterance(call, code) for code in announcement_languages(call.language, list(wanted))]


def parse_languages(value: str) -> list[str]:
    """``--languages`` / ``?languages=``: a comma list of ``visitor`` and language codes.
    Raises ``ValueError`` naming an unknown one."""
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    if not items:
        raise ValueError("--languages needs at least one of: visitor, " + ", ".join(PHRASES))
    for item in items:
        if item != VISITOR and primary_language(item) not in PHRASES:
            raise ValueError(
                f"no announcement wording for language {item!r}; "
                f"known: visitor, {', '.join(PHRASES)}"
            )
    return items
