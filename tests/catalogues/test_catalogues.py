"""The shared catalogues: every phrase marked in the sources is translated in every
language shipped, placeholders agree, and the printed ticket's wording comes from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from catalogues import shipped_languages, translator
from catalogues.maintenance import DOMAINS, main, problems, source_messages
from device_drivers.translations import ENGLISH, SUPPORTED_LANGUAGES, labels_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_marked_phrase_is_translated_in_every_language(domain: str) -> None:
    assert len(source_messages(domain)) > 0, f"no phrases marked for {domain!r}"
    found = [p for code in shipped_languages(domain)[1:] for p in problems(domain, code)]
    assert found == []


def test_the_check_command_says_so() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "catalogues", "check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all catalogues complete" in done.stdout
    assert main(["check", "no-such-domain"]) == 2


def test_the_printed_ticket_speaks_every_language_the_kiosk_offers() -> None:
    from kiosk.i18n import shipped_languages as kiosk_languages

    assert set(kiosk_languages()) <= set(SUPPORTED_LANGUAGES)


def test_printed_wording_comes_from_the_ticket_catalogue() -> None:
    polish = labels_for("pl-PL")
    assert polish.your_number == translator("ticket", "pl")("Your number") != "Your number"
    assert polish.people_ahead.format(n=3) != ENGLISH.people_ahead.format(n=3)
    assert labels_for("ur").right_to_left and labels_for("ar").right_to_left
    assert not labels_for("cy").right_to_left
    assert labels_for("xx") == ENGLISH
