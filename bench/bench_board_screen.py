"""Call-to-screen latency of the two display boards: the Kivy board and the web board.

Run (from the repository root)::

    .venv/bin/python bench/bench_board_screen.py --calls 300

A queue server in its own process (this script with ``--serve``: ``QueueServer`` plus
the board pages, on a new SQLite file, the demo centre always open); the Kivy board in
its own process (``python -m display_board``, offscreen SDL, Mesa's software GL, its
announcements rendered by espeak-ng and written to WAV files as a speaker would play
them); the web board in Debian's headless Chromium (sound switched on with one click,
so it fetches each spoken announcement from the server as a TV would). An adviser at
Counter 1 repeats ``call_next`` -> (both boards have drawn it) -> ``start_service``
-> ``complete``.

Latency is from just before the adviser sends ``call_next`` to the frame that draws the
call: for Kivy, the first ``Window.on_flip`` after the screen took the call, once OpenGL
has finished drawing that frame (its ``--trace``; offscreen, the board waits for each
frame with ``glFinish``, as a screen's buffer swap would: SDL's offscreen swap does not,
and Mesa's llvmpipe would otherwise draw the frame later); for the web board, the
``requestAnimationFrame`` after the DOM took it (``window.walkinBoard.trace``; that is
before Chromium paints the frame). Both are wall-clock times (``time.time()``,
``performance.timeOrigin + performance.now()``) on one machine.

``--message TEXT`` adds the Kivy board's scrolling message, which redraws the whole
screen 30 times a second; ``--show-waiting`` its waiting counts; ``--kivy-only`` leaves
the web board (and Chromium's CPU) out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    CpuMeter,
    always_open_config,
    free_port,
    latency_summary_ms,
    machine_summary,
    markdown_table,
)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark adviser password"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TARGET_P99_MS = 300.0
SHOWN_AT = "(n) => (walkinBoard.trace.find((e) => e.event === 'shown' && e.number === n) || {}).t"
WAIT = 20.0


# ---------------------------------------------------------------- the server process


async def serve(folder: Path, port: int) -> None:
    """``--serve``: a queue server with the board pages; prints its tokens as JSON."""
    from queue_server.config import load_config
    from queue_server.net.auth import hash_password
    from queue_server.net.server import QueueServer
    from queue_server.store import Store
    from queue_server.web import install_routes

    setup = load_config(always_open_config(folder)).to_setup()
    store = Store(f"sqlite:///{folder / 'walkin.db'}")
    store.migrate()
    store.register_centre(setup)
    tokens = {
        "board": store.enroll_device(setup.centre_id, "board", "bench board"),
        "kiosk": store.enroll_device(setup.centre_id, "kiosk", "bench kiosk"),
    }
    store.add_staff(setup.centre_id, "alice", "counter", hash_password(PASSWORD))
    server = QueueServer(setup, store)
    install_routes(server)
    await server.start(port=port)
    print(json.dumps(tokens), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.close()


# ---------------------------------------------------------------- the boards


class KivyTrace:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.shown: dict[str, float] = {}
        #: when the board took the call's push (its websocket read it)
        self.received: dict[str, float] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            event = json.loads(line)
            if event["event"] == "shown":
                self.shown.setdefault(event["number"], event["t"])
                self.received.setdefault(event["number"], event["received"])
            elif event["event"] == "snapshot":
                self.shown.setdefault("<snapshot>", event["t"])


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Chromium's renderer and GPU processes)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def children_jiffies(pids: list[int]) -> int:
    """CPU clock ticks of the finished children of ``pids`` (espeak-ng, run by the server
    for the web board and by the Kivy board): ``CpuMeter`` counts them as everything else."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[13]) + int(fields[14])  # cutime + cstime
    return total


def jiffies_as_percent(ticks: int, seconds: float) -> float:
    return ticks / os.sysconf("SC_CLK_TCK") / max(seconds, 1e-9) * 100


