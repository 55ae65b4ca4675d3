"""The benchmark's settings with Channels' list-based Redis layer in place of the pub/sub one.

    .venv/bin/python -m bench.conversation_streams --channel-layer lists

Only for measuring the alternative: RedisChannelLayer receives every message with four
round trips to Redis, one message at a time per process, where the configured
RedisPubSubChannelLayer delivers a group message with one PUBLISH pushed to each subscribed
process. Frames then go through the layer's group_send (core.streams.pubsub_channel
is "" for this layer), as they did before the switch.
"""

from __future__ import annotations

from tests import settings as _base

globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [_base.REDIS_URL], "prefix": "sce:channels", "capacity": 1000},
    }
}
