"""Credentials of the named kinds (the OpenAI-wire ones, Gemini, Voyage): what the form asks
of each, what is stored, and what their calls cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from providers.kinds import AZURE_API_VERSION, KIND_CAPABILITIES
from providers.models import ProviderCredential
from providers.pricing import FREE, UNKNOWN, Price, lookup
from providers.routing import credential_config, credential_secret
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

PROVIDERS = "/t/acme/providers/"


def add_key(client: Client, **fields: str | list[str]) -> Any:
    data: dict[str, str | list[str]] = {
        "name": "key",
        "default_model": "a-model",
        "api_key": "sk-some-key-0123456789",
        "enabled": "on",
    }
    data.update(fields)
    return client.post(PROVIDERS + "credentials/new/", data)


def stored(tenant_users: TenantUsers) -> ProviderCredential:
    return ProviderCredential.objects.for_tenant(tenant_users.tenant).get()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "openai_compatible"}, "needs the address of its server"),
        ({"kind": "azure_openai"}, "needs the address of its server"),
        ({"kind": "groq", "base_url": "https://proxy.example.com"}, "is reached at its own API only"),
        ({"kind": "openai", "api_version": "2024-10-21"}, "Only Azure OpenAI takes an API version."),
        (
            {"kind": "azure_openai", "base_url": "https://acme.openai.azure.com", "api_version": "latest"},
            "Write it as 2024-10-21",
        ),
        ({"kind": "azure_openai", "base_url": "https://acme.openai.azure.com", "api_key": ""}, "required"),
        ({"kind": "gemini", "api_key": ""}, "required"),
        ({"kind": "voyage", "api_version": "2024-10-21"}, "Only Azure OpenAI takes an API version."),
    ],
    ids=[
        "compatible-no-url",
        "azure-no-url",
        "groq-url",
        "version-not-azure",
        "bad-version",
        "azure-no-key",
        "gemini-no-key",
        "version-not-voyage",
    ],
)
def test_each_kind_gets_a_clear_422_for_what_it_lacks_or_refuses(
    tenant_users: TenantUsers, fields: dict[str, str], error: str
) -> None:
    response = add_key(tenant_users.client_for(tenant_users.admin), **fields)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not ProviderCredential.objects.for_tenant(tenant_users.tenant).exists()


def test_the_form_offers_the_new_kinds_and_the_azure_api_version(tenant_users: TenantUsers) -> None:
    page = tenant_users.client_for(tenant_users.admin).get(PROVIDERS).content.decode()
    for kind in ("openai_compatible", "azure_openai", "groq", "gemini", "voyage"):
        assert f'value="{kind}"' in page
    assert 'name="api_version"' in page


def test_a_local_server_needs_its_address_but_no_key(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    response = add_key(client, kind="openai_compatible", base_url="https://llm.example.com/v1", api_key="")
    assert response.status_code == 302
    credential = stored(tenant_users)
    assert credential.kind == "openai_compatible"
    assert credential_secret(credential) == ""
    # No capability boxes were sent: the kind's own, which keep a small local model to short work.
    assert credential_config(credential).capabilities == KIND_CAPABILITIES["openai_compatible"]
    assert credential_config(credential).capabilities != KIND_CAPABILITIES["openai"]


def test_azure_keeps_its_api_version_and_the_gateway_uses_it(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    response = add_key(
        client,
        kind="azure_openai",
        base_url="https://acme.openai.azure.com",
        api_version="2025-04-01-preview",
    )
    assert response.status_code == 302
    credential = stored(tenant_users)
    assert credential.options == {"api_version": "2025-04-01-preview"}
    assert credential_config(credential).api_version == "2025-04-01-preview"
    # Edited to no version: the default from then on.
    url = f"{PROVIDERS}credentials/{credential.pk}/"
    page = client.get(url).content.decode()
    assert 'value="2025-04-01-preview"' in page
    data = {"name": "key", "default_model": "gpt-4o-prod", "base_url": "https://acme.openai.azure.com"}
    assert client.post(url, {**data, "enabled": "on", "api_version": ""}).status_code == 302
    credential.refresh_from_db()
    assert credential.options == {}
    assert credential_config(credential).api_version == ""
    assert AZURE_API_VERSION in page  # the placeholder says what an empty version means


def test_groq_is_added_without_a_base_url(tenant_users: TenantUsers) -> None:
    assert add_key(tenant_users.client_for(tenant_users.admin), kind="groq").status_code == 302
    assert stored(tenant_users).kind == "groq"


@pytest.mark.parametrize("base_url", ["", "https://gemini-proxy.example.com"], ids=["google", "proxy"])
def test_gemini_is_added_with_or_without_a_base_url(tenant_users: TenantUsers, base_url: str) -> None:
    """Google's SDK connects through the egress guard, so a tenant's proxy is allowed."""
    client = tenant_users.client_for(tenant_users.admin)
    response = add_key(client, kind="gemini", default_model="gemini-2.5-flash", base_url=base_url)
    assert response.status_code == 302
    config = credential_config(stored(tenant_users))
    assert (config.kind, config.base_url) == ("gemini", base_url or None)
    assert config.capabilities == KIND_CAPABILITIES["gemini"]


def test_a_voyage_key_is_fit_for_no_completion_whatever_was_ticked(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    response = add_key(
        client,
        kind="voyage",
        default_model="voyage-3.5",
        capabilities=["phrasing", "code"],
        capabilities_shown="on",
    )
    assert response.status_code == 302
    credential = stored(tenant_users)
    assert credential.capabilities is None
    config = credential_config(credential)
    assert config.capabilities == frozenset()
    assert not config.completes


def test_a_local_servers_model_is_free_unless_an_operator_priced_it() -> None:
    priced = Price(Decimal("0.10"), Decimal("0.20"), "openai_compatible/big-model@2026-01-01")
    table = {"openai_compatible": [("big-model", priced)]}
    assert lookup(table, "openai_compatible", "qwen2.5-7b") == FREE
    assert lookup(table, "openai_compatible", "big-model") == priced
    # Vendors' models without a recorded price stay "no price", not free.
    assert lookup(table, "azure_openai", "gpt-4o-prod") == UNKNOWN
    assert lookup(table, "groq", "llama-3.3-70b-versatile") == UNKNOWN
