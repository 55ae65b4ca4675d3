"""The frames a conversation page receives: the conversations' FrameStream (core.streams)."""

from __future__ import annotations

from typing import Any

from core.streams import Frame, FrameStream, Replay

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
