"""Personal data taken out of visitors' feedback comments (``redact_personal_data``):
generated e-mail addresses, phone numbers, postcodes, National Insurance numbers and
card numbers, written as people write them, never survive in any script's digits;
ordinary comments pass unchanged; redacting twice changes nothing."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from queue_server.net.redact import PERSONAL_DATA_KINDS, redact_personal_data

#: digits as visitors type them: ASCII, Arabic-Indic (Arabic), Extended Arabic-Indic
#: (Urdu), full-width
DIGIT_SCRIPTS = ("0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９")

words = st.lists(
    st.sampled_from(
        [
            "waited",
            "long",
            "the",
            "adviser",
            "was",
            "very",
            "helpful",
            "counter 4",
            "45 minutes",
            "queue",
            "شكرا",
            "بہت",
            "dziękuję",
            "at",
            "reception",
            "2 hours",
            "!",
            "—",
            "Thank you.",
        ]
    ),
    max_size=12,
).map(" ".join)


def in_script(text: str, script: str) -> str:
    return "".join(script[int(ch)] if ch.isascii() and ch.isdigit() else ch for ch in text)


def luhn_complete(body: str) -> str:
    for check in "0123456789":
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z][a-z0-9._+-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True),
    st.sampled_from(["com", "co.uk", "gov.uk", "org", "net"]),
)
uk_mobiles = st.builds(
    lambda rest, style: style.format(rest[:3], rest[3:]),
    st.from_regex(r"[0-9]{9}", fullmatch=True),
    st.sampled_from(["07{}{}", "07{} {}", "+44 7{} {}", "+447{}{}", "07{}-{}", "(07{}) {}"]),
)
# a UK number is 0 and ten digits: the area code's, then the line's
landlines = st.builds(
    lambda area, line, style: style.format(area, line[: 10 - len(area)]),
    st.sampled_from(["1865", "20", "161", "1223", "113"]),
    st.from_regex(r"[2-9][0-9]{7}", fullmatch=True),
    st.sampled_from(["0{} {}", "+44 {} {}", "+44 (0){} {}", "(0{}) {}"]),
)
postcodes = st.builds(
    lambda out, inward, space, upper: (
        (out + space + inward).upper() if upper else (out + space + inward).lower()
    ),
    st.from_regex(
        r"(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW])",
        fullmatch=True,
    ),
    st.from_regex(r"[0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True),
    st.sampled_from(["", " "]),
    st.booleans(),
)
ni_numbers = st.builds(
    lambda prefix, digits, suffix, sep: (
        sep.join([prefix, digits[:2], digits[2:4], digits[4:]]) + sep + suffix
    ),
    st.from_regex(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]", fullmatch=True),
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.sampled_from("ABCD"),
    st.sampled_from(["", " "]),
)
cards = st.builds(
    lambda body, grouped: (
        " ".join(luhn_complete(body)[i : i + 4] for i in range(0, 16, 4))
        if grouped
        else luhn_complete(body)
    ),
    st.from_regex(r"[3-6][0-9]{14}", fullmatch=True),
    st.booleans(),
)

KINDS = {
    "e-mail address": emails,
    "phone number": st.one_of(uk_mobiles, landlines),
    "postcode": postcodes,
    "National Insurance number": ni_numbers,
    "card number": cards,
}


def digits_of(text: str) -> str:
    return "".join(str(int(ch)) for ch in text if ch.isdigit())


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=150, deadline=None)
@given(data=st.data(), before=words, after=words, script=st.sampled_from(DIGIT_SCRIPTS))
def test_personal_data_never_survives(kind, data, before, after, script) -> None:
    secret = in_script(data.draw(KINDS[kind], label=kind), script)
    text = f"{before} {secret} {after}".strip()
    redacted, found = redact_personal_data(text)
    assert secret not in redacted
    if before[-1:].isdigit() or after[:1].isdigit():
        # a number next to it ("... 4 times") joins its run of digits: all of it goes,
        # as one number of whatever kind the whole run looks like
        assert "[redacted: " in redacted and found
    else:
        assert f"[redacted: {kind}]" in redacted
        assert kind in found
    # none of its identifying digits are left either (a postcode's or an NI number's
    # few digits may coincide with a word's small number, so compare long runs only)
    secret_digits = digits_of(secret)
    if len(secret_digits) >= 6:
        assert secret_digits not in digits_of(redacted)
    # the words around it are kept
    for word in (before + " " + after).split():
        if not any(ch.isdigit() for ch in word):
            assert word in redacted


@settings(max_examples=300, deadline=None)
@given(comment=words)
@example("The adviser at counter 4 was very helpful, I waited 45 minutes.")
@example("Waited 2 hours 15 minutes at reception; 3 of us in the queue.")
def test_ordinary_comments_are_unchanged(comment: str) -> None:
    assert redact_personal_data(comment) == (comment, frozenset())


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_redacting_twice_changes_nothing_and_only_known_kinds(text: str) -> None:
    once, kinds = redact_personal_data(text)
    assert kinds <= set(PERSONAL_DATA_KINDS)
    assert redact_personal_data(once) == (once, frozenset())
    # every run of six digits or more is gone, whatever it was
    assert not re.search(r"\d(?:[\s().-]{0,2}\d){5,}", once)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ring me on 01865 252233", "ring me on [redacted: phone number]"),
        # 13 digits that happen to pass the Luhn check: the + says it is a phone number
        ("+44 (0)1865 825620", "[redacted: phone number]"),
        ("email hbishop@oxford.gov.uk please", "email [redacted: e-mail address] please"),
        ("jo (at) example (dot) com", "[redacted: e-mail address]"),
        ("my NI is QQ 12 34 56 C", "my NI is [redacted: National Insurance number]"),
        ("I live in OX1 1BX", "I live in [redacted: postcode]"),
        ("born 01/02/1980", "born [redacted: date]"),
        ("council tax account 40012345", "council tax account [redacted: number]"),
        ("see www.example.com/me", "see [redacted: web address]"),
        ("رقمي ٠٧٧٠٠٩٠٠١٢٣ شكرا", "رقمي [redacted: phone number] شكرا"),
        ("see me @ 3pm. Thanks", "see me @ 3pm. Thanks"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert redact_personal_data(text)[0] == expected


def test_an_invented_number_is_not_a_card() -> None:
    # sixteen digits that fail the Luhn check are still taken out, as a number
    text, kinds = redact_personal_data("ref 1234 5678 9012 3456")
    assert text == "ref [redacted: number]" and kinds == {"number"}
