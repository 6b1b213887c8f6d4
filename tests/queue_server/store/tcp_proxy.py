"""A TCP proxy of the tests' own between a ``walkin serve`` and PostgreSQL, on
loopback, that the test can cut two ways (issue 13: the network to the database):

- :meth:`LoopbackProxy.cut`: every connection reset, new ones refused (a switch
  restarted, a host that answers "no route"): the server learns at once;
- :meth:`LoopbackProxy.blackhole`: nothing forwarded either way and no socket closed
  (a pulled cable, a partition): what the server sends is never answered and nothing
  tells it so. This machine's own TCP still acknowledges what the proxy holds, so the
  server sees a database gone silent, as a hung database host also looks.

:meth:`LoopbackProxy.restore` ends either: it listens again on the same port, and
forwards what a blackhole held back (as TCP would resend it)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import sqlalchemy as sa


class LoopbackProxy:
    """A TCP proxy on 127.0.0.1 (``port``) to ``target``, run by a thread of its own."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = 0
        self.listener: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()
        self.closed = False
        self.flowing: asyncio.Event = self._call(self._event())
        self._call(self._listen())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    async def _event(self) -> asyncio.Event:
        flowing = asyncio.Event()
        flowing.set()
        return flowing

    async def _listen(self) -> None:
        self.listener = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = int(self.listener.sockets[0].getsockname()[1])

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()  # a connection made during a blackhole goes nowhere
        if self.closed:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    await self.flowing.wait()  # held, not dropped: TCP would resend it
                    if self.closed:
                        break
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.links -= {writer, up_writer}

    async def _cut(self) -> None:
        if self.listener is not None:
            self.listener.close()
            await self.listener.wait_closed()
            self.listener = None
        for writer in list(self.links):
            writer.transport.abort()  # an RST to the server, EOF to PostgreSQL
        self.links.clear()

    def cut(self) -> None:
        """Reset every connection and refuse new ones, until :meth:`restore`."""
        self._call(self._cut())

    def blackhole(self) -> None:
        """Forward nothing either way, closing nothing, until :meth:`restore`."""
        self.loop.call_soon_threadsafe(self.flowing.clear)

    async def _restore(self) -> None:
        if self.listener is None:
            await self._listen()
        self.flowing.set()

    def restore(self) -> None:
        self._call(self._restore())

    def url(self, direct: str) -> str:
        """``direct`` (a database URL) through this proxy."""
        made = sa.engine.make_url(direct).set(host="127.0.0.1", port=self.port)
        return made.render_as_string(hide_password=False)

    def close(self) -> None:
        async def shut() -> None:
            self.closed = True
            await self._cut()
            self.flowing.set()  # what waits for the flow ends by itself
            await asyncio.sleep(0.2)

        with contextlib.suppress(Exception):
            self._call(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def proxy_to(pg_url: str) -> LoopbackProxy:
    """A proxy to the PostgreSQL server of ``pg_url``."""
    url = sa.engine.make_url(pg_url)
    return LoopbackProxy((url.host or "127.0.0.1", url.port or 5432))
