"""The display board: what the hall sees and hears when a counter calls a ticket.

- :mod:`display_board.calls` — what the board shows and which calls it announces, from
  the server's pushes (no I/O; the web board's ``board-state.js`` follows the same rules,
  and one table of scenarios in the tests checks both).
- :mod:`speech.phrases` — the words spoken and shown for a call, per language.
- :mod:`speech.audio` — the chime, espeak-ng speech, WAV files.
- :mod:`display_board.announcer` — announcements one after another, never overlapping.
- :mod:`display_board.app` — ``walkin board``: the Kivy full-screen board.

docs/boards.md describes the boards for the people who set them up.
"""
