"""Frames kept for replay but never sent live: what a socket whose subscription was not yet
in place misses."""

from __future__ import annotations

from conversations import streams


async def keep_without_sending(stream: streams.FrameStream, object_id: int, html: str) -> int:
    """Append a frame to the stream's kept frames only (no channel to publish on); its number."""
    before, after = stream.stamp(0, "").split("0", 1)
    args: list[str | int] = [
        html,
        streams.KEEP_FRAMES,
        streams.KEEP_SECONDS,
        "",
        stream.event_type,
        before,
        after,
    ]
    return int(await streams.APPEND.run(stream.keys(object_id), args))
