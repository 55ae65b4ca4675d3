"""An inference request's events on the wire: as SSE frames, as WebSocket messages, as frames.

Events are stored (api.inference.models.InferenceEvent, the record every reader resumes
from) and then published as numbered frames of the "inference" `FrameStream` (core.streams,
the machinery the portal's pages follow runs and generations with): one PUBLISH reaches
every server process following the request, where one subscription per request feeds all
its readers (api.inference.fanout). A frame's text, after the stream's marker, is the event
as JSON; the event's own number (`seq`) is the database's, which is the one readers see.

Each event is rendered once per process, for every reader: `sse` is the exact bytes an SSE
reader is sent, `message` the WebSocket message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from asgiref.sync import async_to_sync

from api.inference.models import InferenceEvent
from core.redis import async_redis
from core.streams import FrameStream

logger = logging.getLogger(__name__)

STREAM = FrameStream("inference")

Kind = InferenceEvent.Kind
START, TOKEN, COMPLETE, ERROR = Kind.START, Kind.TOKEN, Kind.COMPLETE, Kind.ERROR
ENDINGS = frozenset({COMPLETE, ERROR})


def _json(data: Any) -> str:
    # Compact, and one line whatever the text holds: JSON escapes newlines inside strings,
    # and an SSE data line must not contain one.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Event:
    """One event of a request, numbered from 1."""

    seq: int
    kind: str
    data: dict[str, Any]

    @property
    def is_ending(self) -> bool:
        return self.kind in ENDINGS

    @cached_property
    def sse(self) -> bytes:
        """The event as Server-Sent Events send it (the `id:` is what a reader resumes after)."""
        return f"id: {self.seq}\nevent: {self.kind}\ndata: {_json(self.data)}\n\n".encode()

    def message(self, request_id: str, result: str | None, *, session_id: str) -> dict[str, Any] | None:
        """The WebSocket message of seed 004's protocol for this event (None: not sent; `start`
        has none, the ack came before it). `result` is the whole answer, for `complete`."""
        ids = {"request_id": request_id, "session_id": session_id}
        if self.kind == TOKEN:
            return {"type": "token", **ids, **self.data}
        if self.kind == COMPLETE:
            return {"type": "result", **ids, **self.data, "status": "completed", "result": result}
        if self.kind == ERROR:
            return {"type": "error", **ids, **self.data}
        return None

    def frame_text(self) -> str:
        """The text published as a frame (after the stream's marker)."""
        return _json({"seq": self.seq, "kind": self.kind, "data": self.data})


def from_frame(message: dict[str, Any]) -> Event | None:
    """The event a frame of STREAM carries (the channel layer's message); None for anything
    else, which is logged and skipped."""
    try:
        marker = STREAM.stamp(int(message["seq"]), "")
        parsed = json.loads(str(message["html"]).removeprefix(marker))
        return Event(int(parsed["seq"]), str(parsed["kind"]), dict(parsed["data"]))
    except (KeyError, TypeError, ValueError):
        logger.warning("an inference frame could not be read; skipped")
        return None


async def publish(request_pk: int, events: list[Event]) -> None:
    """Send `events` to every process following the request, in order, and once the request
    has ended forget the frames Redis keeps for replay (the database holds every event for
    as long as the result is kept). Never raises: a reader that misses a frame finds the
    event in the database (api.inference.fanout)."""
    if not events:
        return
    # Started in one turn of the loop, so they go to Redis in one pipeline, in this order.
    sent = await asyncio.gather(
        *(STREAM.publish(request_pk, event.frame_text()) for event in events), return_exceptions=True
    )
    for event, outcome in zip(events, sent, strict=True):
        if isinstance(outcome, BaseException):
            logger.error(
                "could not publish event %s of inference request %s: %r", event.seq, request_pk, outcome
            )
    if events[-1].is_ending:
        try:
            await async_redis().delete(*STREAM.keys(request_pk))
        except Exception:
            logger.exception("could not drop the kept frames of inference request %s", request_pk)


def publish_sync(request_pk: int, events: list[Event]) -> None:
    """`publish`, from synchronous code (the reaper, a failed enqueue)."""
    async_to_sync(publish)(request_pk, events)
