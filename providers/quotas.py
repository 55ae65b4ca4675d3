"""Per-tenant quotas: requests per minute, and monthly token and cost budgets.

Before a request goes upstream the gateway reserves its worst case (prompt estimate +
max_tokens, priced at the dearest candidate) in one Lua script that also checks the
limits, so concurrent processes can never admit more than the budget. After the call it
settles: the reservation is released and the actual usage counted. Reservations whose
process died before settling are released by `release_stale` (a periodic task).

Counters live in Redis. If Redis does not answer, requests are refused (fail closed):
without counters a budget cannot be kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from redis.exceptions import RedisError

from core.redis import LuaScript, sync_redis
from providers.errors import ErrorCode, ProviderError

PREFIX = "sce:quota:"
MICRO = 1_000_000
MONTH_TTL_SECONDS = 40 * 24 * 3600
UNLIMITED = -1


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int | None
    monthly_tokens: int | None
    monthly_cost_usd: float | None

    @property
    def unlimited(self) -> bool:
        return (
            self.requests_per_minute is None and self.monthly_tokens is None and self.monthly_cost_usd is None
        )


@dataclass(frozen=True)
class Reservation:
    tenant_id: int
    request_id: str
    month: str
    tokens: int
    micro_usd: int


@dataclass(frozen=True)
class MonthUsage:
    used_tokens: int
    reserved_tokens: int
    used_cost_usd: float
    reserved_cost_usd: float


def _month(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m")


def _keys(tenant_id: int, month: str, now: float) -> tuple[str, str, str]:
    minute = int(now // 60)
    return (
        f"{PREFIX}rpm:{tenant_id}:{minute}",
        f"{PREFIX}month:{tenant_id}:{month}",
        f"{PREFIX}reservations:{tenant_id}:{month}",
    )


# KEYS rpm, month, reservations. ARGV rpm_limit, token_budget, micro_budget, tokens, micro,
# request_id, expires_at, month_ttl. -1 means no limit. Replies {verdict, detail}.
RESERVE = LuaScript("""
local rpm_limit = tonumber(ARGV[1])
if rpm_limit >= 0 then
  local count = tonumber(redis.call('GET', KEYS[1]) or '0')
  if count >= rpm_limit then return {'rate_limited', tostring(count)} end
end
local tokens = tonumber(ARGV[4])
local micro = tonumber(ARGV[5])
local token_budget = tonumber(ARGV[2])
if token_budget >= 0 then
  local taken = tonumber(redis.call('HGET', KEYS[2], 'used_tokens') or '0')
    + tonumber(redis.call('HGET', KEYS[2], 'reserved_tokens') or '0')
  if taken + tokens > token_budget then return {'budget_exceeded', 'tokens'} end
