"""The kiosk's tests run the real Kivy app, offscreen, against a real queue server
(the ``live`` fixtures) and the printer simulator.

Kivy is configured here, before anything imports it: SDL's offscreen video driver
(no display needed), a throwaway KIVY_HOME, no frame-rate cap. One window serves the
whole session; each test builds a fresh app on it (``kiosk`` fixture) and drives it
through :class:`KioskHarness`: real touches (``UnitTestTouch``) at a button's place
on screen, and the Kivy clock pumped (``EventLoop.idle()``) between awaits on the
test's own asyncio loop, where the server, the app's client and the app all run,
until a condition holds or a deadline passes. No sleeps stand in for synchronisation.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import PORTRAIT, configure_kivy

#: this process's own (each parallel worker has one), removed when it exits
KIVY_HOME = tempfile.mkdtemp(prefix="walkin-kivy-test-")
atexit.register(shutil.rmtree, KIVY_HOME, ignore_errors=True)
configure_kivy(
    fullscreen=False,
    portrait=True,
    offscreen=True,
    kivy_home=KIVY_HOME,
    max_fps=0,
)

from kivy.app import App  # noqa: E402
from kivy.base import EventLoop  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402

from device_drivers.simulator import PrinterSimulator  # noqa: E402
from kiosk.app import KioskOptions  # noqa: E402
from kiosk.printing import TicketPrinter  # noqa: E402
from kiosk.speech import Speaker  # noqa: E402
from kiosk.ui import KioskApp  # noqa: E402

#: behaviour tests run in a half-size portrait window (the layout scales): a quarter
#: of the pixels to draw each frame; the screenshots use the full 1080 x 1920
SMALL = (PORTRAIT[0] // 2, PORTRAIT[1] // 2)


class FakeClock:
    """Monotonic seconds the test moves by hand (for the idle timeout)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class KioskHarness:
    def __init__(self, app: KioskApp, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock
        self._saving: list[asyncio.Future[None]] = []

    # -- the clock ---------------------------------------------------------------------

    async def pump(self, frames: int = 1) -> None:
        for _ in range(frames):
            EventLoop.idle()
            await asyncio.sleep(0.002)

    async def until(self, condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = condition()
            if result:
                return result
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            await self.pump()

    # -- looking -----------------------------------------------------------------------

    @property
    def controller(self) -> Any:
        return self.app.controller

    @property
    def screen(self) -> str:
        return str(self.app.root.current)

    def current(self) -> Any:
        return self.app.root.current_screen

    def widgets(self, root: Any = None) -> Iterator[Any]:
        stack = [root or self.current()]
        while stack:
            widget = stack.pop()
            yield widget
            stack.extend(widget.children)

    def button(self, value: str) -> Any:
        """The button (BigButton or Toggle) with ``value`` on the current screen."""
        found = [
            w
            for w in self.widgets()
            if getattr(w, "value", None) == value and hasattr(w, "trigger_action")
        ]
        assert found, f"no button {value!r} on screen {self.screen}"
        return found[0]

    def texts(self) -> list[str]:
        return [
            w.text for w in self.widgets() if getattr(w, "text", "") and hasattr(w, "texture_size")
        ]

    async def wait_screen(self, name: str, timeout: float = 10.0) -> None:
        await self.until(
            lambda: self.screen == name, f"screen {name!r} (on {self.screen!r})", timeout
        )
        await self.pump()

    # -- touching ----------------------------------------------------------------------

    async def tap(self, value: str, *, settle: bool = True) -> None:
        """Touch the button ``value`` at its place on screen, as a finger would."""
        await self.pump(2)  # let a screen that just appeared lay itself out
        button = self.button(value)
        x, y = button.to_window(*button.center)
        assert 0 <= x < Window.width and 0 <= y < Window.height, f"{value!r} is off screen"
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        # Kivy keeps a button "down" for min_state_time and releases it from the clock;
        # on a machine busy with the rest of the suite that clock can run seconds late
        # (a 2 s wait here once failed in CI), so wait as long as any other condition
        await self.until(lambda: button.state == "normal", f"{value!r} to be released")
        if settle:
            await self.pump(2)

    def press(self, button: Any, times: int = 1) -> None:
        """Presses dispatched straight to ``button`` (a widget, or a value on this screen),
        with no frame between them: a double tap arrives faster than the screen changes."""
        if isinstance(button, str):
            button = self.button(button)
        for _ in range(times):
            button.dispatch("on_press")
            button.dispatch("on_release")

    async def type(self, text: str) -> None:
        for key in text:
            await self.tap(key)

    async def screenshot(self, path: Path, *, final: bool = False) -> Path:
        """The window as a PNG. ``final`` pictures (for docs/) are made small to commit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.pump(2)
        from PIL import Image

        # Drawn into a framebuffer of the root's own size: after a resize, SDL's offscreen
        # window keeps its first framebuffer, so reading the window would be wrong.
        texture = self.app.root.export_as_image().texture
        picture = Image.frombytes("RGBA", texture.size, bytes(texture.pixels)).convert("RGB")

        def save() -> None:
            if final:  # a palette keeps committed screenshots small; the UI has few colours
                picture.quantize(colors=128).save(path, optimize=True)
            else:
                picture.save(path, compress_level=1)

        # encoding runs on a worker thread while the test goes on to the next screen
        self._saving.append(asyncio.get_running_loop().run_in_executor(None, save))
        return path

    async def saved(self) -> None:
        """Wait until every screenshot is written."""
        saving, self._saving = self._saving, []
        await asyncio.gather(*saving)


@pytest.fixture
def setup(setup: Any) -> Any:
    """The demo centre without its ``[[assistance]]`` categories: the kiosk then goes
    from the service straight to the ticket, as these tests expect. The question for
    help has its own tests (test_kiosk_assistance.py), on the demo centre as it is."""
    return dataclasses.replace(setup, assistance=())


@pytest.fixture(scope="session")
def kiosk_window() -> Any:
    EventLoop.ensure_window()
    return Window


@pytest.fixture
def printer_sim(tmp_path: Path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path / "printouts", control=("127.0.0.1", 0)) as sim:
        yield sim


@pytest.fixture
def printer_url(printer_sim: PrinterSimulator) -> str:
    assert printer_sim.tcp_address is not None
    host, port = printer_sim.tcp_address
    return f"tcp://{host}:{port}"


def kiosk_options(server: str, token: str, printer: str | None, **extra: Any) -> KioskOptions:
    """Options for a test kiosk: windowed, silent unless ``speech=True``, no status polling."""
    defaults: dict[str, Any] = {"fullscreen": False, "portrait": True, "speech": False}
    return KioskOptions(
        server=server, token=token, printer=printer, printer_monitor_every=0, **(defaults | extra)
    )


async def start_kiosk(
    kiosk_window: Any,
    options: KioskOptions,
    *,
    speaker: Speaker | None = None,
    size: tuple[int, int] = SMALL,
    wait_online: bool = True,
) -> KioskHarness:
    kiosk_window.size = size
    clock = FakeClock()
    printer = (
        TicketPrinter(options.printer, monitor_every=options.printer_monitor_every)
        if options.printer
        else None
    )
    app = KioskApp(options, speaker=speaker or Speaker(enabled=False), printer=printer)
    root = app.build()
    app.root = root
    app.controller.clock = clock
    kiosk_window.add_widget(root)
    app.dispatch("on_start")
    harness = KioskHarness(app, clock)
    if wait_online:
        await harness.until(
            lambda: app.link.online and app.link.centre is not None, "the kiosk to connect"
        )
        await harness.until(lambda: harness.screen == "welcome", "the welcome screen")
        app.controller.reset()
    await harness.pump(2)
    return harness


async def stop_kiosk(harness: KioskHarness, kiosk_window: Any) -> None:
    await harness.app.close_async()
    kiosk_window.remove_widget(harness.app.root)
    App._running_app = None  # noqa: SLF001 - the app ran embedded; let the next one run


@pytest.fixture
async def kiosk(live: Any, printer_url: str, kiosk_window: Any) -> AsyncIterator[KioskHarness]:
    """The kiosk app on the live demo-centre server (open all day) and the simulator,
    full size (the screenshots use it)."""
    harness = await start_kiosk(
        kiosk_window, kiosk_options(live.url, live.kiosk_token, printer_url), size=PORTRAIT
    )
    yield harness
    await stop_kiosk(harness, kiosk_window)


@pytest.fixture
async def start_kiosk_app(kiosk_window: Any) -> AsyncIterator[Callable[..., Any]]:
    """``await start_kiosk_app(server_url, token, printer_url, **options)`` -> a harness;
    every kiosk started is stopped at the end of the test."""
    started: list[KioskHarness] = []

    async def start(
        server: str,
        token: str,
        printer: str | None,
        *,
        speaker: Speaker | None = None,
        size: tuple[int, int] = SMALL,
        wait_online: bool = True,
        **extra: Any,
    ) -> KioskHarness:
        harness = await start_kiosk(
            kiosk_window,
            kiosk_options(server, token, printer, **extra),
            speaker=speaker,
            size=size,
            wait_online=wait_online,
        )
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await stop_kiosk(harness, kiosk_window)
