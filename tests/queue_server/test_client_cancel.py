"""A task that waits on the client stops when it is cancelled, even when what it waits
for (a push, a reply) lands in the same turn of the loop as the cancellation.

On Python 3.11 ``asyncio.wait_for`` lost such a cancellation (it returned the result:
CPython gh-86296), so a loop around it ran on and whoever closed it waited for ever: the
kiosk's shutdown hung in the parallel suite (``OfflineSync.close``, ``ServerLink.close``,
tests/kiosk/test_kiosk_offline.py). Each case cancels 0 to 3 turns of the loop after
the thing arrives, so one of them lands in the window; a task still running 2 s later
fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from queue_server.client import QueueClient, stop_task

#: a cancelled task that has not ended by then ignored its cancellation
ENDED_WITHIN = 2.0


def offline_client() -> QueueClient:
    """A client never connected: the tests hand it pushes and replies themselves."""
    return QueueClient("ws://127.0.0.1:9/ws", token="test-token", client_name="test-kiosk")


async def cancel_after(task: asyncio.Task[Any], turns: int) -> bool:
    """Cancel ``task`` ``turns`` turns of the loop from now; whether it then ended."""
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait({task}, timeout=ENDED_WITHIN)
    ended = task.done()
    await stop_task(task)  # one that swallowed it is cancelled until it ends
    return ended


@pytest.mark.parametrize("turns", range(4))
async def test_a_loop_reading_pushes_ends_when_cancelled_as_a_push_arrives(turns: int) -> None:
    client = offline_client()

    async def read_pushes() -> None:  # as ServerLink._follow does
        while True:
            with contextlib.suppress(TimeoutError):
                await client.next_push(timeout=30)

    task = asyncio.create_task(read_pushes())
    await asyncio.sleep(0.01)  # waiting for a push
    client._push({"type": "queue"})  # noqa: SLF001 - as the reader does on a frame
    assert await cancel_after(task, turns), "the cancellation was lost"


class FakeConnection:
    """Stands in for the websocket: remembers the frames sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, frame: str) -> None:
        self.sent.append(frame)


@pytest.mark.parametrize("turns", range(4))
async def test_a_loop_of_requests_ends_when_cancelled_as_a_reply_arrives(turns: int) -> None:
    client = offline_client()
    client._ws = FakeConnection()  # type: ignore[assignment]  # noqa: SLF001
    client._connected.set()  # noqa: SLF001

    async def ask_for_ever() -> None:  # as OfflineSync's rounds do
        while True:
            await client.request("snapshot", timeout=30)

    task = asyncio.create_task(ask_for_ever())
    await asyncio.sleep(0.01)  # waiting for the reply
    ((request_id, reply),) = client._pending.items()  # noqa: SLF001
    reply.set_result({"type": "ok", "re": request_id})  # as the reader does on a reply
    assert await cancel_after(task, turns), "the cancellation was lost"


async def test_stop_task_ends_a_task_that_swallows_its_first_cancellation() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as 3.11's wait_for can

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0.01)
    async with asyncio.timeout(ENDED_WITHIN + 1):
        await stop_task(task)
    assert task.cancelled() and swallowed == 1


async def test_stop_task_lets_its_callers_cancellation_through() -> None:
    give_up = asyncio.Event()

    async def deaf() -> None:  # ignores every cancellation until told
        while not give_up.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await give_up.wait()

    task = asyncio.create_task(deaf())
    closer = asyncio.create_task(stop_task(task))
    await asyncio.sleep(0.05)
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closer
    give_up.set()
    await asyncio.wait({task}, timeout=ENDED_WITHIN)
    assert task.done()
