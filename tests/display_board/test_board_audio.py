"""Announcements as sound: the chime, espeak-ng speech rendered to WAV (length and level
checked), and the announcer's queue: one at a time, in order, captions while speaking."""

from __future__ import annotations

import asyncio
import math
import shutil
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from display_board.announcer import (
    Announcement,
    Announcer,
    AudioMode,
    RecordingPlayer,
    announcement_wav,
)
from speech.audio import (
    SAMPLE_RATE,
    AudioError,
    chime_wav,
    describe_wav,
    join_wavs,
    render_speech,
    render_speech_async,
    wav_frames,
)
from speech.call import Call
from speech.phrases import Utterance, utterances

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")
TIMEOUT = 10.0


def call(number: str = "H023", language: str = "en", counter: str = "Counter 4") -> Call:
    return Call(f"{number}#0", number, counter, datetime(2026, 11, 24, 10, tzinfo=UTC), 0, language)


def level_at(data: bytes, freq: float, start: float, length: float) -> float:
    """Goertzel: the strength of one frequency in a stretch of the WAV."""
    frames, rate = wav_frames(data)
    samples = array("h")
    samples.frombytes(frames)
    chunk = samples[int(start * rate) : int((start + length) * rate)]
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in chunk:
        s1, s2 = x + coeff * s1 - s2, s1
    return math.sqrt(max(0.0, s1 * s1 + s2 * s2 - coeff * s1 * s2)) / len(chunk)


def test_the_chime_is_two_clean_tones() -> None:
    wav = chime_wav()
    seconds, peak, rms = describe_wav(wav)
    assert 1.2 <= seconds <= 1.4
    assert -9 < peak < -3  # loud enough to hear, no clipping
    assert rms > -30
    # ding (E5) first, then dong (C5)
    assert level_at(wav, 659.25, 0.05, 0.3) > 5 * level_at(wav, 523.25, 0.05, 0.3)
    assert level_at(wav, 523.25, 0.55, 0.3) > level_at(wav, 659.25, 0.55, 0.3)
    frames, rate = wav_frames(wav)
    assert rate == SAMPLE_RATE
    first = array("h")
    first.frombytes(frames[:40])
    assert max(abs(s) for s in first) < 2000  # a soft attack, no click


@needs_espeak
def test_speech_renders_to_a_wav_of_the_right_length() -> None:
    english = render_speech(utterances(call()))
    seconds, peak, rms = describe_wav(english)
    assert 2.5 < seconds < 6.0  # "Ticket H 23, please go to counter 4."
    assert peak > -10 and rms > -35
    both = render_speech(utterances(call(language="pl")))
    assert describe_wav(both)[0] > seconds + 2.5  # Polish, a pause, then English


@needs_espeak
def test_the_whole_announcement_is_the_chime_then_the_speech() -> None:
    whole = announcement_wav(call(), AudioMode.SPEECH, ["visitor", "en"])
    assert whole is not None
    speech = render_speech(utterances(call()))
    assert describe_wav(whole)[0] == pytest.approx(1.3 + 0.3 + describe_wav(speech)[0], abs=0.01)
    assert announcement_wav(call(), AudioMode.CHIME, ["en"]) == chime_wav()
    assert announcement_wav(call(), AudioMode.OFF, ["en"]) is None


@needs_espeak
async def test_speech_renders_without_blocking_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    wav = await render_speech_async(utterances(call(language="cy")))
    task.cancel()
    assert describe_wav(wav)[0] > 4
    # A render that blocked the loop would leave the ticker unrun (0 ticks); two or more
    # show the loop kept turning. No more is asked: on a busy machine each 5 ms sleep
    # stretches, so the count says nothing about speed (it failed at "5 > 5" under load).
    assert ticks >= 2


def test_missing_espeak_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKIN_ESPEAK", "no-such-espeak")
    with pytest.raises(AudioError, match="apt-get install espeak-ng"):
        render_speech(utterances(call()))


def test_wavs_of_different_rates_are_not_joined() -> None:
    from speech.audio import wav_bytes

    with pytest.raises(AudioError):
        join_wavs([wav_bytes(b"\0\0" * 10, 22050), wav_bytes(b"\0\0" * 10, 16000)])


# ---------------------------------------------------------------- the announcer


