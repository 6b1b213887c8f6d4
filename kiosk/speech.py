"""Spoken guidance with espeak-ng, offline, in the visitor's language.

:meth:`Speaker.say` stops whatever is being said and starts the new text; it never
waits. :meth:`Speaker.stop` ends speech at once (the kiosk calls it on every touch:
the visitor has acted, so the guidance is out of date). Speech runs as a process
group of its own, killed whole.

By default espeak-ng plays the sound itself (through PulseAudio or ALSA). With a
``player`` command, espeak-ng writes a WAV to the player's standard input instead,
e.g. ``["aplay", "-q"]`` or ``["paplay"]``; the tests use a player that records.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .i18n import language

log = logging.getLogger("walkin.kiosk")

ESPEAK = "espeak-ng"
#: words per minute: slower than espeak's 175, for visitors who need it spoken
DEFAULT_RATE = 145


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


class Speaker:
    def __init__(
        self,
        *,
        enabled: bool = True,
        player: Sequence[str] | None = None,
        rate: int = DEFAULT_RATE,
    ) -> None:
        self.enabled = enabled and espeak_available()
        if enabled and not self.enabled:
            log.warning("espeak-ng is not installed: no spoken guidance (apt install espeak-ng)")
        self.player = list(player) if player else None
        self.rate = rate
        self._process: subprocess.Popen[bytes] | None = None
        #: what was said, newest last: (language, text); for tests and diagnostics
        self.history: list[tuple[str, str]] = []

    def espeak_command(self, text: str, language_code: str, *, wav: str | None = None) -> list[str]:
        voice = language(language_code).voice
        command = [ESPEAK, "-v", voice, "-s", str(self.rate)]
        if wav == "-":
            command.append("--stdout")
        elif wav:
            command += ["-w", wav]
        return [*command, "--", text]

    def say(self, text: str, language_code: str) -> None:
        """Stop any speech and start saying ``text``; returns at once."""
        self.stop()
        if not self.enabled or not text.strip():
            return
        self.history.append((language_code, text))
        if self.player:
            espeak = self.espeak_command(text, language_code, wav="-")
            pipeline = f"{_quote(espeak)} | {_quote(self.player)}"
            command = ["/bin/sh", "-c", pipeline]
        else:
            command = self.espeak_command(text, language_code)
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, so stop() ends the player too
            )
        except OSError as exc:
            log.warning("could not start speech: %s", exc)
            self._process = None

    @property
    def speaking(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def stop(self) -> None:
        """End speech now (kills espeak-ng and the player)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)

    def render_wav(self, text: str, language_code: str, path: str | Path) -> Path:
        """Speak ``text`` into a WAV file (blocking); for checks and previews."""
        subprocess.run(
            self.espeak_command(text, language_code, wav=str(path)),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        return Path(path)


def _quote(command: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(part) for part in command)
