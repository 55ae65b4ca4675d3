"""Provider keys: encrypted at rest, bound to their row, rotatable, never shown or logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.management import call_command

from providers import gateway, services
from providers.crypto import KeyringError, new_key_spec, parse_keyring
from providers.interface import GatewayRequest, Message, Task
from providers.models import ProviderCredential
from providers.routing import credential_secret
from tenants.models import Tenant
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.factories import TenantFactory

CANARY = "sk-canary-7f3e9a1c5b2d4e6f8a0b1c2d3e4f5a6b"


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory.create(plan=Tenant.Plan.ENTERPRISE)


def make(tenant: Tenant, name: str, key: str, base_url: str = "") -> ProviderCredential:
    return services.credential_create(
        tenant=tenant,
        actor=None,
        name=name,
        kind="openai",
        api_key=key,
        default_model="gpt-6-sol",
        base_url=base_url,
    )


def test_a_key_is_stored_encrypted_and_shown_masked(tenant: Tenant) -> None:
    make(tenant, "main", CANARY)
    stored = ProviderCredential.objects.for_tenant(tenant).get()
    assert CANARY not in stored.encrypted_key
    assert stored.encrypted_key.startswith("v1.k1.")
    assert stored.masked_key == "••••5a6b"
    assert credential_secret(stored) == CANARY


def test_short_keys_get_no_hint(tenant: Tenant) -> None:
    assert make(tenant, "short", "abc123").masked_key == "••••"


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(tenant: Tenant) -> None:
    first = make(tenant, "first", "sk-first-000000000001")
    second = make(tenant, "second", "sk-second-00000000002")
    other_tenant = TenantFactory.create()
    foreign = make(other_tenant, "first", "sk-foreign-0000000003")
    second.encrypted_key = first.encrypted_key
    with pytest.raises(KeyringError):
        credential_secret(second)
    foreign.encrypted_key = first.encrypted_key
    with pytest.raises(KeyringError):
        credential_secret(foreign)


def test_an_altered_ciphertext_does_not_decrypt(tenant: Tenant) -> None:
    credential = make(tenant, "main", CANARY)
    head, body = credential.encrypted_key.rsplit(".", 1)
    credential.encrypted_key = f"{head}.{body[:-4]}AAAA"
    with pytest.raises(KeyringError):
        credential_secret(credential)


def test_rotation_re_encrypts_under_the_newest_key_and_keeps_every_key_readable(
    tenant: Tenant, settings: Any
) -> None:
    keys = {f"c{index}": f"sk-rotate-me-{index:08d}" for index in range(3)}
    for name, key in keys.items():
        make(tenant, name, key)
    old = settings.PROVIDER_KEYRING
    settings.PROVIDER_KEYRING = f"{old},{new_key_spec('k2')}"
    call_command("provider", "rotate-keys")
    settings.PROVIDER_KEYRING = settings.PROVIDER_KEYRING.split(",", 1)[1]  # the old key is gone
    for credential in ProviderCredential.objects.for_tenant(tenant):
        assert credential.encrypted_key.startswith("v1.k2.")
        assert credential_secret(credential) == keys[credential.name]
    assert services.credentials_rotate_keys() == (0, 3), "already under the newest key"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("k1:c2hvcnQ", "32 bytes"),
        ("k1:not base64!", "not base64"),
        ("bad id!:" + "A" * 43, "key id"),
        ("k1:" + "A" * 43 + ",k1:" + "B" * 43, "twice"),
    ],
)
def test_malformed_keyrings_are_refused(spec: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        parse_keyring(spec)


@pytest.mark.django_db(transaction=True)
async def test_the_canary_key_never_reaches_the_database_or_the_logs(
    openai_emulator: EmulatorServer, fast_gateway: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await sync_to_async(TenantFactory.create)(plan=Tenant.Plan.ENTERPRISE)
    await sync_to_async(make)(tenant, "canary", CANARY, openai_emulator.base_url)
    await sync_to_async(services.route_set)(tenant=tenant, task=Task.API, targets=[{"provider": "canary"}])
    ask = GatewayRequest(task=Task.API, messages=(Message("user", "hi"),), tenant_id=tenant.pk, max_tokens=10)
    openai_emulator.push(Reply("fine"))
    await gateway.complete(ask)
    openai_emulator.reject_key(CANARY)
    events = [event async for event in gateway.stream(ask)]
    assert events[-1].type == "error"
    assert openai_emulator.requests[0].api_key == CANARY, "the key did reach the provider"

    def every_stored_value() -> str:
        dump: list[str] = []
        for model in apps.get_models():
            manager = model._base_manager
            dump.extend(str(row) for row in manager.values())
        return "\n".join(dump)

    assert CANARY not in await sync_to_async(every_stored_value)()
    assert CANARY not in caplog.text
    assert CANARY[-12:] not in caplog.text
