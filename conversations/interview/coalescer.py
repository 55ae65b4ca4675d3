"""Streamed text into frames: tokens coalesced into deltas, at most one frame per interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from conversations.interview import frames
from conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

# At most this many frames a second per stream: deltas are coalesced in between.
FRAME_INTERVAL = 0.05


class Coalescer:
    """Collects streamed text and publishes it at most every FRAME_INTERVAL, as deltas.

    One frame of a stream is on its way at a time: tokens that come while it is being
    published go into the next one. Under load frames then carry more tokens instead of
    queueing up, and they are published in the order of their numbers (a frame overtaking
    the one before it would make every page fetch the gap from the kept frames).
    """

    def __init__(self, conversation: Conversation, message: Message) -> None:
        self.conversation = conversation
        self.message = message
        self.pending: list[str] = []
        self.sent: list[str] = []
        self.last = 0.0
        self.flusher: asyncio.Task[None] | None = None
        self.publishing = False

    def add(self, text: str) -> None:
        self.pending.append(text)
        if self.flusher is None:
            self._schedule()

    def _schedule(self) -> None:
        delay = max(0.0, self.last + FRAME_INTERVAL - time.monotonic())
        self.flusher = asyncio.get_running_loop().create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.publishing = True
        try:
            await self.flush()
        except Exception:
            # The text is not lost: the message's final frame carries all of it.
            logger.exception("a frame of conversation %s could not be published", self.conversation.pk)
        finally:
            self.publishing = False
            self.flusher = None
        if self.pending:
            self._schedule()

    async def flush(self) -> None:
        if not self.pending:
            return
        delta = "".join(self.pending)
        self.pending.clear()
        self.sent.append(delta)
        self.last = time.monotonic()
        await frames.publish(
            self.conversation, "conversations/frames/tokens.html", {"message": self.message, "delta": delta}
        )

    async def close(self) -> str:
        """Publish what is pending, after the frame on its way; the whole text so far."""
        while self.flusher is not None:
            flusher = self.flusher
            if self.publishing:
                await asyncio.shield(flusher)
                continue
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            self.flusher = None
        await self.flush()
        return "".join(self.sent)
