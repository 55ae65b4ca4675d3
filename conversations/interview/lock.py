"""The per-conversation turn lock: one turn of a conversation at a time, across processes.

A key in Redis holds the turn's random token while it runs; it expires by itself if the
process holding it dies, and is kept alive (extended) while the turn goes on. Only the
holder's token releases or extends it, so a turn that outlived its expiry cannot release
the lock of the turn after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

from conversations import streams
from core.redis import LuaScript, async_redis

LOCK_SECONDS = 30.0
LOCK_POLL_SECONDS = 0.05

RELEASE = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")
EXTEND = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
""")


def lock_key(conversation_id: int) -> str:
    """The Redis key of a conversation's turn lock, beside its frames."""
    return f"{streams.PREFIX}{conversation_id}:turn"


@contextlib.asynccontextmanager
async def turn_lock(conversation_id: int, *, wait: float = 0.0) -> AsyncIterator[bool]:
    """Hold the conversation's turn (True), or learn that another process holds it (False)
    after waiting up to `wait` seconds for it to finish."""
    token = uuid.uuid4().hex
    key = lock_key(conversation_id)
    redis = async_redis()
    deadline = time.monotonic() + wait
    while not await redis.set(key, token, nx=True, ex=int(LOCK_SECONDS)):
        if time.monotonic() >= deadline:
            yield False
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)

    async def keep() -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            await EXTEND.run([key], [token, int(LOCK_SECONDS)])

    keeper = asyncio.get_running_loop().create_task(keep())
    try:
        yield True
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await RELEASE.run([key], [token])


async def turn_running(conversation_id: int) -> bool:
    """Whether some process holds the conversation's turn now."""
    return bool(await async_redis().exists(lock_key(conversation_id)))
