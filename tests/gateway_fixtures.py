"""Fixtures for tests that call the gateway: emulated platform providers, fresh shared state.

Imported by the conftest of each test package that needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from core.redis import sync_redis
from providers import pricing
from providers import services as provider_services
from providers.interface import Task
from providers.models import ModelPrice
from tenants.models import Tenant
from tests.emulators.fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    openai_emulator,
    openai_emulator_server,
)
from tests.emulators.server import EmulatorServer

__all__ = ["anthropic_emulator", "anthropic_emulator_server", "openai_emulator", "openai_emulator_server"]

_seed = importlib.import_module("providers.migrations.0002_seed_model_prices")
SEEDED_PRICES = _seed.PRICES
PRICES_READ_ON = _seed.READ_ON

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"


@pytest.fixture(autouse=True)
def fresh_gateway_state() -> Iterator[None]:
    """Breaker states, quota counters and the price cache start empty in every test."""
    client = sync_redis()
    for key in client.scan_iter(match="sce:breaker:*"):
        client.delete(key)
    for key in client.scan_iter(match="sce:quota:*"):
        client.delete(key)
    pricing.clear_cache()
    yield
    pricing.clear_cache()


@pytest.fixture
def fast_gateway(settings: Any) -> Any:
    """Retries and breaker timings short enough for tests."""
    settings.GATEWAY_BACKOFF_BASE_SECONDS = 0.01
    settings.GATEWAY_BACKOFF_MAX_SECONDS = 0.05
    settings.GATEWAY_MAX_ATTEMPTS = 3
    settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS = 5
    settings.BREAKER_FAILURE_THRESHOLD = 5
    settings.BREAKER_COOLDOWN_SECONDS = 0.5
    return settings


@pytest.fixture
def model_prices(db: None) -> None:
    """The seeded list prices (a transactional test's flush removes migration data)."""
    for kind, model, input_price, output_price, source in SEEDED_PRICES:
        ModelPrice.objects.get_or_create(
            kind=kind,
            model=model,
            effective_from=PRICES_READ_ON,
            defaults={
                "input_per_mtok_usd": input_price,
                "output_per_mtok_usd": output_price,
                "source": source,
            },
        )
    pricing.clear_cache()


@pytest.fixture
def platform(
    fast_gateway: Any, anthropic_emulator: EmulatorServer, openai_emulator: EmulatorServer, model_prices: None
) -> tuple[EmulatorServer, EmulatorServer]:
    """The platform providers anthropic and openai, served by the emulators."""
    fast_gateway.ANTHROPIC_API_KEY = ANTHROPIC_KEY
    fast_gateway.ANTHROPIC_BASE_URL = anthropic_emulator.base_url
    fast_gateway.ANTHROPIC_MODEL = "claude-sonnet-5-5"
    fast_gateway.OPENAI_API_KEY = OPENAI_KEY
    fast_gateway.OPENAI_BASE_URL = openai_emulator.base_url
    fast_gateway.OPENAI_MODEL = "gpt-6-sol"
    return anthropic_emulator, openai_emulator


def anthropic_alone(
    platform: tuple[EmulatorServer, EmulatorServer], tenant: Tenant, *tasks: Task
) -> EmulatorServer:
    """The tenant's `tasks` routed to the Anthropic emulator alone (no fallback), which is returned."""
    for task in tasks:
        provider_services.route_set(tenant=tenant, task=task, targets=[{"provider": "anthropic"}])
    return platform[0]
