"""Publishing frames: numbered, kept and sent in one script, batched per loop turn."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.test import override_settings

from conversations import streams
from core import streams as core_streams

OBJECT_ID = 991


async def member(layer: Any, group: str) -> str:
    """A channel in the group, once the pub/sub layer's subscription is in place (its
    SUBSCRIBE is sent, not awaited): a probe sent to the group has come back."""
    channel: str = await layer.new_channel()
    await layer.group_add(group, channel)
    while True:
        await layer.group_send(group, {"type": "probe"})
        try:
            await asyncio.wait_for(layer.receive(channel), 0.2)
            return channel
        except TimeoutError:
            continue


async def frames_received(layer: Any, channel: str, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while len(events) < count:
        event = await asyncio.wait_for(layer.receive(channel), 5)
        if event["type"] != "probe":
            events.append(event)
    return events


async def test_frames_published_in_one_loop_turn_are_numbered_in_order_kept_and_sent_once() -> None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await member(layer, streams.group_name(OBJECT_ID))
    frames = await asyncio.gather(*(streams.publish(OBJECT_ID, f"<p>{n}</p>") for n in range(5)))
    assert [frame.seq for frame in frames] == [1, 2, 3, 4, 5]
    received = await frames_received(layer, channel, len(frames))
    assert [(event["type"], event["seq"], event["html"]) for event in received] == [
        ("conversation.frame", frame.seq, frame.html) for frame in frames
    ]
    assert frames[2].html == streams.stamp(3, "<p>2</p>")
    replay = await streams.replay(OBJECT_ID, 2)
    assert replay.frames == frames[2:]
    assert not replay.incomplete
    await layer.group_discard(streams.group_name(OBJECT_ID), channel)


def test_frames_go_out_in_the_script_only_through_the_configured_pub_sub_layer() -> None:
    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    config = layers["default"]["CONFIG"]
    assert core_streams.pubsub_channel("conversation-7") == f"{config['prefix']}__group__conversation-7"
    other = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=other):
        assert core_streams.pubsub_channel("conversation-7") == ""
    encrypted = {"default": {**layers["default"]}}
    encrypted["default"]["CONFIG"] = {**config, "symmetric_encryption_keys": ["secret"]}
    with override_settings(CHANNEL_LAYERS=encrypted):
        assert core_streams.pubsub_channel("conversation-7") == ""


async def test_with_another_channel_layer_frames_go_through_its_group_send() -> None:
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        layer = get_channel_layer()
        assert layer is not None
        channel = await member(layer, streams.group_name(OBJECT_ID))
        frame = await streams.publish(OBJECT_ID, "<p>in memory</p>")
        [event] = await frames_received(layer, channel, 1)
        assert (event["seq"], event["html"]) == (frame.seq, frame.html)
