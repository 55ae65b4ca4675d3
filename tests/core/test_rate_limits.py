"""core.rate_limits: fixed windows counted in Redis."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from redis.exceptions import RedisError

from core.rate_limits import rate_limit_hit, rate_limit_key
from core.redis import sync_redis


def seconds_left(key: str) -> int:
    return cast(int, sync_redis().ttl(key))


@pytest.fixture
def scope() -> str:
    """A scope of this test's own: Redis outlives tests."""
    return f"test-{uuid.uuid4()}"


def test_events_past_the_limit_are_refused_per_subject(scope: str) -> None:
    verdicts = [rate_limit_hit(scope=scope, subject="a", limit=3, window_seconds=60) for _ in range(5)]
    assert verdicts == [True, True, True, False, False]
    assert rate_limit_hit(scope=scope, subject="b", limit=3, window_seconds=60)
    assert rate_limit_hit(scope=f"{scope}-other", subject="a", limit=3, window_seconds=60)


def test_the_window_opens_with_the_first_event_and_expires(scope: str) -> None:
    key = rate_limit_key(scope=scope, subject="a")
    rate_limit_hit(scope=scope, subject="a", limit=3, window_seconds=60)
    assert 0 < seconds_left(key) <= 60
    sync_redis().expire(key, 5)
    rate_limit_hit(scope=scope, subject="a", limit=3, window_seconds=60)
    assert seconds_left(key) <= 5, "later events do not extend the window"
    sync_redis().delete(key)  # the window closed
    assert rate_limit_hit(scope=scope, subject="a", limit=1, window_seconds=60)


def test_subjects_are_not_stored_in_the_clear(scope: str) -> None:
    key = rate_limit_key(scope=scope, subject="sam@example.com")
    assert "sam" not in key
    assert key == rate_limit_key(scope=scope, subject="sam@example.com")
    assert key != rate_limit_key(scope=scope, subject="kim@example.com")


def test_an_unreachable_redis_raises_for_the_caller_to_decide(
    scope: str, settings: Any, tmp_path: Path
) -> None:
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis.sock"
    with pytest.raises(RedisError):
        rate_limit_hit(scope=scope, subject="a", limit=1, window_seconds=60)
