"""Files written in dependency order: each starts once the files it depends on are written,
and a free slot goes to the ready file earliest in the plan's layer order.

Earliest-layer-first keeps the files that others wait on moving (the critical path), and
makes the order of calls the plan's layer order whenever one slot is free at a time (the
order a scripted test or a one-by-one run sees). asyncio's Semaphore wakes waiters in
arrival order, which would let a later file that became ready first overtake; hence this.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class RankedSlots:
    """At most `limit` holders at once; a freed slot goes to the waiter of lowest rank."""

    def __init__(self, limit: int) -> None:
        self.free = max(1, limit)
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self.arrivals = itertools.count()

    @asynccontextmanager
    async def slot(self, rank: int) -> AsyncIterator[None]:
        if self.free > 0 and not self.waiting:
            self.free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self.waiting, (rank, next(self.arrivals), granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # handed the slot just as it was cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self.waiting:
            _rank, _arrival, granted = heapq.heappop(self.waiting)
            if not granted.done():  # a cancelled waiter's future is done
                granted.set_result(None)
                return
        self.free += 1
