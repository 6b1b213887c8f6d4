"""Spoken guidance: espeak-ng speaks every shipped language offline; each screen is read
out, the ticket number and next step are spoken, and a touch stops the speech."""

from __future__ import annotations

import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.i18n import Translator, shipped_languages
from kiosk.speech import Speaker, espeak_available
from speech.call import Call
from speech.phrases import spoken_number, utterance

pytestmark = pytest.mark.skipif(
    not espeak_available(), reason="espeak-ng is not installed (Debian espeak-ng)"
)


def _audio_seconds(path: Path) -> float:
    with wave.open(str(path)) as sound:
        frames = sound.readframes(sound.getnframes())
        assert any(frames), f"{path.name} is silence"
        return sound.getnframes() / sound.getframerate()


@pytest.mark.parametrize("language", shipped_languages())
def test_every_language_is_spoken(language: str, tmp_path: Path) -> None:
    t = Translator(language)
    text = f"{t('Your number is')} H 1. {t('Please take your ticket from the printer.')}"
    seconds = _audio_seconds(Speaker().render_wav(text, language, tmp_path / f"{language}.wav"))
    assert seconds > 1.5  # a sentence, not a click


class RecordingPlayer:
    """A speech player that keeps the audio and then 'plays' it for half a minute."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.command = ["/bin/sh", "-c", f"cat > '{path}'; sleep 30"]


async def test_screens_are_read_out_and_a_touch_stops_speech(
    live, printer_url, start_kiosk_app, tmp_path: Path
) -> None:
    player = RecordingPlayer(tmp_path / "spoken.wav")
    speaker = Speaker(player=player.command)
    kiosk = await start_kiosk_app(
        live.url, live.kiosk_token, printer_url, speaker=speaker, speech=True
    )
    await kiosk.tap("cy")
    await kiosk.wait_screen("services")
    language, said = speaker.history[-1]
    assert language == "cy" and said.startswith("Gyda beth sydd angen help arnoch chi?")
    assert "Tai a budd-daliadau" in said  # the services are read out
    await kiosk.until(lambda: player.path.exists() and player.path.stat().st_size > 10_000, "audio")
    assert speaker.speaking
    process = speaker.process

    await kiosk.tap("large_text")  # the visitor acts: speech stops at once ...
    assert process.poll() is not None
    _audio_seconds(player.path)
    # ... and the screen, changed by the touch, is read again in its new state
    assert speaker.history[-1][1].startswith("Gyda beth")

    speaker.stop()
    await kiosk.tap("housing")
    await kiosk.wait_screen("confirm")
    said = speaker.history[-1][1]
    number = kiosk.controller.visit.ticket["ticket"]["number"]
    # said as the board says it when the number is called: "H 1", not "H 0 0 1"
    assert said.startswith(f"Eich rhif yw {spoken_number(number)}.")
    call = Call("c", number, "Counter 1", datetime.now(UTC), language="cy")
    assert spoken_number(number) in utterance(call, "cy").text
    assert "Cymerwch sedd." in said  # the next step


async def test_no_speech_when_turned_off(
    live, printer_url, start_kiosk_app, tmp_path: Path
) -> None:
    speaker = Speaker(player=RecordingPlayer(tmp_path / "x.wav").command)
    kiosk = await start_kiosk_app(
        live.url, live.kiosk_token, printer_url, speaker=speaker, speech=True
    )
    await kiosk.tap("speech")  # "Read aloud" off
    assert not speaker.speaking
    heard = len(speaker.history)
    await kiosk.tap("en")
    assert len(speaker.history) == heard and not speaker.speaking
