"""Circuit breaker per provider credential, shared by every process through Redis.

closed --N consecutive failures--> open --cooldown--> half-open --probe ok--> closed
                                     ^                    |
                                     +----probe fails-----+

Half-open admits exactly one request (the probe); the others are refused until it reports.
A probe that never reports (its process died) is replaced after `probe_timeout`. Each
transition is one Lua script, so concurrent processes cannot both take the probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from django.conf import settings

from core.redis import LuaScript, sync_redis

PREFIX = "sce:breaker:"


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Admission:
    allowed: bool
    probe: bool = False
    # When refused: seconds until a probe may be admitted.
    retry_in: float = 0.0
    # Closed with no failure on record: a success then has nothing to reset.
    clean: bool = False


@dataclass(frozen=True)
class BreakerStatus:
    key: str
    state: BreakerState
    failures: int
    opened_at: float | None


# KEYS[1] breaker hash; ARGV now, cooldown, probe_timeout. Replies {allowed, probe, retry_in,
# clean} as strings: Redis truncates Lua numbers to integers. A hash exists only while
# something is on record (failures or a state other than closed).
ACQUIRE = LuaScript("""
if redis.call('EXISTS', KEYS[1]) == 0 then return {'1', '0', '0', '1'} end
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'closed' then return {'1', '0', '0', '0'} end
local now = tonumber(ARGV[1])
if state == 'open' then
  local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
  local wait = opened + tonumber(ARGV[2]) - now
  if wait > 0 then return {'0', '0', tostring(wait), '0'} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_started', ARGV[1])
  return {'1', '1', '0', '0'}
end
local started = tonumber(redis.call('HGET', KEYS[1], 'probe_started') or '0')
local wait = started + tonumber(ARGV[3]) - now
if wait > 0 then return {'0', '0', tostring(wait), '0'} end
redis.call('HSET', KEYS[1], 'probe_started', ARGV[1])
return {'1', '1', '0', '0'}
""")

# KEYS[1]; ARGV now, threshold, is_probe. Replies the state after the failure.
FAILURE = LuaScript("""
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then return 'open' end
if state == 'half_open' then
  if ARGV[3] ~= '1' then return 'half_open' end
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  return 'open'
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  return 'open'
end
return 'closed'
""")

# KEYS[1]; ARGV is_probe. Replies the state after the success.
SUCCESS = LuaScript("""
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then
  if redis.call('HGET', KEYS[1], 'failures') then redis.call('DEL', KEYS[1]) end
  return 'closed'
end
if state == 'half_open' and ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  return 'closed'
end
return state
""")


def _settings() -> tuple[int, float, float]:
    threshold = int(getattr(settings, "BREAKER_FAILURE_THRESHOLD", 5))
    cooldown = float(getattr(settings, "BREAKER_COOLDOWN_SECONDS", 60.0))
    probe_timeout = float(getattr(settings, "BREAKER_PROBE_TIMEOUT_SECONDS", 120.0))
    return threshold, cooldown, probe_timeout


async def acquire(key: str, *, now: float | None = None) -> Admission:
    """May a request go to this credential now? Takes the probe slot when half-open."""
    _threshold, cooldown, probe_timeout = _settings()
    allowed, probe, retry_in, clean = await ACQUIRE.run(
        [PREFIX + key], [now if now is not None else time.time(), cooldown, probe_timeout]
    )
    return Admission(allowed=allowed == "1", probe=probe == "1", retry_in=float(retry_in), clean=clean == "1")


async def record_failure(key: str, *, probe: bool, now: float | None = None) -> BreakerState:
    threshold, _cooldown, _probe_timeout = _settings()
    state = await FAILURE.run(
        [PREFIX + key], [now if now is not None else time.time(), threshold, "1" if probe else "0"]
    )
    return BreakerState(state)


async def record_success(key: str, *, probe: bool) -> BreakerState:
    return BreakerState(await SUCCESS.run([PREFIX + key], ["1" if probe else "0"]))


def status(key: str) -> BreakerStatus:
    """The breaker's state as stored (open stays open until a request asks after the cooldown)."""
    raw: dict[str, str] = cast(dict[str, str], sync_redis().hgetall(PREFIX + key))
    opened_at = raw.get("opened_at")
    return BreakerStatus(
        key=key,
        state=BreakerState(raw.get("state", "closed")),
        failures=int(raw.get("failures", 0)),
        opened_at=float(opened_at) if opened_at else None,
    )


def reset(key: str) -> BreakerStatus:
    """Close the breaker; returns what it was. Callers record who reset it (services)."""
    previous = status(key)
    sync_redis().delete(PREFIX + key)
    return previous


def statuses_on_record() -> list[BreakerStatus]:
    """Every breaker with something on record (failures, or open or half-open), for metrics;
    the others are closed with a clean slate."""
    keys = sorted(str(key) for key in sync_redis().scan_iter(match=PREFIX + "*", count=500))
    return [status(key.removeprefix(PREFIX)) for key in keys]
