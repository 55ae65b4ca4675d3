"""Fixtures for the Anthropic-compatible routes: a tenant whose API calls go to a wire
emulator, and the official `anthropic` clients pointed at the live server with its key."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest

from api import services as api_services
from providers import services as provider_services
from providers.interface import Task
from providers.models import LogState, ProviderLog
from tests.conftest import TenantUsers
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
)

__all__ = [
    "anthropic_emulator",
    "anthropic_emulator_server",
    "fresh_gateway_state",
    "model_prices",
    "openai_emulator",
    "openai_emulator_server",
]


def route_api_to(
    tenant_users: TenantUsers, emulator: EmulatorServer, *, kind: str, name: str, model: str
) -> None:
    """The tenant's own `kind` credential `name`, served by `emulator`, alone on the API route."""
    provider_services.credential_create(
        tenant=tenant_users.tenant,
        actor=tenant_users.owner,
        name=name,
        kind=kind,
        api_key=f"sk-{kind}-route-test-0123456789",
        default_model=model,
        base_url=emulator.base_url,
    )
    provider_services.route_set(tenant=tenant_users.tenant, task=Task.API, targets=[{"provider": name}])


@pytest.fixture
def team_anthropic(
    tenant_users: TenantUsers, anthropic_emulator: EmulatorServer, model_prices: None
) -> EmulatorServer:
    """The tenant "acme"'s API calls answered by the Anthropic emulator ("team-anthropic")."""
    route_api_to(
        tenant_users, anthropic_emulator, kind="anthropic", name="team-anthropic", model="claude-sonnet-4-5"
    )
    return anthropic_emulator


@pytest.fixture
def team_openai(
    tenant_users: TenantUsers, openai_emulator: EmulatorServer, model_prices: None
) -> EmulatorServer:
    """The tenant "acme"'s API calls answered by the OpenAI emulator ("team-openai")."""
    route_api_to(tenant_users, openai_emulator, kind="openai", name="team-openai", model="gpt-4o-mini")
    return openai_emulator


@pytest.fixture
def client(live_server_url: str, issued: api_services.IssuedApiKey) -> Iterator[anthropic.Anthropic]:
    """The official client, unmodified, against the live server with the tenant's key."""
    with anthropic.Anthropic(base_url=live_server_url, api_key=issued.plaintext, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def async_client(
    live_server_url: str, issued: api_services.IssuedApiKey
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=live_server_url, api_key=issued.plaintext, max_retries=0
    ) as sdk:
        yield sdk


def settled_log(tenant_users: TenantUsers, timeout: float = 10.0) -> ProviderLog:
    """The tenant's one log row, once the server has closed it (it writes it after replying)."""
    deadline = time.monotonic() + timeout
    while True:
        row = ProviderLog.objects.for_tenant(tenant_users.tenant).first()
        if row is not None and row.state != LogState.PENDING:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"no settled log row within {timeout}s: {row}")
        time.sleep(0.05)
