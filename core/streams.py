"""Numbered frames: what a live page receives, kept for replay, fanned out to every tab.

Every change a page must show (in a conversation: a message started, tokens, a message done,
the answers panel) is an HTML fragment with out-of-band swaps, published as a frame with the
next sequence number of its object. A frame is appended to a Redis stream (kept for a
while, for replay) and sent to the conversation's channel-layer group (for live sockets).

With the pub/sub channel layer (the configured one) numbering, keeping and sending are one
Lua script, and the frames published during one turn of the event loop go to Redis in one
pipeline, one pipeline in flight per loop at a time (frames published meanwhile wait for the
next): one round trip for many frames instead of two per frame, taken in turn under one lock.

A socket connects with the last sequence number its page has seen (`since`); it is sent
the kept frames after that, then the live ones, each at most once. A page that was away so
long that the frames it missed are gone is told to reload.

Each kind of object that pages follow this way (conversations, workflow proposals) has its
own `FrameStream`; `core.frame_sockets.FrameSocket` is the receiving end.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string
from redis.exceptions import NoScriptError

from core.redis import LuaScript, async_redis, sync_redis

KEEP_FRAMES = 5000
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Frame:
    seq: int
    html: str


@dataclass(frozen=True)
class Replay:
    frames: list[Frame]
    # Frames after `since` are no longer kept: the page must reload to be consistent.
    incomplete: bool


# Numbering, keeping and (ARGV[4] set) sending in one step, so frames are kept and sent in the
# order of their numbers even when two processes publish at once. KEYS seq, frames; ARGV
# html, keep, ttl, the pub/sub layer's channel of the group ('' to send otherwise), event
# type, and the marker's text before and after the number (see FrameStream.stamp). The
# message is what RedisPubSubChannelLayer.group_send would publish: the event msgpacked.
APPEND = LuaScript("""
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'html', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
if ARGV[4] ~= '' then
  local event = {type = ARGV[5], seq = seq, html = ARGV[6] .. seq .. ARGV[7] .. ARGV[1]}
  redis.call('PUBLISH', ARGV[4], cmsgpack.pack(event))
end
return seq
""")

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


def pubsub_channel(group: str) -> str:
    """The Redis channel RedisPubSubChannelLayer publishes `group`'s messages on, when the
    configured layer is that one, on the Redis frames are kept in, with its plain msgpack
    messages; "" otherwise (frames are then sent through the layer's group_send)."""
    layer: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    config: dict[str, Any] = layer.get("CONFIG", {})
    plain = config.get("serializer_format", "msgpack") == "msgpack" and not config.get(
        "symmetric_encryption_keys"
    )
    if layer.get("BACKEND") != PUBSUB_LAYER or config.get("hosts") != [settings.REDIS_URL] or not plain:
        return ""
    # As RedisPubSubLoopLayer._get_group_channel_name names it.
    return f"{config.get('prefix', 'asgi')}__group__{group}"


@dataclass
class _Pending:
    keys: list[str]
    args: list[str | int]
    done: asyncio.Future[int]


@dataclass
class _Publisher:
    """The frames a loop has yet to send to Redis, and whether a pipeline is on its way."""

    waiting: list[_Pending] = field(default_factory=list)
    sending: bool = False
    task: asyncio.Task[None] | None = None  # held: the loop keeps only weak references


_publishers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Publisher] = weakref.WeakKeyDictionary()


async def _append(keys: list[str], args: list[str | int]) -> int:
    """Run APPEND with the frames published in the same turn of the loop, in one pipeline."""
    loop = asyncio.get_running_loop()
    publisher = _publishers.get(loop)
    if publisher is None:
        publisher = _publishers[loop] = _Publisher()
    pending = _Pending(keys, args, loop.create_future())
    publisher.waiting.append(pending)
    if not publisher.sending:
        publisher.sending = True
        # After the callbacks ready now: every frame published in this turn joins the batch.
        loop.call_soon(_start, loop, publisher)
    return await pending.done


def _start(loop: asyncio.AbstractEventLoop, publisher: _Publisher) -> None:
    publisher.task = loop.create_task(_send(publisher))


