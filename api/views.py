"""The tenant's API keys page: everyone in the tenant sees the keys (never their secrets);
admins and owners create and revoke them. A new key is shown on its creation's answer only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from api import selectors, services
from api.forms import ApiKeyForm
from api.models import ApiKey, ApiKeyEvent
from providers.routing import limits_for
from providers.selectors import gateway_settings_of
from tenants.access import TenantRequest, get_tenant_object_or_404, signed_in_user, tenant_view
from tenants.models import Role
from tenants.throttles import client_address

PAGE = "api/keys.html"
EVENTS_SHOWN = 20


def _render(
    request: TenantRequest,
    *,
    form: ApiKeyForm | None = None,
    issued: services.IssuedApiKey | None = None,
    status: int = 200,
) -> HttpResponse:
    can_manage = request.membership.can(Role.ADMIN)
    if form is None and can_manage:
        form = ApiKeyForm(organization_limit=_organization_limit(request))
    context: dict[str, Any] = {
        "keys": selectors.api_keys_of_tenant(tenant=request.tenant),
        "events": selectors.api_key_events_of_tenant(tenant=request.tenant)[:EVENTS_SHOWN],
        "form": form,
        "issued": issued,
        "can_manage": can_manage,
    }
    template = f"{PAGE}#keys-panel" if request.htmx else PAGE
    return render(request, template, context, status=status)


def _organization_limit(request: TenantRequest) -> int | None:
    """The tenant's own requests-per-minute limit, which every key is held to as well."""
    tenant = request.tenant
    return limits_for(tenant, gateway_settings_of(tenant=tenant)).requests_per_minute


@tenant_view(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def key_list(request: TenantRequest) -> HttpResponse:
    """The keys, and (POST) a new one, whose plaintext this answer shows once."""
    if request.method != "POST":
        return _render(request)
    form = ApiKeyForm(request.POST, organization_limit=_organization_limit(request))
    if not form.is_valid():
        return _render(request, form=form, status=422)
    issued = services.api_key_create(
        tenant=request.tenant,
        actor=signed_in_user(request),
        name=form.cleaned_data["name"],
        scopes=form.cleaned_data["scopes"],
        expires_in_days=form.cleaned_data["expires_in_days"],
        requests_per_minute=form.cleaned_data["requests_per_minute"],
        via=ApiKeyEvent.Via.PORTAL,
        origin=client_address(request),
    )
    return _render(request, issued=issued)


@tenant_view(write=Role.ADMIN)
@require_POST
def key_revoke(request: TenantRequest, api_key_id: int) -> HttpResponse:
    """Stop the key working at once."""
    key = get_tenant_object_or_404(ApiKey, request.tenant, pk=api_key_id)
    services.api_key_revoke(
        key=key, actor=signed_in_user(request), via=ApiKeyEvent.Via.PORTAL, origin=client_address(request)
    )
    if request.htmx:
        return _render(request)
    messages.success(request, f"Revoked {key.name} ({key.prefix}): calls with it are refused from now on.")
    return redirect("api:key_list", tenant_slug=request.tenant.slug)
