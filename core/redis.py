"""Redis for the gateway's shared state (breaker states, quota counters), and Lua scripts.

asyncio Redis connections belong to the event loop that opened them, and the gateway runs
on several loops (daphne's, and one per `async_to_sync` call in Celery tasks and commands),
so async clients are kept per loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.core.signals import setting_changed
from redis.exceptions import NoScriptError

SOCKET_TIMEOUT = 2.0

# What an unreachable Redis raises (refused, reset, timed out): callers that can go on
# without it (live updates, frames) catch these and say so, instead of failing.
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,  # with TimeoutError
)

_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)
_sync_client: redis.Redis | None = None


def async_redis() -> aioredis.Redis:
    """The Redis client of the running event loop."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            decode_responses=True,
        )
        _async_clients[loop] = client
    return client


def sync_redis() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            decode_responses=True,
        )
    return _sync_client


def reset_clients(**kwargs: Any) -> None:
    """Forget the clients, so the next use connects to the current REDIS_URL."""
    global _sync_client
    if kwargs.get("setting") not in (None, "REDIS_URL"):
        return
    _sync_client = None
    _async_clients.clear()


setting_changed.connect(reset_clients)

Arg = str | int | float


class LuaScript:
    """A script run atomically by Redis: by hash once it is cached there, by source otherwise."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def run(self, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        client = async_redis()
        try:
            return await cast(Awaitable[Any], client.evalsha(self.sha, len(keys), *keys, *map(str, args)))
        except NoScriptError:
            return await cast(Awaitable[Any], client.eval(self.source, len(keys), *keys, *map(str, args)))

    def run_sync(self, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        client = sync_redis()
        try:
            return client.evalsha(self.sha, len(keys), *keys, *map(str, args))
        except NoScriptError:
            return client.eval(self.source, len(keys), *keys, *map(str, args))
