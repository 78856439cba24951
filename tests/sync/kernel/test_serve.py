"""sync.kernel.serve: long-lived responses end when the server begins to shut down."""

from __future__ import annotations

import asyncio
import threading

from sync.kernel.serve import Stopping, until_stopped


async def _source(q: asyncio.Queue, closed: list[bool]):
    try:
        while True:
            yield await q.get()
    finally:
        closed.append(True)


def test_until_stopped_passes_items_and_ends_when_stopping_is_set():
    async def main():
        q: asyncio.Queue = asyncio.Queue()
        closed: list[bool] = []
        stopping = Stopping()
        got = []

        async def consume():
            async for item in until_stopped(_source(q, closed), stopping):
                got.append(item)

        task = asyncio.create_task(consume())
        await q.put(1)
        await q.put(2)
        while len(got) < 2:
            await asyncio.sleep(0)
        # set from another thread, as a signal handler or a server thread does
        t = threading.Thread(target=stopping.set)
        t.start()
        t.join()
        await asyncio.wait_for(task, 2)
        return got, closed

    got, closed = asyncio.run(main())
    assert got == [1, 2]
    assert closed == [True]  # the source was closed, its subscription released


def test_until_stopped_yields_none_as_heartbeat_when_quiet():
    async def main():
        q: asyncio.Queue = asyncio.Queue()
        closed: list[bool] = []
        stopping = Stopping()
        got = []
        async for item in until_stopped(_source(q, closed), stopping, heartbeat=0.01):
            got.append(item)
            if len(got) == 2:
                await q.put("news")  # the pending read was kept across the heartbeat
            if item == "news":
                stopping.set()
        return got, closed

    got, closed = asyncio.run(main())
    assert got[:2] == [None, None] and got[-1] == "news" and "news" not in got[:-1]
    assert closed == [True]


def test_until_stopped_ends_at_once_when_already_stopping():
    async def main():
        stopping = Stopping()
        stopping.set()
        closed: list[bool] = []
        await stopping.wait()  # returns at once
        return [i async for i in until_stopped(_source(asyncio.Queue(), closed), stopping)], closed

    got, closed = asyncio.run(main())
    assert got == []


def test_serve_stopping_of_finds_or_gives_the_app_its_stopping():
    from litestar import Litestar

    from sync.kernel.serve import stopping_of

    own = Stopping()
    assert stopping_of(Litestar(route_handlers=[], state={"stopping": own})) is own
    bare = Litestar(route_handlers=[])
    assert stopping_of(bare) is None
    made = stopping_of(bare, create=True)
    assert isinstance(made, Stopping) and bare.state["stopping"] is made and stopping_of(bare) is made
    assert stopping_of(object()) is None
