"""Live updates for pages: the writer thread tells the hub about committed events; each
server-sent-event stream waits on its own asyncio queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from .store.log import StoredEvent

ANNOUNCED = ("ticket.called", "ticket.recalled")


class Hub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def on_events(self, events: list[StoredEvent]) -> None:
        """Called on the writer thread after a commit."""
        loop = self._loop
        if loop is None or loop.is_closed() or not self._subscribers:
            return
        kinds = [e.kind for e in events]
        calls = [e for e in events if e.kind in ANNOUNCED]
        loop.call_soon_threadsafe(self._fanout, kinds, calls)

    def _fanout(self, kinds: list[str], calls: list[StoredEvent]) -> None:
        for q in list(self._subscribers):
            if q.qsize() > 100:  # a stalled client: drop its backlog, it re-reads the snapshot
                while not q.empty():
                    q.get_nowait()
            q.put_nowait((kinds, calls))

    async def subscribe(self) -> AsyncIterator[tuple[list[str], list[StoredEvent]]]:
        q: asyncio.Queue = asyncio.Queue()
        self._subscribers.add(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._subscribers.discard(q)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
