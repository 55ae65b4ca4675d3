"""Declared capabilities: a request names what it needs, and only providers declared fit for
it are tried (the 135M embedded model only reads answers under a grammar)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from providers import gateway, services
from providers.errors import ErrorCode
from providers.interface import Capability, ErrorEvent, GatewayRequest, Message, Task
from providers.models import ProviderCredential, ProviderLog
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.providers.test_views import PROVIDERS, add_key

Emulators = tuple[EmulatorServer, EmulatorServer]
PHRASING = frozenset({Capability.PHRASING})
EXTRACTION = frozenset({Capability.EXTRACTION})


def phrasing(tenant_id: int | None = None, **overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "task": Task.CONVERSATION,
        "messages": (Message("user", "Ask about the vendor."),),
        "tenant_id": tenant_id,
        "max_tokens": 50,
        "needs": PHRASING,
    }
    values.update(overrides)
    return GatewayRequest(**values)


@pytest.mark.django_db(transaction=True)
async def test_a_request_no_provider_is_fit_for_is_refused_at_once_and_unlogged(settings: Any) -> None:
    settings.ANTHROPIC_API_KEY = settings.OPENAI_API_KEY = ""  # the embedded model alone
    events = [event async for event in gateway.stream(phrasing())]
    [error] = events
    assert isinstance(error, ErrorEvent)
    assert error.code is ErrorCode.NOT_CAPABLE
    assert "phrasing" in error.message
    assert "Providers" in error.message
    assert await sync_to_async(ProviderLog.objects.for_platform().count)() == 0
    assert not await gateway.fit_for(tenant_id=None, task=Task.CONVERSATION, needs=PHRASING)
    assert await gateway.fit_for(tenant_id=None, task=Task.CONVERSATION, needs=EXTRACTION)


@pytest.mark.django_db(transaction=True)
async def test_the_unfit_are_passed_over_and_the_fit_tried_in_route_order(
    platform: Emulators, tenant_users: TenantUsers
) -> None:
    anthropic, openai = platform
    tenant = tenant_users.tenant
    await sync_to_async(services.credential_create)(
        tenant=tenant, actor=None, name="tiny", kind="openai", api_key="sk-tiny-00000000000",
        default_model="qwen-0.5b", base_url=openai.base_url, capabilities=["extraction"],
    )  # fmt: skip
    await sync_to_async(services.route_set)(
        tenant=tenant,
        task=Task.CONVERSATION,
        targets=[{"provider": "tiny"}, {"provider": "embedded"}, {"provider": "anthropic"}],
    )
    anthropic.push(Reply("Which vendor do you use?"))
    completion = await gateway.complete(phrasing(tenant.pk))
    assert completion.provider == "anthropic"
    assert openai.requests_to("completions") == []
    openai.push(Reply('{"vendor": "Fortinet"}'))
    read = await gateway.complete(phrasing(tenant.pk, needs=EXTRACTION))
    assert read.provider == "tiny"
    # A request that needs nothing in particular goes where the route says first.
    openai.push(Reply("hello"))
    assert (await gateway.complete(phrasing(tenant.pk, needs=frozenset()))).provider == "tiny"


@pytest.mark.django_db
def test_admins_declare_what_a_key_is_fit_for(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    response = add_key(client, capabilities_shown="on", capabilities=["extraction", "code"])
    assert response.status_code == 302
    credential = ProviderCredential.objects.for_tenant(tenant_users.tenant).get()
    assert credential.capabilities == ["code", "extraction"]
    page = client.get(f"{PROVIDERS}credentials/{credential.pk}/").content.decode()
    assert re.search(r'value="extraction"[^>]*checked', page)
    assert not re.search(r'value="phrasing"[^>]*checked', page)
    # Saved without the boxes shown (a script's post), the declaration stays as it was.
    response = client.post(
        f"{PROVIDERS}credentials/{credential.pk}/",
        {"name": "team-openai", "default_model": "gpt-6-sol", "enabled": "on"},
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.capabilities == ["code", "extraction"]


@pytest.mark.django_db
def test_a_key_fit_for_nothing_is_refused_with_a_reason(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    response = add_key(client, capabilities_shown="on")
    assert response.status_code == 422
    assert "Tick at least one" in response.content.decode()
    assert not ProviderCredential.objects.for_tenant(tenant_users.tenant).exists()


@pytest.mark.django_db
def test_a_key_added_without_a_declaration_is_fit_for_what_its_kind_does(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    assert add_key(client).status_code == 302
    assert ProviderCredential.objects.for_tenant(tenant_users.tenant).get().capabilities is None


@pytest.mark.django_db
def test_the_providers_page_says_what_each_provider_is_fit_for(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    add_key(client, capabilities_shown="on", capabilities=["extraction"])
    page = client.get(PROVIDERS).content.decode()
    rows = re.findall(r'<tr data-testid="provider-row">(.*?)</tr>', page, flags=re.S)
    fit = {}
    for row in rows:
        name = re.sub(r"<[^>]+>|\s+", " ", row).split()[0]
        cell = re.search(r'data-testid="fit-for">(.*?)</td>', row, re.S)
        assert cell is not None
        fit[name] = re.findall(r'class="badge">([^<]+)<', cell.group(1))
    assert fit["team-openai"] == ["extraction"]
    assert fit["embedded"] == ["extraction"]
