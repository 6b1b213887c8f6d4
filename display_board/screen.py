"""The Kivy board screen: ``BoardScreen`` shows a ``BoardView``; layout in board_screen.kv.

Import only after Kivy is configured (``display_board.app`` does it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kivy.animation import Animation
from kivy.clock import Clock, ClockEvent
from kivy.core.text import LabelBase
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from display_board.calls import BoardView

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto")]
LATIN_FONTS = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
)
ARABIC_FONTS = ("NotoNaskhArabic-Bold.ttf", "NotoNaskhArabic-Regular.ttf")
#: one slow flash, twice: well under three flashes a second (WCAG 2.3.1)
FLASH_SECONDS = 0.4
FLASHES = 2
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

    def __init__(self, history: int = 6, message: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.message = message
        self._rows: dict[str, CallRow] = {}
        self._footer_drawn: tuple[object, ...] = ()
        self._ticker: ClockEvent | None = None
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
            self.status_text = ""
        else:
            self.status_text = "Reconnecting\u2026" if view.centre_name else "Connecting\u2026"
        if view.latest is not None:
            self.latest_heading = "Now calling"
            self.latest_number = view.latest.number
            self.latest_counter = f"\u2192 {view.latest.counter}"
        else:
            self.latest_heading = "Please take a seat"
            self.latest_number = ""
            self.latest_counter = ""
        self._show_rows([(c.call_id, c.number, c.counter) for c in view.previous])
        if show_waiting and view.waiting:
            parts = [
                f"{view.service_names.get(code, code)} {count}"
                for code, count in view.waiting.items()
                if count
            ]
            self.waiting_text = "Waiting:  " + ("  \u00b7  ".join(parts) or "nobody")
        else:
            self.waiting_text = ""
        self._draw_footer()

    def _show_rows(self, wanted: list[tuple[str, str, str]]) -> None:
        """The previous calls, newest first. A row keeps its widget while its call stays
        listed: re-drawing text is a board's dearest work (a texture upload each, which
        with software GL waits for the frame being drawn), so a new call draws one row."""
        if [key for key, _, _ in wanted] == list(self._rows):
            return
        kept = {key: self._rows[key] for key, _, _ in wanted if key in self._rows}
        box = self.ids.rows
        box.clear_widgets()
        for key, number, counter in wanted:
            row = kept.get(key) or CallRow(unit=self.unit, number=number, counter=counter)
            kept[key] = row
            box.add_widget(row)
        self._rows = {key: kept[key] for key, _, _ in wanted}

    def flash_now(self, done: Callable[[], None] = lambda: None) -> None:
        """A brief highlight of the latest call (two slow pulses); ``done()`` after it."""
        Animation.cancel_all(self, "flash")
        pulse = Animation(flash=1.0, duration=FLASH_SECONDS / 2) + Animation(
            flash=0.0, duration=FLASH_SECONDS / 2
        )
        sequence = pulse
        for _ in range(FLASHES - 1):
            sequence = sequence + Animation(flash=0.0, duration=0.3) + pulse
        self.flash = 0.0
        sequence.bind(on_complete=lambda *_: done())
        sequence.start(self)

    def set_captions(self, lines: Sequence[tuple[str, bool]]) -> None:
        """Show what is being said: (sentence, right_to_left) per language, or nothing."""
        self.caption_lines = list(lines)
        self._draw_footer()

    def _draw_footer(self) -> None:
        # new labels only when the words change: a label's texture costs a frame's time
        drawn = (tuple(map(tuple, self.caption_lines)), self.waiting_text, self.unit)
        if drawn == self._footer_drawn:
            return
        self._footer_drawn = drawn
        box = self.ids.captions
        box.clear_widgets()
        if not self.caption_lines:
            if self.waiting_text:  # may wrap onto a second line
                box.add_widget(self._footer_label(self.waiting_text, False, (0.69, 0.71, 0.71, 1)))
                box.children[0].shorten = False
                box.children[0].valign = "top"
            return
        for text, rtl in self.caption_lines:
            box.add_widget(self._footer_label(shaped(text, rtl), rtl, (1, 0.867, 0, 1)))

    def _footer_label(self, text: str, rtl: bool, colour: tuple[float, ...]) -> Label:
        label = Label(
            text=text,
            font_name="BoardArabic" if rtl else "BoardSans",
            font_size=self.unit * 4.5,
            color=colour,
            halign="right" if rtl else "left",
            valign="middle",
            shorten=True,
            shorten_from="right",
        )
        label.bind(size=lambda w, size: setattr(w, "text_size", size))
        return label

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
            label.x = ticker.right
            self._ticker = Clock.schedule_interval(self._scroll, 1 / 30)

    def _scroll(self, dt: float) -> None:
        label = self.ids.ticker_text
        ticker = self.ids.ticker
        label.x -= TICKER_SPEED_UNITS * self.unit * dt
        if label.right < ticker.x:
            label.x = ticker.right


def load_layout() -> None:
    register_fonts()
    Builder.load_file(str(Path(__file__).with_name("board_screen.kv")))
