import pytest

from conversations import services, streams
from conversations.blueprints.builtin import NETWORK_SERVICE
from conversations.models import Conversation
from core.redis import sync_redis
from providers.interface import Task
from tests.conftest import TenantUsers
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    anthropic_alone,
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


@pytest.fixture
def anthropic(platform: tuple[EmulatorServer, EmulatorServer], tenant_users: TenantUsers) -> EmulatorServer:
    """Conversations of the tenant answered by the Anthropic emulator alone (no fallback)."""
    return anthropic_alone(platform, tenant_users.tenant, Task.CONVERSATION)


@pytest.fixture
def conversation(tenant_users: TenantUsers) -> Conversation:
    """A Network service interview of the tenant, owned by its member."""
    return services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=NETWORK_SERVICE
    )
