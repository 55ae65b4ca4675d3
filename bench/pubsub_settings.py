"""The benchmark's settings with Channels' Redis pub/sub layer in place of the list-based one.

    .venv/bin/python -m bench.conversation_streams --channel-layer pubsub

Only for measuring the alternative: RedisPubSubChannelLayer delivers a group message with
one PUBLISH pushed to each subscribed process, where RedisChannelLayer receives every
message with four round trips to Redis, one message at a time per process.
"""

from __future__ import annotations

from tests import settings as _base

globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [_base.REDIS_URL], "prefix": "sce:channels"},
    }
}
