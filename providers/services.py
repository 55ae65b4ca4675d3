"""Writes for the gateway: credentials, routes, limits, breaker resets, key rotation."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from providers import breaker
from providers.crypto import parse_keyring
from providers.interface import Task
from providers.models import CircuitReset, GatewaySettings, ProviderCredential, TaskRoute
from providers.routing import credential_aad, forget_setup
from tenants.models import Tenant, User


def _forget_on_commit(tenant_id: int) -> None:
    """This process routes by the new configuration at once; others within seconds."""
    transaction.on_commit(lambda: forget_setup(tenant_id))


def _seal(credential: ProviderCredential, api_key: str) -> None:
    keyring = parse_keyring(settings.PROVIDER_KEYRING)
    credential.encrypted_key = keyring.encrypt(api_key, associated_data=credential_aad(credential))
    credential.key_hint = api_key[-4:] if len(api_key) >= 12 else ""


@transaction.atomic
def credential_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    kind: str,
    api_key: str,
    default_model: str,
    base_url: str = "",
    capabilities: list[str] | None = None,
    options: dict[str, str] | None = None,
) -> ProviderCredential:
    """Store a tenant's provider key, encrypted and bound to its row. `capabilities` None:
    the kind's own (providers.kinds.KIND_CAPABILITIES); `options` what the kind needs besides
    (Azure's api_version)."""
    credential = ProviderCredential(
        tenant=tenant,
        name=name,
        kind=kind,
        base_url=base_url,
        default_model=default_model,
        options=dict(options or {}),
        capabilities=None if capabilities is None else sorted(capabilities),
        created_by=actor,
    )
    _seal(credential, api_key)
    credential.save(force_insert=True)
    _forget_on_commit(tenant.pk)
    return credential


@transaction.atomic
def credential_update(
    *,
    credential: ProviderCredential,
    name: str,
    default_model: str,
    base_url: str,
    enabled: bool,
    api_key: str | None = None,
    capabilities: list[str] | None = None,
    options: dict[str, str] | None = None,
) -> ProviderCredential:
    """Change a credential; a new key replaces the old one and clears a rejection.
    `capabilities` None keeps what the credential declares, `options` None its options."""
    credential.name = name
    credential.default_model = default_model
    credential.base_url = base_url
    credential.enabled = enabled
    credential.updated_at = timezone.now()
    fields = ["name", "default_model", "base_url", "enabled", "updated_at"]
    if capabilities is not None:
        credential.capabilities = sorted(capabilities)
        fields.append("capabilities")
    if options is not None:
        credential.options = dict(options)
        fields.append("options")
    if api_key:
        _seal(credential, api_key)
        credential.rejected_at = None
        credential.rejected_reason = ""
        fields += ["encrypted_key", "key_hint", "rejected_at", "rejected_reason"]
    credential.save(update_fields=fields)
    _forget_on_commit(credential.tenant_id)
    return credential


@transaction.atomic
def credential_delete(*, credential: ProviderCredential) -> None:
    tenant_id = credential.tenant_id
    credential.delete()
    _forget_on_commit(tenant_id)


def credential_flag_rejected(*, credential_id: int, reason: str) -> None:
    """The provider refused this key: flag it so the Providers page says so."""
    ProviderCredential.objects.dangerously_unscoped().filter(pk=credential_id).update(
        rejected_at=timezone.now(), rejected_reason=reason[:300]
    )


def credentials_rotate_keys() -> tuple[int, int]:
    """Re-encrypt every credential not yet under the newest keyring key: (rotated, total)."""
    keyring = parse_keyring(settings.PROVIDER_KEYRING)
    rotated = total = 0
    for credential in ProviderCredential.objects.dangerously_unscoped().order_by("pk").iterator():
        total += 1
        if keyring.key_id_of(credential.encrypted_key) == keyring.current_id:
            continue
        with transaction.atomic():
            locked = (
                ProviderCredential.objects.dangerously_unscoped().select_for_update().get(pk=credential.pk)
            )
            plaintext = keyring.decrypt(locked.encrypted_key, associated_data=credential_aad(locked))
            locked.encrypted_key = keyring.encrypt(plaintext, associated_data=credential_aad(locked))
            locked.save(update_fields=["encrypted_key"])
        rotated += 1
    return rotated, total


@transaction.atomic
def route_set(*, tenant: Tenant, task: Task, targets: list[dict[str, str]]) -> TaskRoute:
    """Set the providers, in order, that answer `task` for the tenant; empty targets resets it."""
    route = TaskRoute.objects.for_tenant(tenant).filter(task=task).first()
    _forget_on_commit(tenant.pk)
    if not targets:
        if route is not None:
            route.delete()
        return TaskRoute(tenant=tenant, task=task, targets=[])
    if route is None:
        route = TaskRoute(tenant=tenant, task=task)
    route.targets = targets
    route.updated_at = timezone.now()
    route.save()
    return route


@transaction.atomic
def gateway_settings_update(
    *,
    tenant: Tenant,
    store_content: bool,
    requests_per_minute: int | None,
    monthly_token_budget: int | None,
    monthly_cost_budget_usd: Decimal | None,
) -> GatewaySettings:
    current = GatewaySettings.objects.for_tenant(tenant).first() or GatewaySettings(tenant=tenant)
    current.store_content = store_content
    current.requests_per_minute = requests_per_minute
    current.monthly_token_budget = monthly_token_budget
    current.monthly_cost_budget_usd = monthly_cost_budget_usd
    current.save()
    _forget_on_commit(tenant.pk)
    return current


def circuit_reset(
    *, breaker_key: str, provider: str, tenant: Tenant | None, actor: User | None, via: str, label: str = ""
) -> CircuitReset:
    """Close a circuit breaker and record who did it, how, and from what state."""
    previous = breaker.reset(breaker_key)
    return CircuitReset.objects.create(
        breaker_key=breaker_key,
        provider=provider,
        tenant=tenant,
        previous_state=previous.state.value,
        reset_by=actor,
        reset_via=via,
        reset_by_label=label or (actor.email if actor else ""),
    )
