"""A generation's events: a row each (what programs replay), and a frame each for the portal.

The names are seed 002's (`progress`, `file_generated`, `test_result`, `completed`,
`failed`) plus `plan`, `file_started`, `tests_finished` and `cancelled`. A row's id is the
event's number: the API resumes a stream after the last id it sent. Publishing the portal's
frame never fails the job: a page that missed one is right again on reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from codegen.models import Generation, GenerationEvent

logger = logging.getLogger(__name__)

Listener = Callable[[GenerationEvent], None]
# Frames of every run in this process, in order, one at a time.
_PUBLISHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codegen-frames")


def as_json(event: GenerationEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "event": event.kind,
        "generation": event.generation_id,
        "at": event.created_at.isoformat(),
        **event.data,
    }


def record(
    generation: Generation,
    kind: str,
    data: dict[str, Any],
    *,
    listener: Listener | None = None,
    publish_frame: bool = True,
) -> GenerationEvent:
    """Store the event, publish its frame (unless a `FramePublisher` will), tell the listener
    (the command line's printer)."""
    event = GenerationEvent.objects.create(
        tenant=generation.tenant, generation=generation, kind=kind, data=data
    )
    if publish_frame:
        publish(generation, event)
    if listener is not None:
        listener(event)
    return event


def _publish_tidily(generation: Generation, event: GenerationEvent) -> None:
    close_old_connections()
    try:
        publish(generation, event)
    finally:
        close_old_connections()


class FramePublisher:
    """A run's frames, published in order by a thread of their own, off the run's path.

    Rendering a frame reads the database and renders templates (about 15 ms): done in the
    run's database thread, it held up every file written at once. Frames are rebuilt from
    the database when they are rendered, so one rendered a little later shows the same or
    newer state. `close` waits for every frame pushed so far.
    """

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Generation, GenerationEvent] | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._drain())

    def push(self, generation: Generation, event: GenerationEvent) -> None:
        self.queue.put_nowait((generation, event))

    async def _drain(self) -> None:
        publish_aside = sync_to_async(_publish_tidily, thread_sensitive=False, executor=_PUBLISHER)
        while (item := await self.queue.get()) is not None:
            await publish_aside(*item)

    async def close(self) -> None:
        if not self.task.done():
            self.queue.put_nowait(None)
        await asyncio.shield(self.task)


def publish(generation: Generation, event: GenerationEvent) -> None:
    from codegen import frames  # the portal's rendering of events

    try:
        frames.publish_event(generation, event)
    except Exception:
        logger.exception("could not publish event %s of generation %s", event.kind, generation.pk)
