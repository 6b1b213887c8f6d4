"""The Kivy board screen: ``BoardScreen`` shows a ``BoardView``; layout in board_screen.kv.

Import only after Kivy is configured (``display_board.app`` does it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kivy.clock import Clock, ClockEvent
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.graphics import ClearBuffers, ClearColor, Fbo, Scale, Translate
from kivy.graphics import opengl as gl
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from display_board.calls import BoardView
from display_board.text import BoardText
from speech.board_words import board_words

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto")]
LATIN_FONTS = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
)
ARABIC_FONTS = ("NotoNaskhArabic-Bold.ttf", "NotoNaskhArabic-Regular.ttf")
#: near-black #0b0c0c, drawn as the window's clear colour
BACKGROUND = (0.043, 0.047, 0.047, 1)
#: a new call turns the panel yellow for 0.4 s, twice, 0.3 s apart: well under three
#: flashes a second (WCAG 2.3.1). On and off, not a fade: a fade redraws the whole screen
#: every frame for a second, which without a GPU delays the next call by that much
FLASH_SECONDS = 0.4
FLASH_GAP_SECONDS = 0.3
FLASHES = 2
#: the longest the footer waits after a call (see BoardScreen._hold_footer)
FOOTER_HOLD_SECONDS = 1.0
TICKER_SPEED_UNITS = 12  # scrolling message speed, in units a second


def _find(name: str) -> str | None:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return None


def register_fonts() -> None:
    """``BoardSans`` (DejaVu Sans, or Noto Sans; Kivy's Roboto if neither is installed)
    and ``BoardArabic`` (Noto Naskh Arabic) for Urdu and Arabic captions."""
    for regular, bold in LATIN_FONTS:
        if _find(regular) and _find(bold):
            LabelBase.register("BoardSans", _find(regular), fn_bold=_find(bold))
            break
    else:
        from kivy.core.text import DEFAULT_FONT

        LabelBase.register("BoardSans", DEFAULT_FONT)
    arabic = next((p for p in map(_find, ARABIC_FONTS) if p), None)
    LabelBase.register("BoardArabic", arabic or "BoardSans")


def shaped(text: str, right_to_left: bool) -> str:
    """Right-to-left text in the order SDL2's text renderer draws (it does no shaping)."""
    if not right_to_left:
        return text
    try:
        import arabic_reshaper
        from bidi import get_display
    except ImportError:  # pragma: no cover - both are dependencies
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


class CallRow(BoxLayout):
    unit = NumericProperty(10)
    number = StringProperty("")
    counter = StringProperty("")


class BoardScreen(Widget):
    unit = NumericProperty(10)
    landscape = BooleanProperty(True)
    centre_name = StringProperty("")
    timezone = StringProperty("")
    clock_text = StringProperty("")
    status_text = StringProperty("")
    latest_heading = StringProperty("Now calling")
    latest_number = StringProperty("")
    placeholder = StringProperty("Your number will be shown here")
    latest_counter = StringProperty("")
    ticket_heading = StringProperty("Ticket")
    counter_heading = StringProperty("Counter")
    history = NumericProperty(6)
    flash = NumericProperty(0.0)
    caption_lines = ListProperty([])
    waiting_text = StringProperty("")
    message = StringProperty("")

    def __init__(
        self,
        history: int = 6,
        message: str = "",
        words: dict[str, str] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.message = message
        #: the board's own words in its screen languages (speech.board_words)
        self.words = words or board_words()
        self.placeholder = self.words["placeholder"]
        self.ticket_heading = self.words["ticket"]
        self.counter_heading = self.words["counter"]
        self.latest_heading = self.words["take_a_seat"]
        #: the centre ran offline today (``display_board.offline``): shown in the
        #: header's status place while connected
        self.offline_note = ""
        self._rows: dict[str, CallRow] = {}
        self._footer_drawn: tuple[object, ...] = ()
        self._footer_lines: list[BoardText] = []
        self._ticker: ClockEvent | None = None
        self._flash_steps: list[ClockEvent] = []
        #: after a new call, the footer waits for the flash's next step
        self._footer_held = False
        self._footer_release: ClockEvent | None = None
        use_background(Window)
        self.bind(size=self._resized, message=self._restart_ticker)
        Clock.schedule_interval(self._tick_clock, 1.0)
        self._tick_clock(0)

    # ------------------------------------------------------------ layout

    def _resized(self, *_: object) -> None:
        self.unit = max(1.0, min(self.width, self.height) / 100.0)
        self.landscape = self.width >= self.height
        for row in self._rows.values():
            row.unit = self.unit
        self._restart_ticker()

    def _tick_clock(self, _dt: float) -> None:
        try:
            zone = ZoneInfo(self.timezone) if self.timezone else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        self.clock_text = datetime.now(zone).strftime("%H:%M")

    # ------------------------------------------------------------ content

    def show(self, view: BoardView, show_waiting: bool) -> None:
        """Draw the view: the latest call, the previous ones, waiting counts, status."""
        self.centre_name = view.centre_name
        self.timezone = view.timezone
        if view.connected:
            self.status_text = self.offline_note
        else:
            self.status_text = self.words["reconnecting" if view.centre_name else "connecting"]
        if view.latest is not None:
            if view.latest.number != self.latest_number:
                self._hold_footer()
            self.latest_heading = self.words["now_calling"]
            self.latest_number = view.latest.number
            self.latest_counter = f"\u2192 {view.latest.counter}"
        else:
            self.latest_heading = self.words["take_a_seat"]
            self.latest_number = ""
            self.latest_counter = ""
        self._show_rows([(c.call_id, c.number, c.counter) for c in view.previous])
        if show_waiting and view.waiting:
            parts = [
                f"{view.service_names.get(code, code)} {count}"
                for code, count in view.waiting.items()
                if count
            ]
            listed = "  \u00b7  ".join(parts) or self.words["nobody"]
            self.waiting_text = f"{self.words['waiting']}:  {listed}"
        else:
            self.waiting_text = ""
        self._draw_footer()

    def _show_rows(self, wanted: list[tuple[str, str, str]]) -> None:
        """The previous calls, newest first. A row keeps its widget (and its textures)
        while its call stays listed, and the row that drops off the bottom is re-used for
        the new one at the top: a new call draws one row's text, not every row's."""
        if [key for key, _, _ in wanted] == list(self._rows):
            return
        keys = {key for key, _, _ in wanted}
        spare = [row for key, row in self._rows.items() if key not in keys]
        rows: dict[str, CallRow] = {}
        for key, number, counter in wanted:
            row = self._rows.get(key)
            if row is None:
                row = spare.pop() if spare else CallRow(unit=self.unit)
                row.number, row.counter = number, counter
            rows[key] = row
        box = self.ids.rows
        if list(reversed(box.children)) != list(rows.values()):
            box.clear_widgets()
            for row in rows.values():
                box.add_widget(row)
        self._rows = rows

    def flash_now(self, done: Callable[[], None] = lambda: None) -> None:
        """Highlight the latest call: on at once (in the call's own frame), then off and
        on again (``FLASHES`` times), then off; ``done()`` after that."""
        for step in self._flash_steps:
            step.cancel()
        self._flash_steps = []
        self.flash = 1.0
        at = 0.0
        for n in range(FLASHES):
            at += FLASH_SECONDS
            self._flash_later(0.0, at)
            if n < FLASHES - 1:
                at += FLASH_GAP_SECONDS
                self._flash_later(1.0, at)
        self._flash_steps.append(Clock.schedule_once(lambda _dt: done(), at))

    def _flash_later(self, value: float, at: float) -> None:
        self._flash_steps.append(Clock.schedule_once(lambda _dt: self._flash_step(value), at))

    def _flash_step(self, value: float) -> None:
        self.flash = value
        if self._footer_held:
            self._release_footer()  # in the frame the flash draws anyway

    def set_captions(self, lines: Sequence[tuple[str, bool]]) -> None:
        """Show what is being said: (sentence, right_to_left) per language, or nothing."""
        self.caption_lines = list(lines)
        self._draw_footer()

    def _hold_footer(self) -> None:
        """A new call is shown: the footer (captions, waiting counts) waits for the next
        frame the board draws anyway, the flash going off ``FLASH_SECONDS`` later. So the
        call's own frame renders only the call's text, and the footer costs no frame of
        its own (a frame is 20-25 ms of software GL at 1920x1080, more on a busy CPU).
        When calls come faster than the flash, the footer is drawn once a
        ``FOOTER_HOLD_SECONDS``, before the speech it captions starts (after the chime)."""
        if not self._footer_held:
            self._footer_held = True
            self._footer_release = Clock.schedule_once(self._release_footer, FOOTER_HOLD_SECONDS)

    def _release_footer(self, *_: object) -> None:
        if self._footer_release is not None:
            self._footer_release.cancel()
            self._footer_release = None
        self._footer_held = False
        self._draw_footer()

    def _draw_footer(self) -> None:
        if self._footer_held:
            return  # drawn with the flash's next step (_release_footer)
        drawn = (tuple(map(tuple, self.caption_lines)), self.waiting_text)
        if drawn == self._footer_drawn:
            return
        self._footer_drawn = drawn
        if self.caption_lines:
            lines = [(shaped(text, rtl), rtl) for text, rtl in self.caption_lines]
        elif self.waiting_text:
            lines = [(self.waiting_text, False)]
        else:
            lines = []
        box = self.ids.captions
        while len(self._footer_lines) < len(lines):
            label = BoardText(font_size=self.unit * 4.5)
            self.bind(unit=lambda _w, unit, label=label: setattr(label, "font_size", unit * 4.5))
            self._footer_lines.append(label)
        box.clear_widgets()
        waiting = not self.caption_lines
        for label, (text, rtl) in zip(self._footer_lines, lines, strict=False):
            label.text = text
            label.font_name = "BoardArabic" if rtl else "BoardSans"
            label.halign = "right" if rtl else "left"
            label.color = (0.69, 0.71, 0.71, 1) if waiting else (1, 0.867, 0, 1)
            label.wrap = waiting  # the waiting counts may take a second line
            label.valign = "top" if waiting else "middle"
            box.add_widget(label)

    def export_png(self, path: str) -> None:
        """The board as a PNG (what the screen shows, without the window's rotation)."""
        fbo = Fbo(size=self.size, with_stencilbuffer=True)
        with fbo:
            ClearColor(*BACKGROUND)
            ClearBuffers()
            Scale(1, -1, 1)
            Translate(-self.x, -self.y - self.height, 0)
        parent = self.parent.canvas if self.parent is not None else None
        index = parent.indexof(self.canvas) if parent is not None else -1
        if parent is not None and index > -1:
            parent.remove(self.canvas)
        fbo.add(self.canvas)
        fbo.draw()
        fbo.texture.save(path, flipped=False)
        fbo.remove(self.canvas)
        if parent is not None and index > -1:
            parent.insert(index, self.canvas)

    def _restart_ticker(self, *_: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        label = self.ids.ticker_text
        ticker = self.ids.ticker
        if not self.message:
            return
        label.texture_update()
        label.x = ticker.x
        if label.texture_size[0] > ticker.width:
            label.x = self.right
            self._ticker = Clock.schedule_interval(self._scroll, 1 / 30)

    def _scroll(self, dt: float) -> None:
        label = self.ids.ticker_text
        label.x -= TICKER_SPEED_UNITS * self.unit * dt
        if label.right < self.x:
            label.x = self.right


def blending_off(_instruction: object = None) -> None:
    """For an opaque shape: software GL draws it in less than half the time without blending."""
    gl.glDisable(gl.GL_BLEND)


def blending_on(_instruction: object = None) -> None:
    gl.glEnable(gl.GL_BLEND)  # Kivy draws everything else blended


def use_background(window: Any) -> None:
    """Clear the window to the board's background before each frame, and clear only its
    colour: Kivy also clears the depth and stencil buffers, which the board does not use
    (a screen-sized clear each, a quarter of a frame's time with software GL)."""

    def clear_colour() -> None:
        gl.glClearColor(*BACKGROUND)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)

    window.clearcolor = BACKGROUND
    window.clear = clear_colour


def load_layout() -> None:
    register_fonts()
    Builder.load_file(str(Path(__file__).with_name("board_screen.kv")))
