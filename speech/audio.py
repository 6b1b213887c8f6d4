"""Sound for the boards: a two-tone chime made here (no recorded asset), speech from
espeak-ng (offline), and WAV files joined in pure Python.

Every WAV here is mono, 16-bit, ``SAMPLE_RATE`` Hz: espeak-ng's own format, so joining
needs no resampling. ``AudioError`` is raised when espeak-ng is missing or fails.
"""

from __future__ import annotations

import asyncio
import functools
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from collections.abc import Sequence
from pathlib import Path

from speech.phrases import Utterance

SAMPLE_RATE = 22050
#: espeak-ng words per minute: a little slower than its 175, for a hall with an echo
SPEECH_RATE = 150
GAP_AFTER_CHIME = 0.3
GAP_BETWEEN_LANGUAGES = 0.6
ESPEAK_TIMEOUT = 20.0
#: the board's speech gives way to its screen (render_speech_async)
SPEECH_NICENESS = 10


class AudioError(Exception):
    """Speech could not be made (espeak-ng missing or failing)."""


# ---------------------------------------------------------------- WAV helpers


def wav_bytes(frames: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """Mono 16-bit PCM frames -> a WAV file's bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def wav_frames(data: bytes) -> tuple[bytes, int]:
    """A WAV file's bytes -> (mono 16-bit frames, sample rate); ``AudioError`` otherwise."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise AudioError("expected mono 16-bit WAV")
            return w.readframes(w.getnframes()), w.getframerate()
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a WAV file: {exc}") from None


def silence(seconds: float, rate: int = SAMPLE_RATE) -> bytes:
    return bytes(2 * int(seconds * rate))


def join_wavs(parts: Sequence[bytes], gap: float = 0.0) -> bytes:
    """WAV files one after another with ``gap`` seconds of silence between them."""
    frames: list[bytes] = []
    rate = SAMPLE_RATE
    for i, part in enumerate(parts):
        chunk, part_rate = wav_frames(part)
        if i == 0:
            rate = part_rate
        elif part_rate != rate:
            raise AudioError(f"cannot join WAVs at {rate} Hz and {part_rate} Hz")
        if i and gap:
            frames.append(silence(gap, rate))
        frames.append(chunk)
    return wav_bytes(b"".join(frames), rate)


# ---------------------------------------------------------------- the chime


@functools.lru_cache(maxsize=2)
def chime_wav(rate: int = SAMPLE_RATE) -> bytes:
    """A soft two-tone "ding-dong" (E5 then C5, a major third down), about 1.3 s.

    Each note is a bell-like tone: the fundamental with two quieter partials, a 10 ms
    attack (no click) and an exponential decay. Peak level about -6 dBFS.
    """
    notes = [(659.25, 0.0), (523.25, 0.45)]  # (frequency Hz, start s)
    length = 1.3
    partials = [(1.0, 1.0), (2.0, 0.25), (3.0, 0.08)]  # (multiple, level)
    level = 0.5 / sum(lv for _, lv in partials)
    samples = [0.0] * int(length * rate)
    for freq, start in notes:
        first = int(start * rate)
        for i in range(len(samples) - first):
            t = i / rate
            envelope = min(1.0, t / 0.010) * math.exp(-t / 0.28)
            if t > 0.05 and envelope < 1e-4:
                break
            value = sum(lv * math.sin(2 * math.pi * freq * k * t) for k, lv in partials)
            samples[first + i] += level * envelope * value
    pcm = array("h", (int(max(-1.0, min(1.0, s)) * 32767) for s in samples))
    if pcm.itemsize != 2:  # pragma: no cover - every platform we run on
        raise AudioError("array('h') is not 16-bit here")
    if sys.byteorder == "big":  # pragma: no cover - WAV is little-endian
        pcm.byteswap()
    return wav_bytes(pcm.tobytes(), rate)


# ---------------------------------------------------------------- speech


def espeak_path() -> str:
    """The espeak-ng program, or ``AudioError`` saying how to install it."""
    found = shutil.which(os.environ.get("WALKIN_ESPEAK", "espeak-ng"))
    if not found:
        raise AudioError(
            "espeak-ng is not installed (Debian: apt-get install espeak-ng); "
            "the board can still chime: --audio chime"
        )
    return found


def espeak_command(program: str, utterance: Utterance, out: Path) -> list[str]:
    return [
        program,
        "-v",
        utterance.voice,
        "-s",
        str(SPEECH_RATE),
        "-m",  # SSML: the ticket's letters are said by name
        "-w",
        str(out),
        utterance.ssml,
    ]


def render_speech(utterances: Sequence[Utterance]) -> bytes:
    """The utterances spoken one after another, as one WAV. Blocking (about 80 ms per
    sentence); ``AudioError`` if espeak-ng is missing or fails."""
    program = espeak_path()
    parts = []
    with tempfile.TemporaryDirectory(prefix="walkin-speech-") as tmp:
        for i, utterance in enumerate(utterances):
            out = Path(tmp) / f"{i}.wav"
            try:
                subprocess.run(
                    espeak_command(program, utterance, out),
                    check=True,
                    capture_output=True,
                    timeout=ESPEAK_TIMEOUT,
                )
            except (subprocess.SubprocessError, OSError) as exc:
                raise AudioError(f"espeak-ng failed for {utterance.language}: {exc}") from None
            parts.append(out.read_bytes())
    return join_wavs(parts, GAP_BETWEEN_LANGUAGES)


async def render_speech_async(utterances: Sequence[Utterance]) -> bytes:
    """``render_speech`` without blocking the event loop. espeak-ng runs at a lower
    priority (``nice``): it has the chime's 1.3 s to finish, and on a board without a
    GPU the CPU it would take is the screen's, drawing the next call."""
    program = espeak_path()
    nice = shutil.which("nice")
    lower = [nice, "-n", str(SPEECH_NICENESS)] if nice else []
    parts = []
    with tempfile.TemporaryDirectory(prefix="walkin-speech-") as tmp:
        for i, utterance in enumerate(utterances):
            out = Path(tmp) / f"{i}.wav"
            process = await asyncio.create_subprocess_exec(
                *lower,
                *espeak_command(program, utterance, out),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await asyncio.wait_for(process.communicate(), ESPEAK_TIMEOUT)
            except TimeoutError:
                process.kill()
                raise AudioError(f"espeak-ng took too long for {utterance.language}") from None
            if process.returncode != 0 or not out.exists():
                raise AudioError(
                    f"espeak-ng failed for {utterance.language}: {err.decode(errors='replace')}"
                )
            parts.append(out.read_bytes())
    return join_wavs(parts, GAP_BETWEEN_LANGUAGES)


# ---------------------------------------------------------------- checking a WAV


def describe_wav(data: bytes) -> tuple[float, float, float]:
    """(seconds, peak level in dBFS, RMS level in dBFS) of a mono 16-bit WAV: enough to
    tell an announcement from silence or a click. -inf dBFS for silence."""
    frames, rate = wav_frames(data)
    samples = array("h")
    samples.frombytes(frames)
    if sys.byteorder == "big":  # pragma: no cover
        samples.byteswap()
    if not samples:
        return 0.0, -math.inf, -math.inf
    peak = max(abs(s) for s in samples) / 32768
    rms = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768

    def db(x: float) -> float:
        return 20 * math.log10(x) if x > 0 else -math.inf

    return len(samples) / rate, db(peak), db(rms)
