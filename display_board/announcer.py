"""Announcements one after another: a chime, then the call spoken in the visitor's
language and in English. Never two at once; what is said is shown while it is said
(EN 301 549 §5.1.5: the board's caption, through ``on_start``/``on_end``).

Usage (inside a running asyncio loop)::

    announcer = Announcer(AudioMode.SPEECH, ["visitor", "en"], find_player(),
                          on_start=show_caption, on_end=hide_caption)
    task = asyncio.create_task(announcer.run())
    announcer.announce(call)       # returns at once; plays when its turn comes
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from speech.audio import (
    GAP_AFTER_CHIME,
    AudioError,
    chime_wav,
    join_wavs,
    render_speech,
    render_speech_async,
)
from speech.call import Call
from speech.phrases import Utterance, utterances

log = logging.getLogger("walkin.board.announcer")

#: announcements waiting beyond this many are dropped, oldest first: after a long outage
#: a board must not spend minutes reading out calls nobody is waiting for
MAX_BACKLOG = 6


class AudioMode(StrEnum):
    SPEECH = "chime+speech"
    CHIME = "chime"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Announcement:
    call: Call
    utterances: tuple[Utterance, ...] = field(default=())

    @property
    def captions(self) -> list[str]:
        """The sentences shown while they are spoken, in the order spoken."""
        return [u.text for u in self.utterances]


class Player(Protocol):
    async def play(self, wav: bytes) -> None:
        """Play the WAV and return when it has finished."""


class CommandPlayer:
    """Plays through a program that takes a WAV file's path last and exits when done
    (``aplay -q``, ``paplay``, ``pw-play``, sox's ``play -q``)."""

    CANDIDATES: tuple[tuple[str, ...], ...] = (
        ("pw-play",),
        ("paplay",),
        ("aplay", "-q"),
        ("play", "-q"),
    )

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)

    async def play(self, wav: bytes) -> None:
        with tempfile.NamedTemporaryFile(prefix="walkin-board-", suffix=".wav") as f:
            f.write(wav)
            f.flush()
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                f.name,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await process.communicate()
            except asyncio.CancelledError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                raise
            if process.returncode:
                raise AudioError(
                    f"{self.argv[0]} exited {process.returncode}: "
                    f"{err.decode(errors='replace').strip()[:200]}"
                )


def find_player() -> CommandPlayer | None:
    """The first sound player installed, or None."""
    for argv in CommandPlayer.CANDIDATES:
        if shutil.which(argv[0]):
            return CommandPlayer(argv)
    return None


class RecordingPlayer:
    """Writes each WAV it is given to a folder (``0001.wav``, ...) instead of playing
    it: for tests, and for checking a board's sound on a machine without speakers."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.played: list[Path] = []

    async def play(self, wav: bytes) -> None:
        path = self.folder / f"{len(self.played) + 1:04d}.wav"
        path.write_bytes(wav)
        self.played.append(path)


class Announcer:
    """Queues announcements and plays them one at a time.

    ``on_start(announcement)`` is called as one begins (show its captions),
    ``on_end(announcement)`` when it has finished or failed. With ``player=None`` nothing
    is played, but captions are still shown for ``SPEECH``, for ``silent_caption_seconds``.
    """

    def __init__(
        self,
        mode: AudioMode,
        languages: Sequence[str],
        player: Player | None,
        *,
        on_start: Callable[[Announcement], None] = lambda a: None,
        on_end: Callable[[Announcement], None] = lambda a: None,
        render: Callable[[Sequence[Utterance]], Coroutine[Any, Any, bytes]] = render_speech_async,
        max_backlog: int = MAX_BACKLOG,
        silent_caption_seconds: float = 4.0,
    ) -> None:
        self.mode = mode
        self.languages = list(languages)
        self.player = player
        self.on_start = on_start
        self.on_end = on_end
        self.render = render
        self.max_backlog = max_backlog
        self.silent_caption_seconds = silent_caption_seconds
        self._waiting: deque[Announcement] = deque()
        self._wake = asyncio.Event()
        self.playing: Announcement | None = None
        #: how many announcements were dropped because the backlog was full
        self.dropped = 0

    def announce(self, call: Call) -> Announcement | None:
        """Queue a call's announcement; returns it (None when the mode is ``off``)."""
        if self.mode is AudioMode.OFF:
            return None
        said = tuple(utterances(call, self.languages)) if self.mode is AudioMode.SPEECH else ()
        announcement = Announcement(call, said)
        self._waiting.append(announcement)
        while len(self._waiting) > self.max_backlog:
            self._waiting.popleft()
            self.dropped += 1
        self._wake.set()
        return announcement

    @property
    def pending(self) -> int:
        return len(self._waiting) + (self.playing is not None)

    async def run(self) -> None:
        """Play announcements as they come, until cancelled."""
        while True:
            while not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            announcement = self._waiting.popleft()
            self.playing = announcement
            try:
                self.on_start(announcement)
                await self._play(announcement)
            except AudioError as exc:
                log.warning("announcement of %s failed: %s", announcement.call.number, exc)
            finally:
                self.playing = None
                self.on_end(announcement)

    async def _play(self, announcement: Announcement) -> None:
        speech: asyncio.Task[bytes] | None = None
        if announcement.utterances:
            # rendered while the chime plays, so the speech follows it at once
            speech = asyncio.create_task(self.render(announcement.utterances))
        try:
            if self.player is None:
                if speech is not None:
                    await asyncio.sleep(self.silent_caption_seconds)
                return
            await self.player.play(chime_wav())
            if speech is not None:
                await self.player.play(await speech)
        finally:
            if speech is not None and not speech.done():
                speech.cancel()
                with contextlib.suppress(asyncio.CancelledError, AudioError):
                    await speech


def announcement_wav(call: Call, mode: AudioMode, languages: Sequence[str]) -> bytes | None:
    """The whole announcement as one WAV (chime, then speech): what a board plays for
    ``call``, for tests and for listening to a setting. None for ``off``. Blocking."""
    if mode is AudioMode.OFF:
        return None
    if mode is AudioMode.CHIME:
        return chime_wav()
    speech = render_speech(utterances(call, languages))
    return join_wavs([chime_wav(), speech], GAP_AFTER_CHIME)
