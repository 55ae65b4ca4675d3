"""Fixed-window rate limits kept in Redis, shared by every process.

A window opens with the first event of a subject and lasts `window_seconds`; the events in
it are counted, and those past the limit are refused until it closes. Subjects are hashed
into the key: an email address is not stored in Redis, and any length fits.
"""

from __future__ import annotations

import hashlib

from core.redis import LuaScript

KEY_PREFIX = "sce:rate"

# Count and open the window in one step: a counter without an expiry would refuse forever.
_COUNT = LuaScript(
    """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
)


def rate_limit_key(*, scope: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{KEY_PREFIX}:{scope}:{digest}"


def rate_limit_hit(*, scope: str, subject: str, limit: int, window_seconds: int) -> bool:
    """Count one event of `subject` in `scope`; True while this window's count is within `limit`.

    Raises redis.RedisError when Redis cannot be reached: the caller chooses to fail open
    or closed.
    """
    count = _COUNT.run_sync([rate_limit_key(scope=scope, subject=subject)], [max(1, window_seconds)])
    return int(count) <= limit
