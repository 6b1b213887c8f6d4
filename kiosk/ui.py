"""The Kivy app: the window, the theme, the visitor's language and settings, and the
parts the controller drives (server link, printer, speaker, scanner).

Concurrency: one thread runs both Kivy and asyncio. ``main`` runs
``app.async_run(async_lib="asyncio")``, so Kivy's frame loop is a coroutine on the
same asyncio loop as the :class:`QueueClient`; a reply to a request lands on the UI
thread and may touch widgets directly. Only blocking device work leaves the loop:
printing (``asyncio.to_thread``), the scanner (a reader thread that posts codes back
with ``call_soon_threadsafe``) and espeak-ng (a child process). The tests drive the
same app embedded: they add its root to the window and pump ``EventLoop.idle()``
between awaits on the test's own loop.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)

from . import theme
from .app import KioskOptions
from .controller import KioskController
from .i18n import Translator, language, translator
from .journal import OfflineJournal
from .link import ServerLink
from .offline import OfflineSync
from .printing import TicketPrinter
from .scanning import ScannerReader
from .speech import Speaker
from .text import register_fonts

log = logging.getLogger("walkin.kiosk")

KV_DIR = Path(__file__).resolve().parent / "kv"
KV_FILES = (
    "widgets.kv",
    "welcome.kv",
    "services.kv",
    "online.kv",
    "checkin.kv",
    "confirm.kv",
    "messages.kv",
    "here.kv",
    "assistance.kv",
)


def load_kv() -> None:
    """Load the kiosk's .kv rules once per process (a second load would double them)."""
    if getattr(load_kv, "done", False):
        return
    register_fonts()
    from . import assistance, screens, widgets  # noqa: F401 - the classes the rules refer to

    for name in KV_FILES:
        Builder.load_file(str(KV_DIR / name))
    load_kv.done = True  # type: ignore[attr-defined]


