"""What the generation API's tests share: keys of the tenant "acme" (with and without the
generations scope) and of the other tenant, a plan with room for many generations, the
tasks the services send (recorded, not sent), and codegen's own generation builders."""

from __future__ import annotations

from typing import Any

import pytest

from api import services as api_services
from api.models import Scope
from tests.codegen.fixtures import sent
from tests.codegen.views.builders import forget_generation_frames
from tests.conftest import TenantUsers

__all__ = ["forget_generation_frames", "sent"]


@pytest.fixture
def key(tenant_users: TenantUsers) -> str:
    """A generations key of "acme", on the enterprise plan (no monthly limit)."""
    tenant_users.tenant.plan = "enterprise"
    tenant_users.tenant.save(update_fields=["plan"])
    return api_services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="ci", scopes=[Scope.GENERATIONS]
    ).plaintext


@pytest.fixture
def gateway_key(tenant_users: TenantUsers) -> str:
    """A key of "acme" without the generations scope."""
    return api_services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="chat", scopes=[Scope.GATEWAY]
    ).plaintext


@pytest.fixture
def other_key(tenant_users: TenantUsers) -> str:
    """A generations key of the other tenant, "globex"."""
    return api_services.api_key_create(
        tenant=tenant_users.other_tenant, actor=tenant_users.outsider, name="ci", scopes=[Scope.GENERATIONS]
    ).plaintext


def bearer(plaintext: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {plaintext}"}