end
local micro_budget = tonumber(ARGV[3])
if micro_budget >= 0 then
  local taken = tonumber(redis.call('HGET', KEYS[2], 'used_micro') or '0')
    + tonumber(redis.call('HGET', KEYS[2], 'reserved_micro') or '0')
  if taken + micro > micro_budget then return {'budget_exceeded', 'cost'} end
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 120)
redis.call('HINCRBY', KEYS[2], 'reserved_tokens', tokens)
redis.call('HINCRBY', KEYS[2], 'reserved_micro', micro)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[8]))
redis.call('HSET', KEYS[3], ARGV[6], tokens .. ':' .. micro .. ':' .. ARGV[7])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))
return {'ok', ''}
""")

# KEYS month, reservations. ARGV request_id, used tokens, used micro, month_ttl.
SETTLE = LuaScript("""
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held then
  local tokens, micro = string.match(held, '^(%-?%d+):(%-?%d+):')
  redis.call('HINCRBY', KEYS[1], 'reserved_tokens', -tonumber(tokens))
  redis.call('HINCRBY', KEYS[1], 'reserved_micro', -tonumber(micro))
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('HINCRBY', KEYS[1], 'used_tokens', tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'used_micro', tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return held and 1 or 0
""")

# KEYS month, reservations. ARGV now. Releases reservations past their expiry.
RELEASE_STALE = LuaScript("""
local released = 0
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local tokens, micro, expires = string.match(entries[i + 1], '^(%-?%d+):(%-?%d+):([%d%.]+)$')
  if tonumber(expires) < tonumber(ARGV[1]) then
    redis.call('HINCRBY', KEYS[1], 'reserved_tokens', -tonumber(tokens))
    redis.call('HINCRBY', KEYS[1], 'reserved_micro', -tonumber(micro))
    redis.call('HDEL', KEYS[2], entries[i])
    released = released + 1
  end
end
return released
""")


def _unavailable(error: RedisError) -> ProviderError:
    return ProviderError(
        ErrorCode.SERVER_ERROR,
        "usage counters are unavailable, so the request was refused to keep budgets safe; try again shortly",
        provider="gateway",
    )


def _limit(value: int | None) -> int:
    return UNLIMITED if value is None else value


async def reserve(
    *,
    tenant_id: int,
    request_id: str,
    limits: Limits,
    tokens: int,
    cost_usd: float,
    hold_seconds: float,
    now: float | None = None,
) -> Reservation:
    """Admit a request within the tenant's limits, holding its worst case, or refuse it."""
    now = time.time() if now is None else now
    month = _month(now)
    micro = int(cost_usd * MICRO) + 1
    micro_budget = UNLIMITED if limits.monthly_cost_usd is None else int(limits.monthly_cost_usd * MICRO)
    try:
        verdict, detail = await RESERVE.run(
            _keys(tenant_id, month, now),
            [
                _limit(limits.requests_per_minute),
                _limit(limits.monthly_tokens),
                micro_budget,
                tokens,
                micro,
                request_id,
                now + hold_seconds,
                MONTH_TTL_SECONDS,
            ],
        )
    except RedisError as error:
        raise _unavailable(error) from error
    if verdict == "rate_limited":
        raise ProviderError(
            ErrorCode.RATE_LIMITED,
            f"this organization's limit of {limits.requests_per_minute} requests per minute is reached",
            provider="gateway",
            retry_after=60 - now % 60,
        )
    if verdict == "budget_exceeded":
        what = "token" if detail == "tokens" else "cost"
        raise ProviderError(
            ErrorCode.BUDGET_EXCEEDED,
            f"this request would exceed the organization's monthly {what} budget",
            provider="gateway",
        )
    return Reservation(
        tenant_id=tenant_id, request_id=request_id, month=month, tokens=tokens, micro_usd=micro
    )


async def settle(reservation: Reservation, *, tokens: int, cost_usd: float) -> None:
    """Release the hold and count what the request really used."""
    _rpm, month_key, reservations_key = _keys(reservation.tenant_id, reservation.month, 0)
    await SETTLE.run(
        [month_key, reservations_key],
        [reservation.request_id, tokens, int(cost_usd * MICRO), MONTH_TTL_SECONDS],
    )


def release_stale(*, tenant_id: int, now: float | None = None) -> int:
    """Release this month's holds whose request never settled (its process died)."""
    now = time.time() if now is None else now
    _rpm, month_key, reservations_key = _keys(tenant_id, _month(now), now)
    return int(RELEASE_STALE.run_sync([month_key, reservations_key], [now]))


def minute_requests(*, tenant_id: int, now: float | None = None) -> int:
    """The requests counted against the tenant's per-minute limit in this minute so far."""
    now = time.time() if now is None else now
    rpm_key, _month_key, _reservations = _keys(tenant_id, _month(now), now)
    return int(cast(str | None, sync_redis().get(rpm_key)) or 0)


def month_usage(*, tenant_id: int, now: float | None = None) -> MonthUsage:
    now = time.time() if now is None else now
    _rpm, month_key, _reservations = _keys(tenant_id, _month(now), now)
    # The synchronous client replies with the hash itself (redis-py types either client's reply).
    raw = cast(dict[str, str], sync_redis().hgetall(month_key))
    return MonthUsage(
        used_tokens=int(raw.get("used_tokens", 0)),
        reserved_tokens=int(raw.get("reserved_tokens", 0)),
        used_cost_usd=int(raw.get("used_micro", 0)) / MICRO,
        reserved_cost_usd=int(raw.get("reserved_micro", 0)) / MICRO,
    )


def reservation_tenants() -> list[int]:
    """Tenants holding reservations this month, for the reaper."""
    month = _month(time.time())
    tenants = []
    for key in sync_redis().scan_iter(match=f"{PREFIX}reservations:*:{month}", count=500):
        tenants.append(int(str(key).split(":")[3]))
    return tenants
