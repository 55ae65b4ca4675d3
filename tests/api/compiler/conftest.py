"""What the compiler API's tests share: keys of the tenant "acme" (with and without the
workflows scope) and of the other tenant, and the proposal tests' emulator setup (the
tenant's workflow and conversation tasks answered by the Anthropic emulator alone, Celery
tasks run inline)."""

from __future__ import annotations

from typing import Any

import pytest

from api import services as api_services
from api.models import Scope
from providers.interface import Task
from tests.conftest import TenantUsers
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import anthropic_alone
from tests.workflows.proposal_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    forget_proposal_frames,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
    run_tasks_inline,
)

__all__ = [
    "anthropic_emulator", "anthropic_emulator_server", "fast_gateway", "forget_proposal_frames",
    "fresh_gateway_state", "model_prices", "openai_emulator", "openai_emulator_server", "platform",
    "run_tasks_inline",
]  # fmt: skip


@pytest.fixture
def key(tenant_users: TenantUsers) -> str:
    """A workflows key of "acme"."""
    return api_services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="ci", scopes=[Scope.WORKFLOWS]
    ).plaintext


@pytest.fixture
def gateway_key(tenant_users: TenantUsers) -> str:
    """A key of "acme" without the workflows scope."""
    return api_services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="chat", scopes=[Scope.GATEWAY]
    ).plaintext


@pytest.fixture
def other_key(tenant_users: TenantUsers) -> str:
    """A workflows key of the other tenant, "globex"."""
    return api_services.api_key_create(
        tenant=tenant_users.other_tenant, actor=tenant_users.outsider, name="ci", scopes=[Scope.WORKFLOWS]
    ).plaintext


@pytest.fixture
def anthropic(platform: tuple[EmulatorServer, EmulatorServer], tenant_users: TenantUsers) -> EmulatorServer:
    """Acme's workflow and conversation tasks answered by the Anthropic emulator alone."""
    return anthropic_alone(platform, tenant_users.tenant, Task.WORKFLOW, Task.CONVERSATION)


def bearer(plaintext: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {plaintext}"}