async def _send(publisher: _Publisher) -> None:
    try:
        while publisher.waiting:
            batch, publisher.waiting = publisher.waiting, []
            try:
                await _send_batch(batch)
            except Exception as error:
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(error)
    finally:
        publisher.sending = False
        publisher.task = None


async def _send_batch(batch: list[_Pending]) -> None:
    pipeline = async_redis().pipeline(transaction=False)
    for pending in batch:
        pipeline.evalsha(APPEND.sha, len(pending.keys), *pending.keys, *map(str, pending.args))
    results = await pipeline.execute(raise_on_error=False)
    for pending, result in zip(batch, results, strict=True):
        if isinstance(result, NoScriptError):
            # Redis restarted or its script cache was flushed: once by source (caching it).
            try:
                result = await APPEND.run(pending.keys, pending.args)
            except Exception as error:
                result = error
        if pending.done.done():
            continue  # its publisher was cancelled
        if isinstance(result, BaseException):
            pending.done.set_exception(result)
        else:
            pending.done.set_result(int(result))


@dataclass(frozen=True)
class FrameStream:
    """The numbered frames of one kind of object (`name`: "conversation", "proposal").

    Its Redis keys start with `sce:<name>:`, its groups are `<name>-<id>`, its channel-layer
    events are `<name>.frame` (a consumer's `<name>_frame`), and a page's marker of how far it
    has read is the element `#<name>-seq`.
    """

    name: str

    @property
    def prefix(self) -> str:
        return f"sce:{self.name}:"

    @property
    def event_type(self) -> str:
        return f"{self.name}.frame"

    def group_name(self, object_id: int) -> str:
        return f"{self.name}-{object_id}"

    def keys(self, object_id: int) -> list[str]:
        return [f"{self.prefix}{object_id}:seq", f"{self.prefix}{object_id}:frames"]

    def _marker(self) -> tuple[str, str]:
        return f'<div id="{self.name}-seq" data-seq="', '" hidden hx-swap-oob="true"></div>'

    def stamp(self, seq: int, html: str) -> str:
        """A frame's HTML, with the marker a page uses to know how far it has read."""
        before, after = self._marker()
        return f"{before}{seq}{after}{html}"

    async def publish(self, object_id: int, html: str) -> Frame:
        """Number, keep and send a fragment to every open page of the object."""
        group = self.group_name(object_id)
        layer = get_channel_layer()
        channel = pubsub_channel(group) if layer is not None else ""
        before, after = self._marker()
        args: list[str | int] = [html, KEEP_FRAMES, KEEP_SECONDS, channel, self.event_type, before, after]
        seq = await _append(self.keys(object_id), args)
        frame = Frame(seq, self.stamp(seq, html))
        if layer is not None and not channel:
            await layer.group_send(group, {"type": self.event_type, "seq": frame.seq, "html": frame.html})
        return frame

    def publish_sync(self, object_id: int, html: str) -> Frame:
        return async_to_sync(self.publish)(object_id, html)

    def publish_template(self, object_id: int, template: str, context: dict[str, Any]) -> Frame:
        return self.publish_sync(object_id, render_to_string(template, context))

    def current_seq(self, object_id: int) -> int:
        """The number of the last frame published (0 before the first)."""
        value = sync_redis().get(self.keys(object_id)[0])
        return int(str(value)) if value else 0

    async def replay(self, object_id: int, since: int) -> Replay:
        """The kept frames numbered after `since`, oldest first."""
        redis = async_redis()
        seq_key, frames_key = self.keys(object_id)
        last = int(await redis.get(seq_key) or 0)
        if since >= last:
            return Replay([], incomplete=False)
        entries = await redis.xrange(frames_key, min=f"{since + 1}-1", max="+")
        frames = []
        for entry_id, data in entries:
            seq = int(entry_id.split("-", 1)[0])
            frames.append(Frame(seq, self.stamp(seq, data["html"])))
        first_kept = frames[0].seq if frames else last + 1
        return Replay(frames, incomplete=first_kept > since + 1)
