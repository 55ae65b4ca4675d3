"""Fixtures of the inference API's tests: keys of two tenants, a tenant's own provider served by
the Anthropic emulator (what the server processes use), the tasks the services send."""

from __future__ import annotations

from typing import Any

import pytest

from api import services as key_services
from api.inference import tasks
from api.models import Scope
from providers import services as provider_services
from providers.interface import Task
from tenants.models import Tenant
from tests.conftest import TenantUsers
from tests.emulators.server import EmulatorServer
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
    "anthropic_emulator", "anthropic_emulator_server", "fast_gateway", "fresh_gateway_state",
    "model_prices", "openai_emulator", "openai_emulator_server", "platform",
]  # fmt: skip

Message = tuple[int, str]


@pytest.fixture
def outsider_key(tenant_users: TenantUsers) -> key_services.IssuedApiKey:
    """A gateway key of the other tenant, "globex"."""
    return key_services.api_key_create(
        tenant=tenant_users.other_tenant, actor=tenant_users.outsider, name="globex", scopes=[Scope.GATEWAY]
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Message]:
    """The (request pk, lease) of every task the services send, instead of sending it."""
    messages: list[Message] = []
    monkeypatch.setattr(tasks.run_inference, "delay", lambda *message: messages.append(message))
    return messages


def team_anthropic(tenant: Tenant, emulator: EmulatorServer) -> None:
    """The tenant's own Anthropic key ("team-anthropic"), served by the emulator, alone on the
    API's route: read from the database, so the server and worker processes use it too."""
    provider_services.credential_create(
        tenant=tenant,
        actor=None,
        name="team-anthropic",
        kind="anthropic",
        api_key="sk-ant-inference-0123456789",
        default_model="claude-sonnet-5-5",
        base_url=emulator.base_url,
    )
    provider_services.route_set(tenant=tenant, task=Task.API, targets=[{"provider": "team-anthropic"}])


def headers(issued: key_services.IssuedApiKey) -> dict[str, Any]:
    return {"x-api-key": issued.plaintext}
