"""Operators' admin for the gateway: read-only records, masked keys, breaker resets."""

from __future__ import annotations

import pytest
from django.test import Client

from providers import breaker, services
from providers.kinds import credential_breaker_key
from providers.models import CircuitReset, ProviderLog
from tenants.models import User
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

CANARY = "sk-canary-admin-00112233445566"


@pytest.fixture
def operator(tenant_users: TenantUsers) -> tuple[Client, User]:
    user = User.objects.create_superuser(email="ops@sce.test", password="x" * 20)
    client = Client()
    client.force_login(user)
    return client, user


def test_operators_read_logs_metrics_prices_and_masked_credentials(
    operator: tuple[Client, User], tenant_users: TenantUsers
) -> None:
    client, _user = operator
    credential = services.credential_create(
        tenant=tenant_users.tenant,
        actor=None,
        name="acme-openai",
        kind="openai",
        api_key=CANARY,
        default_model="m",
    )
    ProviderLog.objects.create(
        tenant=tenant_users.tenant, request_id="req_a", task="api", provider="p", kind="k", model="m"
    )
    for url in (
        "/admin/providers/providerlog/?q=req_a",
        "/admin/providers/providermetric/",
        "/admin/providers/modelprice/?q=sonnet",
        "/admin/providers/providercredential/",
        f"/admin/providers/providercredential/{credential.pk}/change/",
        "/admin/providers/circuitreset/",
        "/admin/providers/taskroute/",
        "/admin/providers/gatewaysettings/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert CANARY not in response.content.decode()
    assert "••••5566" in client.get("/admin/providers/providercredential/").content.decode()
    assert client.get("/admin/providers/providerlog/add/").status_code == 403
    log = ProviderLog.objects.dangerously_unscoped().get()
    assert client.post(f"/admin/providers/providerlog/{log.pk}/delete/").status_code == 403


def test_the_reset_breaker_action_is_recorded_with_the_operator(
    operator: tuple[Client, User], tenant_users: TenantUsers
) -> None:
    client, user = operator
    credential = services.credential_create(
        tenant=tenant_users.tenant,
        actor=None,
        name="acme-openai",
        kind="openai",
        api_key=CANARY,
        default_model="m",
    )
    response = client.post(
        "/admin/providers/providercredential/",
        {"action": "reset_breaker", "_selected_action": [credential.pk]},
    )
    assert response.status_code == 302
    record = CircuitReset.objects.get()
    assert (record.reset_via, record.reset_by, record.provider) == ("admin", user, "acme-openai")
    assert breaker.status(credential_breaker_key(credential.pk)).state == breaker.BreakerState.CLOSED
