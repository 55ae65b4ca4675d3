import pytest

from conversations import streams
from providers.store import sync_redis
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
def forget_frames() -> None:
    """Kept frames are per conversation id, and ids come again after a rolled-back test."""
    client = sync_redis()
    for key in client.scan_iter(match=f"{streams.PREFIX}*"):
        client.delete(key)
