"""The services the suite runs on match the environment, so CI cannot silently fall back."""

from __future__ import annotations

import os
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from config.celery import app


def test_ci_provides_postgresql_and_redis() -> None:
    if os.environ.get("CI") == "true":
        assert os.environ.get("DATABASE_URL"), "CI must set DATABASE_URL to its PostgreSQL"
        assert os.environ.get("REDIS_URL"), "CI must set REDIS_URL to its Redis"


def test_the_database_is_the_one_the_environment_names() -> None:
    expected = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected


def test_channel_layer_broker_and_cache_use_the_environments_redis() -> None:
    redis_url = os.environ.get("REDIS_URL") or f"unix://{settings.EMBEDDED_REDIS_SOCKET}"
    assert settings.EMBEDDED_REDIS is (not os.environ.get("REDIS_URL"))
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisPubSubChannelLayer"
    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    assert layers["default"]["CONFIG"]["hosts"] == [redis_url]
    assert app.conf.broker_url.split("://", 1)[1] == redis_url.split("://", 1)[1]
    assert app.conf.broker_url.startswith(("redis://", "rediss://", "redis+socket://"))
    assert settings.CACHES["default"]["LOCATION"] == redis_url
