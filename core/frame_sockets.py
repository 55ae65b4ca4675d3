"""The receiving end of a FrameStream: a socket that shows one object's numbered frames.

The page connects with `?since=N`, the last frame it reflects. The socket joins the object's
group first, then sends the kept frames after N, then live ones, each at most once and in
order: a live frame that skips numbers is preceded by the missing ones from the kept frames.
A page whose missed frames are no longer kept is sent the stream's reload frame.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from django.template.loader import render_to_string

from core.redis import UNAVAILABLE
from core.sockets import Socket
from core.streams import FrameStream

# The pub/sub channel layer sends a socket's SUBSCRIBE without waiting for Redis to confirm
# it: a frame published before it takes effect misses the socket, and when no frame follows
# (the last of a turn, a job's result) nothing shows the gap. Once the subscription is surely
# in place, the socket looks at the kept frames once more.
RECHECK_SECONDS = 1.0
# The layer delivers at most once: a frame published while a process's subscriber connection
# is reconnecting is missed as well, with no later frame to reveal it. From then on each socket
# looks at the kept frames this often (one GET when nothing is new), so such a frame arrives
# late instead of never.
RECHECK_EVERY_SECONDS = 10.0


class FrameSocket(Socket):
    """Subclasses set `stream` and `reload_template` (the frame that makes the page reload),
    call `follow(object_id)` from `connect()` once the caller is admitted, and route the
    stream's events (`<name>_frame`) to `deliver`."""

    stream: FrameStream
    reload_template: str
    object_id: int
    group: str | None = None
    sent: int = 0  # the number of the last frame this socket sent
    recheck: asyncio.Task[None] | None = None

    async def follow(self, object_id: int) -> None:
        """Accept the socket and send it what the page has not seen yet."""
        self.object_id = object_id
        self.group = self.stream.group_name(object_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.sent = max(0, int(query.get("since", ["0"])[0]))
        except ValueError:
            self.sent = 0
        await self.catch_up()
        if not self.closing:
            self.recheck = asyncio.get_running_loop().create_task(self._recheck_later())

    def reload_html(self) -> str:
        """The frame that makes the page reload (and so show what the server says now)."""
        return render_to_string(self.reload_template)

    async def reload_page(self) -> None:
        """Have the page reload, and close this socket (the page opens another)."""
        await self.send(text_data=self.reload_html())
        await self.close()
        await self.release()

    async def release(self) -> None:
        await super().release()
        recheck, self.recheck = self.recheck, None
        if recheck is not None and recheck is not asyncio.current_task():
            recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recheck
        group, self.group = self.group, None
        if group is not None:
            await self.leave_group(group)

    async def _recheck_later(self) -> None:
        # Through the socket's own channel, so it is handled in turn with the live frames.
        delay = RECHECK_SECONDS
        while True:
            await asyncio.sleep(delay)
            delay = RECHECK_EVERY_SECONDS
            try:
                await self.channel_layer.send(self.channel_name, {"type": "frames.recheck"})
            except UNAVAILABLE:
                continue  # no frame can come either; the next look tries again

    async def frames_recheck(self, event: dict[str, Any]) -> None:
        await self.catch_up()

    async def catch_up(self) -> None:
        replay = await self.stream.replay(self.object_id, self.sent)
        if replay.incomplete:
            # What this page missed is no longer kept: only a reload makes it consistent.
            await self.reload_page()
            return
        for frame in replay.frames:
            if frame.seq > self.sent:
                await self.send(text_data=frame.html)
                self.sent = frame.seq

    async def deliver(self, event: dict[str, Any]) -> None:
        """A live frame: sent once, in order, after any it skipped."""
        seq = int(event["seq"])
        if seq <= self.sent:
            return
        if seq > self.sent + 1:
            await self.catch_up()
            if seq <= self.sent:
                return
        await self.send(text_data=event["html"])
        self.sent = seq
