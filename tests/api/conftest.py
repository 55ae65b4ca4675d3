from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from api import services
from api.models import Scope
from tests.conftest import TenantUsers


@pytest.fixture
def issued(tenant_users: TenantUsers) -> services.IssuedApiKey:
    """An active gateway key of the tenant "acme", made by its owner."""
    return services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="billing sync", scopes=[Scope.GATEWAY]
    )


class Clock:
    """`timezone.now()` as the test sets it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, moment: str) -> None:
        self.now = datetime.fromisoformat(moment).replace(tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)
