"""The turn lock: one holder at a time, renewed while held, gone soon after its holder."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from conversations.interview import lock
from core.redis import async_redis


@pytest.fixture
def short_lock(settings: Any) -> None:
    settings.TURN_LOCK_SECONDS = 0.2


@pytest.fixture
def conversation_id() -> int:
    """An id no other test's lock uses (locks live in the suite's one Redis)."""
    return 10**9 + secrets.randbelow(10**9)


async def test_a_held_lock_outlives_its_lifetime_while_its_turn_runs(
    short_lock: None, conversation_id: int
) -> None:
    async with lock.turn_lock(conversation_id) as held:
        assert held
        await asyncio.sleep(5 * lock.lock_milliseconds() / 1000)
        assert await lock.turn_running(conversation_id), "its heartbeat renewed it"
        async with lock.turn_lock(conversation_id) as second:
            assert not second, "one turn at a time"
    assert not await lock.turn_running(conversation_id), "released at the end of the turn"


async def test_a_lock_whose_holder_died_expires_by_itself(short_lock: None, conversation_id: int) -> None:
    key = lock.lock_key(conversation_id)
    await async_redis().set(key, "dead-owner", px=lock.lock_milliseconds())
    assert await lock.turn_running(conversation_id)
    left = await async_redis().pttl(key)
    assert 0 < left <= lock.lock_milliseconds()
    await asyncio.sleep(left / 1000 + 0.05)
    assert not await lock.turn_running(conversation_id), "nothing renewed it"
    async with lock.turn_lock(conversation_id) as held:
        assert held, "the next turn takes it"


def test_the_lock_lives_a_few_seconds_by_default(settings: Any) -> None:
    assert lock.lock_milliseconds() == settings.TURN_LOCK_SECONDS * 1000 <= 10_000
    assert lock.heartbeat_seconds() == settings.TURN_LOCK_SECONDS / 3
