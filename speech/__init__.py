"""Speech and sound shared by the display boards, the web board the queue server serves,
and anything else that announces a call. None of them owns it, so none imports upward.

- :mod:`speech.call` — a call as it is announced (number, counter, language).
- :mod:`speech.phrases` — the words spoken and shown for a call, per language.
- :mod:`speech.audio` — the chime, espeak-ng speech, WAV files.
"""
