"""Helpers for tests of the numbered-frame sockets (conversation and proposal pages)."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from core import streams
from tenants.models import User
from tests.tenants.test_consumers import ORIGIN, connect, session_cookie


async def open_socket(user: User, path: str) -> tuple[WebsocketCommunicator, bool, Any]:
    """A socket to `path`, signed in as `user`: (socket, connected, close code)."""
    cookie = await database_sync_to_async(session_cookie)(user)
    return await connect(path, ORIGIN, cookie)


async def frames_until(socket: WebsocketCommunicator, done: str, wait: float = 15) -> list[str]:
    """Everything the socket sends until a frame containing `done`."""
    received: list[str] = []
    try:
        async with asyncio.timeout(wait):
            while not received or done not in received[-1]:
                received.append(str(await socket.receive_from(timeout=wait)))
    except TimeoutError:
        raise AssertionError(f"no frame with {done!r} came; received: {received}") from None
    return received


async def keep_without_sending(stream: streams.FrameStream, object_id: int, html: str) -> int:
    """What a socket whose subscription was not yet in place misses: a frame appended to
    the kept frames only, with no channel to publish on; its number."""
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