async def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def run(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    from queue_server.client import QueueClient, new_idempotency_key

    folder = Path(tempfile.mkdtemp(prefix="walkin-bench-board-"))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=(folder / "server.log").open("wb"),
        cwd=ROOT,
    )
    assert server.stdout is not None
    tokens = json.loads(server.stdout.readline())
    url = f"ws://127.0.0.1:{port}/ws"
    trace = KivyTrace(folder / "kivy-trace.jsonl")
    env = dict(
        os.environ,
        SDL_VIDEODRIVER="offscreen",
        SDL_AUDIODRIVER="dummy",
        KIVY_HOME=str(folder / "kivy-home"),
        KIVY_NO_ARGS="1",
    )
    kivy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "display_board",
            "--server",
            url,
            "--token",
            tokens["board"],
            "--size",
            args.size,
            "--trace",
            str(trace.path),
            "--audio",
            args.audio,
            "--record-audio",
            str(folder / "audio"),
            *(["--message", args.message] if args.message else []),
            *(["--show-waiting"] if args.show_waiting else []),
        ],
        env=env,
        stdout=(folder / "kivy.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    kivy_ms: list[float] = []
    kivy_push_ms: list[float] = []  # call_next sent -> the board has the push
    kivy_draw_ms: list[float] = []  # the board has the push -> the frame is drawn
    web_ms: list[float] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            page: Any = None
            if not args.kivy_only:
                playwright = await stack.enter_async_context(async_playwright())
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                stack.push_async_callback(browser.close)
                page = await browser.new_page(viewport={"width": 1920, "height": 1080})
                await page.goto(
                    f"http://127.0.0.1:{port}/board?audio={args.audio}#token={tokens['board']}"
                )
                await page.wait_for_function(
                    "() => window.walkinBoard"
                    " && walkinBoard.trace.some((e) => e.event === 'snapshot')"
                )
                if args.audio != "off":
                    await page.click("#enable-sound")

            async def kivy_ready() -> bool:
                trace.poll()
                return "<snapshot>" in trace.shown

            await wait_until(kivy_ready, "the Kivy board")
            kiosk = await QueueClient(url, token=tokens["kiosk"]).connect()
            adviser = await QueueClient(url, username="alice", password=PASSWORD).connect()
            await adviser.request("sign_in_counter", counter="Counter 1")
            await adviser.request("open_counter", counter="Counter 1")
            meter = CpuMeter().start()
            speech_ticks = children_jiffies([server.pid, kivy.pid])
            started = time.monotonic()
            meter.add(server.pid, "server")
            meter.add(kivy.pid, "Kivy board")
            for pid in descendants(os.getpid()):
                if pid not in (server.pid, kivy.pid):
                    meter.add(pid, "Chromium")
            numbers = []
            for _ in range(args.calls):
                reply = await kiosk.request(
                    "issue_ticket",
                    service="housing",
                    language=args.language,
                    idempotency_key=new_idempotency_key(),
                )
                numbers.append(reply["ticket"]["number"])
            for number in numbers:
                sent = time.time()
                reply = await adviser.request("call_next", counter="Counter 1")
                assert reply["ticket"]["number"] == number

                async def web_shown(number: str = number, sent: float = sent) -> bool:
                    t = await page.evaluate(SHOWN_AT, number)
                    if t is None:
                        return False
                    web_ms.append(t / 1000 - sent)
                    return True

                async def kivy_shown(number: str = number, sent: float = sent) -> bool:
                    trace.poll()
                    if number not in trace.shown:
                        return False
                    kivy_ms.append(trace.shown[number] - sent)
                    kivy_push_ms.append(trace.received[number] - sent)
                    kivy_draw_ms.append(trace.shown[number] - trace.received[number])
                    return True

                if page is not None:
                    await wait_until(web_shown, f"{number} on the web board")
                await wait_until(kivy_shown, f"{number} on the Kivy board")
                await adviser.request("start_service", counter="Counter 1")
                await adviser.request("complete", counter="Counter 1", outcome="resolved")
            meter.stop()
            speech_share = jiffies_as_percent(
                children_jiffies([server.pid, kivy.pid]) - speech_ticks,
                time.monotonic() - started,
            )
            await adviser.close()
            await kiosk.close()
    finally:
        kivy.send_signal(signal.SIGTERM)
        kivy.wait(15)
        server.send_signal(signal.SIGTERM)
        server.wait(15)

    rows = []
    boards = [
        ("Kivy board (offscreen, llvmpipe)", kivy_ms),
        ("… of which: call_next to the board taking the push", kivy_push_ms),
        ("… of which: the push to the frame drawn", kivy_draw_ms),
    ]
    if not args.kivy_only:
        boards.append(("Web board (headless Chromium)", web_ms))
    for name, values in boards:
        summary = latency_summary_ms(values)
        rows.append(
            [name, len(values), summary["p50"], summary["p90"], summary["p99"], summary["max"]]
        )
    print(
        f"Call-to-screen latency, {args.calls} calls, audio {args.audio}, "
        f"visitor language {args.language}, Kivy board {args.size}"
        + (", scrolling message" if args.message else "")
        + (", waiting counts" if args.show_waiting else "")
        + (", no web board" if args.kivy_only else "")
    )
    print(f"Machine: {machine_summary()}")
    print(meter.describe())
    print(
        f"  of everything else, espeak-ng (the server's and the Kivy board's): {speech_share:.0f} %"
    )
    print()
    print(markdown_table(["board", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    print()
    print("(each part's percentiles are its own: the parts' p99s do not add up to the whole's)")
    print()
    worst = max(latency_summary_ms(v)["p99"] for v in (kivy_ms, web_ms) if v)
    verdict = "meets" if worst < TARGET_P99_MS else "MISSES"
    print(f"Target p99 < {TARGET_P99_MS:.0f} ms: {verdict} (worst p99 {worst:.1f} ms)")
    return 0 if worst < TARGET_P99_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--audio", default="chime+speech", choices=["chime+speech", "chime", "off"])
    parser.add_argument(
        "--language", default="pl", help="the visitors' language (pl: two sentences)"
    )
    parser.add_argument("--size", default="1920x1080", help="the Kivy board's window, WxH")
    parser.add_argument(
        "--message",
        default="",
        help="the Kivy board's scrolling message (redraws it 30 times a second)",
    )
    parser.add_argument(
        "--show-waiting", action="store_true", help="the Kivy board shows the waiting counts"
    )
    parser.add_argument(
        "--kivy-only",
        action="store_true",
        help="no web board (no Chromium): the Kivy board alone, as on a board's own box",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.port))
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
