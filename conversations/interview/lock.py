"""The per-conversation turn lock: one turn of a conversation at a time, across processes.

A key in Redis holds the turn's random token while it runs. It lives TURN_LOCK_SECONDS and
the turn renews it (a heartbeat) every third of that, so the key outlives the process that
ran the turn by at most TURN_LOCK_SECONDS: a turn whose process died (daphne killed mid-
stream) is noticed within seconds by the pages following the conversation, which then show
its question as failed with its retry button (turn.recover_interrupted). Only the holder's
token releases or renews the key, so a turn that outlived its expiry cannot release the
lock of the turn after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator

from django.conf import settings

from conversations import streams
from core.redis import UNAVAILABLE, LuaScript, async_redis

logger = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.05

RELEASE = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")
RENEW = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
""")


def lock_key(conversation_id: int) -> str:
    """The Redis key of a conversation's turn lock, beside its frames."""
    return f"{streams.PREFIX}{conversation_id}:turn"


def lock_milliseconds() -> int:
    """How long the lock outlives its last heartbeat."""
    return max(1, round(float(settings.TURN_LOCK_SECONDS) * 1000))


def heartbeat_seconds() -> float:
    """How often a running turn renews its lock, and pages look whether it still runs."""
    return lock_milliseconds() / 3000


@contextlib.asynccontextmanager
async def turn_lock(conversation_id: int, *, wait: float = 0.0) -> AsyncIterator[bool]:
    """Hold the conversation's turn (True), or learn that another process holds it (False)
    after waiting up to `wait` seconds for it to finish."""
    token = uuid.uuid4().hex
    key = lock_key(conversation_id)
    redis = async_redis()
    ttl = lock_milliseconds()
    deadline = time.monotonic() + wait
    while not await redis.set(key, token, nx=True, px=ttl):
        if time.monotonic() >= deadline:
            yield False
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(heartbeat_seconds())
            try:
                if not await RENEW.run([key], [token, ttl]):
                    # The loop was held up longer than the lock lives: pages may have shown
                    # this turn as failed already; its frames still reach them.
                    logger.warning("the turn lock of conversation %s expired while held", conversation_id)
            except UNAVAILABLE:
                logger.warning("could not renew the turn lock of conversation %s", conversation_id)

    beating = asyncio.get_running_loop().create_task(heartbeat())
    try:
        yield True
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        try:
            await RELEASE.run([key], [token])
        except UNAVAILABLE:
            logger.warning("could not release the turn lock of conversation %s; it expires", conversation_id)


async def turn_running(conversation_id: int) -> bool:
    """Whether some process holds the conversation's turn now."""
    return bool(await async_redis().exists(lock_key(conversation_id)))