class SlowPlayer:
    """Plays until the test says so, and notes how many play at once."""

    def __init__(self) -> None:
        self.playing = 0
        self.most_at_once = 0
        self.played: list[bytes] = []
        self.release = asyncio.Queue[None]()
        self.started = asyncio.Queue[bytes]()

    async def play(self, wav: bytes) -> None:
        self.playing += 1
        self.most_at_once = max(self.most_at_once, self.playing)
        self.started.put_nowait(wav)
        try:
            await self.release.get()
            self.played.append(wav)
        finally:
            self.playing -= 1


async def fake_render(said: Sequence[Utterance]) -> bytes:
    return join_wavs([chime_wav()])  # any WAV: the words are checked through the captions


async def test_announcements_queue_and_never_overlap() -> None:
    player = SlowPlayer()
    log: list[tuple[str, str]] = []
    announcer = Announcer(
        AudioMode.SPEECH,
        ["visitor", "en"],
        player,
        render=fake_render,
        on_start=lambda a: log.append(("start", a.call.number)),
        on_end=lambda a: log.append(("end", a.call.number)),
    )
    runner = asyncio.create_task(announcer.run())
    for number in ("H001", "H002", "H003"):
        announcer.announce(call(number))
    for _ in range(6):  # a chime and a sentence each
        await asyncio.wait_for(player.started.get(), TIMEOUT)
        assert player.playing == 1
        player.release.put_nowait(None)
    await asyncio.wait_for(_until(lambda: announcer.pending == 0), TIMEOUT)
    runner.cancel()
    assert player.most_at_once == 1
    assert log == [
        ("start", "H001"),
        ("end", "H001"),
        ("start", "H002"),
        ("end", "H002"),
        ("start", "H003"),
        ("end", "H003"),
    ]


async def test_captions_are_what_is_said() -> None:
    started: list[Announcement] = []
    announcer = Announcer(
        AudioMode.SPEECH, ["visitor", "en"], None, render=fake_render, on_start=started.append
    )
    queued = announcer.announce(call(language="ro"))
    assert queued is not None
    assert queued.captions == [
        "Bonul H 23, vă rugăm să mergeți la ghișeul 4.",
        "Ticket H 23, please go to counter 4.",
    ]


async def test_chime_only_and_off(tmp_path: object) -> None:
    player = SlowPlayer()
    chime_only = Announcer(AudioMode.CHIME, ["visitor", "en"], player, render=fake_render)
    runner = asyncio.create_task(chime_only.run())
    announcement = chime_only.announce(call())
    assert announcement is not None and announcement.captions == []
    assert await asyncio.wait_for(player.started.get(), TIMEOUT) == chime_wav()
    player.release.put_nowait(None)
    await asyncio.wait_for(_until(lambda: chime_only.pending == 0), TIMEOUT)
    runner.cancel()
    assert player.played == [chime_wav()]
    silent = Announcer(AudioMode.OFF, ["en"], player)
    assert silent.announce(call()) is None and silent.pending == 0


async def test_a_long_backlog_drops_the_oldest() -> None:
    announcer = Announcer(AudioMode.CHIME, ["en"], SlowPlayer(), max_backlog=3)
    for i in range(5):
        announcer.announce(call(f"H00{i}"))
    assert announcer.dropped == 2
    assert [a.call.number for a in announcer._waiting] == ["H002", "H003", "H004"]


async def test_a_failed_announcement_does_not_stop_the_next(tmp_path: object) -> None:
    async def broken(said: Sequence[Utterance]) -> bytes:
        raise AudioError("espeak-ng failed")

    ended: list[str] = []
    player = RecordingPlayer(f"{tmp_path}/audio")
    announcer = Announcer(
        AudioMode.SPEECH,
        ["en"],
        player,
        render=broken,
        on_end=lambda a: ended.append(a.call.number),
    )
    runner = asyncio.create_task(announcer.run())
    announcer.announce(call("H001"))
    announcer.announce(call("H002"))
    await asyncio.wait_for(_until(lambda: len(ended) == 2), TIMEOUT)
    runner.cancel()
    assert ended == ["H001", "H002"]
    assert len(player.played) == 2  # each chimed, neither spoke


async def _until(condition: object) -> None:
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0.001)
