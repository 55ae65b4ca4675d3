"""Per-key request limits, and the rate-limit headers of every key-authenticated call.

A key with `requests_per_minute` is counted in Redis, in windows of a calendar minute shared
by every process, when it is admitted (api.authentication.admit); a call past the limit is
refused before its route runs and is not counted. The tenant's own limits
(providers.quotas: requests per minute, monthly tokens) are enforced by the gateway; here
they are only read, so that the answer can tell the caller where it stands, as OpenAI's
`x-ratelimit-*` headers do:

- `x-ratelimit-{limit,remaining,reset}-requests`: whichever of the key's and the tenant's
  per-minute limits has fewer calls left (after this one: the tenant's limit counts model
  calls, so a gateway-scoped call is taken as one); reset is when the minute ends.
- `x-ratelimit-{limit,remaining,reset}-tokens`: the tenant's monthly token budget, less what
  was used and is held by calls in flight; reset is when the month ends (UTC).

A limit that does not apply (none set, or an unlimited plan) sends no headers.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest
from redis.exceptions import RedisError

from api.models import ApiKey, Scope
from core.redis import LuaScript
from providers import quotas
from providers.routing import limits_for
from providers.selectors import gateway_settings_of

logger = logging.getLogger(__name__)

KEY_PREFIX = "sce:rate:api-key:"
WINDOW_SECONDS = 60
# Where admit() leaves the call's standing for ApiResponseMiddleware.
REQUEST_ATTRIBUTE = "sce_rate_limits"

# KEYS[1] the key's counter for this minute; ARGV limit, ttl. Replies {admitted, count}: a
# refused call is not counted, so a client that waits is not kept out by its own retries.
_ADMIT = LuaScript("""
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return {0, count} end
count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return {1, count}
""")


@dataclass(frozen=True)
class Window:
    """Where a caller stands against one limit."""

    limit: int
    remaining: int
    reset_seconds: float

    @property
    def reset_text(self) -> str:
        """The time to the reset as OpenAI writes it: `1s`, `6m0s`, `2h3m4s`."""
        return duration_text(self.reset_seconds)


@dataclass(frozen=True)
class KeyAdmission:
    """The key's own window after this call, and whether the call was admitted."""

    window: Window
    admitted: bool


@dataclass(frozen=True)
class Standing:
    """The limits a call's answer reports (see the module's docstring)."""

    requests: Window | None
    tokens: Window | None


class RateLimitsUnavailable(Exception):
    """The counters of a key with a limit could not be reached."""


def duration_text(seconds: float) -> str:
    """`seconds` (rounded up) as `45s`, `6m0s` or `2h3m4s`."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _minute_reset(now: float) -> float:
    return WINDOW_SECONDS - now % WINDOW_SECONDS


def _month_reset(now: float) -> float:
    moment = datetime.fromtimestamp(now, tz=UTC)
    next_month = (
        datetime(moment.year + 1, 1, 1, tzinfo=UTC)
        if moment.month == 12
        else datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
    )
    return next_month.timestamp() - now


def admit_key_call(key: ApiKey, *, now: float | None = None) -> KeyAdmission | None:
    """Count one call of `key` against its own per-minute limit; None for a key without one.

    Raises RateLimitsUnavailable when Redis does not answer: a key's limit that cannot be
    counted cannot be kept, so its calls are refused, as the gateway's quotas are.
    """
    if key.requests_per_minute is None:
        return None
    now = time.time() if now is None else now
    counter = f"{KEY_PREFIX}{key.prefix}:{int(now // WINDOW_SECONDS)}"
    try:
        admitted, count = _ADMIT.run_sync([counter], [key.requests_per_minute, 2 * WINDOW_SECONDS])
    except (RedisError, OSError) as error:
        logger.error("the rate limit of API key %s could not be counted", key.prefix, exc_info=True)
        raise RateLimitsUnavailable from error
    window = Window(
        limit=key.requests_per_minute,
        remaining=max(0, key.requests_per_minute - int(count)),
        reset_seconds=_minute_reset(now),
    )
    return KeyAdmission(window=window, admitted=bool(int(admitted)))


def standing(
    key: ApiKey, scope: Scope, admission: KeyAdmission | None, *, now: float | None = None
) -> Standing:
    """Where the call stands against its key's and its tenant's limits (one database read,
    and a Redis read per tenant limit that is set). What Redis cannot tell is left out."""
    now = time.time() if now is None else now
    limits = limits_for(key.tenant, gateway_settings_of(tenant=key.tenant))
    requests = [admission.window] if admission is not None else []
    tokens = None
    try:
        if limits.requests_per_minute is not None:
            # The gateway counts this call after this read, when the call reaches a model.
            counted = quotas.minute_requests(tenant_id=key.tenant_id, now=now) + (scope == Scope.GATEWAY)
            requests.append(
                Window(
                    limit=limits.requests_per_minute,
                    remaining=max(0, limits.requests_per_minute - counted),
                    reset_seconds=_minute_reset(now),
                )
            )
        if limits.monthly_tokens is not None:
            usage = quotas.month_usage(tenant_id=key.tenant_id, now=now)
            taken = usage.used_tokens + usage.reserved_tokens
            tokens = Window(
                limit=limits.monthly_tokens,
                remaining=max(0, limits.monthly_tokens - taken),
                reset_seconds=_month_reset(now),
            )
    except (RedisError, OSError):
        logger.warning("the usage of tenant %s could not be read for its rate-limit headers", key.tenant_id)
    binding = min(requests, key=lambda window: (window.remaining, window.limit), default=None)
    return Standing(requests=binding, tokens=tokens)


def remember(request: HttpRequest, found: Standing) -> None:
    """Keep the call's standing on the request, for its answer's headers."""
    setattr(request, REQUEST_ATTRIBUTE, found)


def standing_of(request: HttpRequest) -> Standing | None:
    """The standing admit() kept on the request; None for a call no key was admitted for."""
    found = getattr(request, REQUEST_ATTRIBUTE, None)
    return found if isinstance(found, Standing) else None


def headers(found: Standing) -> dict[str, str]:
    """The `x-ratelimit-*` headers of a standing."""
    written: dict[str, str] = {}
    for name, window in (("requests", found.requests), ("tokens", found.tokens)):
        if window is not None:
            written[f"x-ratelimit-limit-{name}"] = str(window.limit)
            written[f"x-ratelimit-remaining-{name}"] = str(window.remaining)
            written[f"x-ratelimit-reset-{name}"] = window.reset_text
    return written
