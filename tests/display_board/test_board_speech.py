"""What a board says for a call: numbers as people say them, the visitor's language and
then English, the counter in each language, SSML that espeak-ng reads right."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from speech.call import Call
from speech.phrases import (
    PHRASES,
    announcement_languages,
    parse_languages,
    split_number,
    spoken_number,
    utterance,
    utterances,
)


def call(number: str = "H023", counter: str = "Counter 4", language: str = "en") -> Call:
    return Call("id", number, counter, datetime(2026, 11, 24, 10, tzinfo=UTC), 0, language)


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("H023", "H 23"),
        ("H001", "H 1"),
        ("H100", "H 100"),
        ("H000", "H 0"),
        ("AB007", "A B 7"),
        ("C-042", "C 42"),
        ("042", "42"),
        ("h5", "H 5"),
        ("VIP", "V I P"),
    ],
)
def test_numbers_are_said_as_numbers(number: str, spoken: str) -> None:
    assert spoken_number(number) == spoken


def test_split_number() -> None:
    assert split_number("H023") == ("H", "23")


def test_the_english_sentence() -> None:
    assert utterance(call(), "en").text == "Ticket H 23, please go to counter 4."


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("cy", "Tocyn H 23, ewch at gownter 4, os gwelwch yn dda."),
        ("pl", "Numer H 23, proszę podejść do stanowiska 4."),
        ("ro", "Bonul H 23, vă rugăm să mergeți la ghișeul 4."),
        ("ur", "ٹکٹ نمبر H 23، براہ کرم کاؤنٹر نمبر 4 پر تشریف لائیں۔"),
        ("ar", "التذكرة رقم H 23، يرجى التوجه إلى الشباك رقم 4."),
    ],
)
def test_each_language_names_the_counter_in_its_own_words(language: str, text: str) -> None:
    said = utterance(call(language=language), language)
    assert said.text == text
    assert said.right_to_left == (language in ("ur", "ar"))


def test_a_counter_with_another_name_is_said_as_it_is() -> None:
    assert utterance(call(counter="Reception"), "en").text == (
        "Ticket H 23, please go to Reception."
    )


def test_the_visitors_language_first_then_english_once() -> None:
    assert [u.language for u in utterances(call(language="pl"))] == ["pl", "en"]
    assert [u.language for u in utterances(call(language="en"))] == ["en"]
    assert [u.language for u in utterances(call(language="pl-PL"))] == ["pl", "en"]
    # a language with no wording yet: English only
    assert [u.language for u in utterances(call(language="so"))] == ["en"]
    # a Welsh centre says Welsh first, always
    assert announcement_languages("pl", ["cy", "en"]) == ["cy", "en"]
    assert announcement_languages("cy", ["visitor", "cy", "en"]) == ["cy", "en"]


def test_the_ssml_marks_the_letters_and_escapes_names() -> None:
    said = utterance(call(counter="Desk <2> & 3"), "en")
    assert said.ssml == (
        '<speak>Ticket <say-as interpret-as="characters">H</say-as> 23, '
        "please go to Desk &lt;2&gt; &amp; 3.</speak>"
    )


def test_language_lists_are_checked() -> None:
    assert parse_languages("visitor, en") == ["visitor", "en"]
    with pytest.raises(ValueError, match="xx"):
        parse_languages("visitor,xx")
    with pytest.raises(ValueError):
        parse_languages(" , ")


def test_every_phrase_has_both_slots() -> None:
    for phrase in PHRASES.values():
        assert "{number}" in phrase.sentence and "{counter}" in phrase.sentence
        assert "{n}" in phrase.counter_n


ESPEAK = shutil.which("espeak-ng")


def phonemes(language: str, number: str) -> str:
    said = utterance(call(number=number), language)
    return subprocess.run(
        [ESPEAK or "espeak-ng", "-q", "-x", "-m", "-v", said.voice, said.ssml],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
def test_espeak_says_twenty_three_not_two_three() -> None:
    english = phonemes("en", "H023")
    assert "'eItS" in english  # the letter H, by name ("aitch")
    assert "tw'Enti" in english  # twenty-three
    assert "z'I@roU" not in english and "'oU" not in english  # never "zero" or "oh"
    one = phonemes("en", "H001")
    assert "w'0n" in one and "'oU" not in one  # "one", not "oh oh one"
    polish = phonemes("pl", "H023")
    assert "dvadz" in polish  # dwadzieścia trzy


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
def test_a_letter_a_is_said_by_name_not_as_the_article() -> None:
    assert "'eI" in phonemes("en", "A007")
