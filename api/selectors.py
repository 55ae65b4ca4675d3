"""Reads of API keys."""

from __future__ import annotations

from django.db.models import QuerySet

from api.models import ApiKey, ApiKeyEvent
from tenants.models import Tenant


def api_keys_of_tenant(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """The tenant's keys, revoked and expired ones included, newest first."""
    return ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at", "-pk")


def api_key_events_of_tenant(*, tenant: Tenant) -> QuerySet[ApiKeyEvent]:
    """The audit trail of the tenant's keys, newest first."""
    return (
        ApiKeyEvent.objects.for_tenant(tenant).select_related("key", "actor").order_by("-created_at", "-pk")
    )


def api_key_by_prefix(*, prefix: str) -> ApiKey | None:
    """The key with this prefix, with its tenant, from any tenant.

    Keyed by the prefix of a presented key (whose secret is checked next) or named by an
    operator on the command line; never offered to a tenant's pages, which use
    `api_keys_of_tenant`.
    """
    return ApiKey.objects.dangerously_unscoped().select_related("tenant").filter(prefix=prefix).first()
