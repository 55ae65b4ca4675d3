"""What the operations tests share: the gateway's emulated platform providers, and shared
state (breakers, quota counters, key rate limits) that starts empty in every test."""

from __future__ import annotations

import pytest

from core.redis import sync_redis
from tests.gateway_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
)

__all__ = [
    "anthropic_emulator",
    "anthropic_emulator_server",
    "fast_gateway",
    "fresh_gateway_state",
    "model_prices",
    "openai_emulator",
    "openai_emulator_server",
    "platform",
]


@pytest.fixture(autouse=True)
def fresh_key_windows() -> None:
    """Keys' per-minute counters start empty (a key's prefix may be drawn again)."""
    client = sync_redis()
    for key in client.scan_iter(match="sce:rate:api-key:*"):
        client.delete(key)
