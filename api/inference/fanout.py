"""One subscription per request per server process, shared by every reader of the request.

A thousand SSE clients (or sockets) following one request in one daphne process cost one
channel-layer subscription and one frame decoded per event, not a thousand: the `Topic` of
the request subscribes to its frame group once, keeps the request's events in memory (read
from the database once, when the first reader comes), and wakes its readers when events
arrive, at most every COALESCE_SECONDS. Each reader then sends the events after the last
one it sent in one write, rendered once for all (api.inference.events.Event.sse).

Nothing is missed and nothing repeats. The topic subscribes before it reads the database,
and takes only the event numbered next: a frame that skips numbers is preceded by the
missing events, read from the database. Frames are delivered at most once (a subscription
just made, or reconnecting, misses what was published meanwhile), so the topic looks at
the database a moment after subscribing and again whenever no frame came for
RECHECK_SECONDS while the request is still answered: one query per process, not per reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import weakref
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from channels.layers import get_channel_layer

from api.inference import selectors
from api.inference.events import STREAM, Event, from_frame
from core.db import database_sync_to_async
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# As core.frame_sockets: once a subscription is surely in place, and then while silent.
RECHECK_FIRST_SECONDS = 1.0
RECHECK_SECONDS = 5.0
# Readers are woken at most this often (an ending at once): a fast model's tokens then go
# out a few per write, ≤ 20 writes a second per reader, instead of one write per token for
# every reader (with 1,000 readers, what the process can send is the limit).
COALESCE_SECONDS = 0.05

_events_after = database_sync_to_async(selectors.events_after)


def _spawn(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A task of the topic's, in a context of its own: not in the context of the reader that
    happened to open the topic (whose request's thread and database connection, under
    Django's ASGI handler, go when that reader does), so its database reads take asgiref's
    one shared thread, as the sockets' do (core.db)."""
    return asyncio.get_running_loop().create_task(work, context=contextvars.Context())


class Topic:
    """The events of one request in this process, and its readers' wake-up call."""

    def __init__(self, tenant: Tenant, request_pk: int) -> None:
        self.tenant = tenant
        self.request_pk = request_pk
        # events[i] is numbered i + 1: the database numbers a request's events from 1, gapless.
        self.events: list[Event] = []
        self.ended = False
        self.readers = 0
        self.changed = asyncio.Event()  # set (and replaced) whenever readers have news
        self._catching_up = asyncio.Lock()
        self._heard = time.monotonic()
        self._woken_at = 0.0
        self._wake_later: asyncio.TimerHandle | None = None
        self._layer: Any = None
        self._channel = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self.opened: asyncio.Task[None] = _spawn(self._open())

    async def _open(self) -> None:
        await self.catch_up()
        if self.ended:
            return  # a finished request: its events are all here, nothing more will come
        self._layer = get_channel_layer()
        self._channel = await self._layer.new_channel()
        await self._layer.group_add(STREAM.group_name(self.request_pk), self._channel)
        # What was stored between the first read and the subscription.
        await self.catch_up()
        self._start(self._listen())
        self._start(self._recheck())

    def _start(self, work: Any) -> None:
        task = _spawn(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wake(self) -> None:
        if self._wake_later is not None:
            self._wake_later.cancel()
            self._wake_later = None
        self._woken_at = time.monotonic()
        woken, self.changed = self.changed, asyncio.Event()
        woken.set()

    def _news(self) -> None:
        """Wake the readers now if they were not woken lately (or the request ended), else
        once COALESCE_SECONDS have passed since they were."""
        waited = time.monotonic() - self._woken_at
        if self.ended or waited >= COALESCE_SECONDS:
            self._wake()
        elif self._wake_later is None:
            self._wake_later = asyncio.get_running_loop().call_later(COALESCE_SECONDS - waited, self._wake)

    def _append(self, events: list[Event]) -> None:
        added = False
        for event in events:
            if event.seq != len(self.events) + 1 or self.ended:
                continue  # already here, or (never from the database) past a gap
            self.events.append(event)
            self.ended = event.is_ending
            added = True
        if added:
            self._news()

    async def catch_up(self) -> None:
        """Take the events stored after the last one held (one query)."""
        async with self._catching_up:
            if self.ended:
                return
            self._append(
                await _events_after(tenant=self.tenant, request_pk=self.request_pk, after=len(self.events))
            )

    async def _listen(self) -> None:
        while not self.ended:
            event = from_frame(await self._layer.receive(self._channel))
            if event is None:
                continue
            self._heard = time.monotonic()
            if event.seq > len(self.events) + 1:
                await self.catch_up()  # the frames in between were missed
            self._append([event])

    async def _recheck(self) -> None:
        delay, quiet = RECHECK_FIRST_SECONDS, 0.0  # the first time, whatever was heard
        while not self.ended:
            await asyncio.sleep(delay)
            try:
                if time.monotonic() - self._heard >= quiet:
                    await self.catch_up()
            except Exception:
                logger.exception("inference request %s: the recheck failed; trying again", self.request_pk)
            self._wake()  # also the readers' chance to send a keep-alive
            delay = quiet = RECHECK_SECONDS

    def close(self) -> None:
        """Stop following the request (the last reader left)."""
        if self._wake_later is not None:
            self._wake_later.cancel()
        for task in list(self._tasks):
            task.cancel()  # the layer drops the topic's channel when its receive is cancelled
        self.opened.cancel()
        if self._channel:
            channel, self._channel = self._channel, ""
            leaving = _spawn(self._leave(channel))
            _closing.add(leaving)
            leaving.add_done_callback(_closing.discard)

    async def _leave(self, channel: str) -> None:
        try:
            await self._layer.group_discard(STREAM.group_name(self.request_pk), channel)
        except Exception:
            logger.info("inference request %s: left its group without Redis", self.request_pk)


# The topics of each event loop (daphne has one; tests may run several), by request pk.
_topics: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Topic]] = weakref.WeakKeyDictionary()
_closing: set[asyncio.Task[None]] = set()  # held until done: the loop keeps weak references


def _loop_topics() -> dict[int, Topic]:
    loop = asyncio.get_running_loop()
    topics = _topics.get(loop)
    if topics is None:
        topics = _topics[loop] = {}
    return topics


def topic_count() -> int:
    """How many requests this loop follows (for tests and diagnostics)."""
    return len(_loop_topics())


@contextlib.asynccontextmanager
async def following(tenant: Tenant, request_pk: int) -> AsyncIterator[Topic]:
    """The request's topic in this process, opened (events read, subscribed), for as long as
    the block runs. The caller must have checked that the request is the tenant's."""
    topics = _loop_topics()
    topic = topics.get(request_pk)
    if topic is None:
        topic = topics[request_pk] = Topic(tenant, request_pk)
    topic.readers += 1
    try:
        # Shielded: one reader going away must not cancel the opening the others wait for.
        await asyncio.shield(topic.opened)
        yield topic
    finally:
        topic.readers -= 1
        if topic.readers == 0:
            if topics.get(request_pk) is topic:
                del topics[request_pk]
            topic.close()


async def batches(topic: Topic, after: int) -> AsyncIterator[list[Event]]:
    """The topic's events numbered after `after`, in order, in batches of what arrived
    together, until the ending; an empty batch when woken with nothing new (a reader may
    send a keep-alive then)."""
    sent = after
    while True:
        changed = topic.changed  # before reading: news during the yield is not missed
        batch = topic.events[sent:]
        if batch:
            sent = batch[-1].seq
        yield batch
        if topic.ended and sent >= len(topic.events):
            return
        await changed.wait()
