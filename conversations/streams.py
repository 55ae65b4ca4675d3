"""The frames a conversation page receives: numbered, kept for replay, fanned out to every tab.

Every change a page must show (a message started, tokens, a message done, the answers
panel) is an HTML fragment with out-of-band swaps, published as a frame with the next
sequence number of its conversation. A frame is appended to a Redis stream (kept for a
while, for replay) and sent to the conversation's channel-layer group (for live sockets).

A socket connects with the last sequence number its page has seen (`since`); it is sent
the kept frames after that, then the live ones, each at most once. A page that was away so
long that the frames it missed are gone is told to reload.

Other pages that follow a job the same way (workflow proposals) use their own `FrameStream`;
the module-level functions are the conversations' stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from providers.store import LuaScript, async_redis, sync_redis

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


# Numbering and keeping in one step, so frames are kept in the order of their numbers even
# when two processes publish at once. KEYS seq, frames; ARGV html, keep, ttl.
APPEND = LuaScript("""
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'html', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return seq
""")


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

    def stamp(self, seq: int, html: str) -> str:
        """A frame's HTML, with the marker a page uses to know how far it has read."""
        marker = f'<div id="{self.name}-seq" data-seq="{seq}" hidden hx-swap-oob="true"></div>'
        return marker + html

    async def publish(self, object_id: int, html: str) -> Frame:
        """Number, keep and send a fragment to every open page of the object."""
        seq = int(await APPEND.run(self.keys(object_id), [html, KEEP_FRAMES, KEEP_SECONDS]))
        frame = Frame(seq, self.stamp(seq, html))
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(
                self.group_name(object_id), {"type": self.event_type, "seq": frame.seq, "html": frame.html}
            )
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


CONVERSATIONS = FrameStream("conversation")
PREFIX = CONVERSATIONS.prefix


def group_name(conversation_id: int) -> str:
    return CONVERSATIONS.group_name(conversation_id)


def stamp(seq: int, html: str) -> str:
    """A frame's HTML, with the marker a page uses to know how far it has read."""
    return CONVERSATIONS.stamp(seq, html)


async def publish(conversation_id: int, html: str) -> Frame:
    """Number, keep and send a fragment to every open page of the conversation."""
    return await CONVERSATIONS.publish(conversation_id, html)


def publish_sync(conversation_id: int, html: str) -> Frame:
    return CONVERSATIONS.publish_sync(conversation_id, html)


def publish_template(conversation_id: int, template: str, context: dict[str, Any]) -> Frame:
    return CONVERSATIONS.publish_template(conversation_id, template, context)


def current_seq(conversation_id: int) -> int:
    """The number of the last frame published (0 before the first)."""
    return CONVERSATIONS.current_seq(conversation_id)


async def replay(conversation_id: int, since: int) -> Replay:
    """The kept frames numbered after `since`, oldest first."""
    return await CONVERSATIONS.replay(conversation_id, since)