class KioskApp(App):
    # -- the visitor's choices (reset for every visitor) --------------------------------
    language = StringProperty("en")
    rtl = BooleanProperty(False)
    large_text = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    speech_on = BooleanProperty(True)

    # -- looks -------------------------------------------------------------------------
    colours = DictProperty(theme.STANDARD)
    ui_scale = NumericProperty(1.0)
    portrait = BooleanProperty(False)
    fs_small = NumericProperty(30)
    fs = NumericProperty(38)
    fs_button = NumericProperty(42)
    fs_title = NumericProperty(60)
    fs_number = NumericProperty(230)
    fs_icon = NumericProperty(64)
    min_touch = NumericProperty(110)
    pad = NumericProperty(20)
    border_width = NumericProperty(2)

    # -- what the screens show -----------------------------------------------------------
    centre_name = StringProperty("")
    controller = ObjectProperty(None, allownone=True)

    def __init__(
        self,
        options: KioskOptions,
        *,
        speaker: Speaker | None = None,
        printer: TicketPrinter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.title = "Walkin kiosk"
        self.language = options.language_default
        self.speech_on = options.speech
        self.speaker = speaker or Speaker(
            enabled=options.speech, player=options.speech_player or None
        )
        self.printer = printer
        if self.printer is None and options.printer:
            self.printer = TicketPrinter(
                options.printer,
                journal_path=options.print_journal,
                monitor_every=options.printer_monitor_every,
            )
        self._stopped = False
        self.link: ServerLink | None = None
        #: issuing through an outage, with ``--offline-journal`` (``kiosk.offline``)
        self.offline: OfflineSync | None = None
        self.scanner: ScannerReader | None = None
        self._keys = ""

    # -- Kivy lifecycle ----------------------------------------------------------------

    def build(self) -> Any:
        load_kv()
        from .screens import KioskRoot

        root = KioskRoot()
        self.controller = KioskController(self, root)
        Window.clearcolor = self.colours["bg"]
        Window.bind(size=self._on_window_size, on_key_down=self._on_key)
        self._on_window_size(Window, Window.size)
        self.bind(large_text=self._resize, high_contrast=self._recolour, language=self._relanguage)
        self._relanguage(self, self.language)
        return root

    def on_start(self) -> None:
        loop = asyncio.get_running_loop()
        self.link = ServerLink(
            self.options.server, self.options.token, on_change=self._on_link_change
        )
        self.link.start()
        if self.options.offline_journal:
            self.offline = OfflineSync(self.link, OfflineJournal(self.options.offline_journal))
            self.offline.start()
        if self.printer is not None:
            self.printer.report_to(self.link, loop)
        if self.options.scanner:
            self.scanner = ScannerReader(self.options.scanner, self._on_scan, loop).start()
        self.controller.start()

    def on_stop(self) -> None:
        self.speaker.stop()
        if self.controller is not None:
            self.controller.stop()
        if self.scanner is not None:
            self.scanner.stop()
        if self.printer is not None:
            self.printer.close()
        Window.unbind(size=self._on_window_size, on_key_down=self._on_key)

    async def close_async(self) -> None:
        """Stop and wait for the server link to close (tests; ``on_stop`` cannot await).

        Dispatches ``on_stop`` as an event: Kivy's ``app`` in .kv rules caches the
        running app until that event, so a method call would leave it pointing here."""
        if not self._stopped:
            self._stopped = True
            self.dispatch("on_stop")
        if self.offline is not None:
            await self.offline.close()
            self.offline.journal.close()
            self.offline = None
        if self.link is not None:
            await self.link.close()

    # -- wording -----------------------------------------------------------------------

    def tr(self, message: str, *_depends: object, **values: object) -> str:
        """``message`` in the visitor's language. In .kv: ``app.tr("Back", app.language)``
        (naming ``app.language`` makes Kivy redo the text when the language changes)."""
        return translator(self.language)(message, **values)

    @property
    def t(self) -> Translator:
        return translator(self.language)

    def _relanguage(self, _app: object, code: str) -> None:
        self.rtl = language(code).rtl

    # -- looks -------------------------------------------------------------------------

    def button_colours(self, kind: str, state: str, *_depends: object) -> tuple[Any, Any, Any]:
        return theme.button_colours(kind, state == "down", self.high_contrast)

    def _recolour(self, *_args: object) -> None:
        self.colours = dict(theme.palette(self.high_contrast))
        self.border_width = 4 if self.high_contrast else 2
        Window.clearcolor = self.colours["bg"]

    def _on_window_size(self, _window: object, size: tuple[int, int]) -> None:
        width, height = size
        self.portrait = height > width
        self.ui_scale = max(0.4, min(width, height) / 1080)
        self._resize()

    def _resize(self, *_args: object) -> None:
        factor = self.ui_scale * (theme.LARGE if self.large_text else 1.0)
        # ``fs`` first: every ``Text`` has the rule ``font_size: app.fs`` and a text with
        # a size of its own (``app.fs_small``, ...) keeps that binding too (Kivy leaves a
        # class rule's binding in place under an instance's), so whichever is set last
        # wins; set after ``fs_small``, ``fs`` turned every small text into body text at
        # the first change of text size (a screen built after it had it right)
        for name, value in sorted(theme.BASE_SIZES.items(), key=lambda item: item[0] != "fs"):
            scale = self.ui_scale if name in ("pad", "fs_number") else factor
            setattr(self, name, round(value * scale))

    # -- events from outside the widgets -------------------------------------------------

    def _on_link_change(self) -> None:
        if self.link is not None and self.link.centre is not None:
            self.centre_name = self.link.centre.name
        if self.controller is not None:
            self.controller.link_changed()

    def _on_scan(self, code: str) -> None:
        if self.controller is not None:
            self.controller.scanned(code)

    def _on_key(self, _window: object, key: int, _scancode: int, text: str | None, *_: Any) -> bool:
        """A USB keyboard-wedge scanner types the code (a reference, a status page's
        address) and presses Enter."""
        if key in (13, 271):  # Enter, keypad Enter
            code, self._keys = self._keys, ""
            if code:
                self._on_scan(code)
            return True
        if text and text.isprintable():
            self._keys = (self._keys + text)[-256:]
        return False


def schedule(callback: Any, delay: float = 0) -> None:
    Clock.schedule_once(lambda _dt: callback(), delay)
