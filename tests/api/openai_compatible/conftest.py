"""Fixtures for the OpenAI-compatible routes: a gateway key and the tenant's providers,
served by the wire emulators, and the official clients pointed at the live server."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from api import services
from providers import services as provider_services
from providers.interface import Task
from tenants.models import Tenant
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
)

__all__ = [
    "anthropic_emulator",
    "anthropic_emulator_server",
    "fast_gateway",
    "fresh_gateway_state",
    "model_prices",
    "openai_emulator",
    "openai_emulator_server",
]


def own_provider(tenant: Tenant, emulator: EmulatorServer, *, name: str, kind: str, model: str) -> None:
    """The tenant's own credential `name`, served by `emulator`."""
    provider_services.credential_create(
        tenant=tenant,
        actor=None,
        name=name,
        kind=kind,
        api_key=f"sk-{name}-0123456789abcdef",
        default_model=model,
        base_url=emulator.base_url,
    )


@pytest.fixture
def team_openai(
    issued: services.IssuedApiKey, openai_emulator: EmulatorServer, model_prices: None
) -> EmulatorServer:
    """The key's tenant answers API calls with its own OpenAI key ("team-openai", model
    gpt-4o-mini) alone, served by the OpenAI emulator, which is returned."""
    tenant = issued.key.tenant
    own_provider(tenant, openai_emulator, name="team-openai", kind="openai", model="gpt-4o-mini")
    provider_services.route_set(tenant=tenant, task=Task.API, targets=[{"provider": "team-openai"}])
    return openai_emulator


@pytest.fixture
def bearer(issued: services.IssuedApiKey) -> dict[str, Any]:
    """The test client's headers for the issued gateway key."""
    return {"Authorization": f"Bearer {issued.plaintext}"}


@pytest.fixture
def client(live_server_url: str, issued: services.IssuedApiKey, team_openai: EmulatorServer) -> openai.OpenAI:
    """The official client, unmodified, against the live server with the tenant's key."""
    return openai.OpenAI(base_url=live_server_url + "/v1", api_key=issued.plaintext, max_retries=0)


@pytest.fixture
def async_client(
    live_server_url: str, issued: services.IssuedApiKey, team_openai: EmulatorServer
) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=live_server_url + "/v1", api_key=issued.plaintext, max_retries=0)
