"""Providers, Logs and Usage pages. Admins change credentials, routes and limits; everyone
else in the tenant reads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers import selectors, services
from providers.forms import CredentialForm, GatewaySettingsForm, LogFilterForm, RouteForm
from providers.interface import Task
from providers.kinds import capabilities_of, credential_breaker_key
from providers.models import ProviderCredential, ProviderLog
from providers.usage_page import usage_of
from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from tenants.models import Role


def _provider_names(request: TenantRequest) -> list[str]:
    return [status.name for status in selectors.provider_statuses(tenant=request.tenant)]


def _route_forms(request: TenantRequest, data: Any = None) -> list[RouteForm]:
    names = _provider_names(request)
    routes = selectors.routes_of_tenant(tenant=request.tenant)
    forms = []
    for task in Task:
        initial: dict[str, str] = {}
        for slot, target in enumerate(routes[task]):
            initial[f"provider_{slot}"] = target.get("provider", "")
            initial[f"model_{slot}"] = target.get("model", "")
        forms.append(RouteForm(data, task=task, providers=names, initial=initial))
    return forms


def _settings_form(request: TenantRequest, data: Any = None) -> GatewaySettingsForm:
    current = selectors.gateway_settings_of(tenant=request.tenant)
    initial = {
        "store_content": current.store_content if current else True,
        "requests_per_minute": current.requests_per_minute if current else None,
        "monthly_token_budget": current.monthly_token_budget if current else None,
        "monthly_cost_budget_usd": current.monthly_cost_budget_usd if current else None,
    }
    return GatewaySettingsForm(data, initial=initial)


def _providers_page(request: TenantRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    taken = set(selectors.credentials_of_tenant(tenant=request.tenant).values_list("name", flat=True))
    context = {
        "statuses": selectors.provider_statuses(tenant=request.tenant),
        "can_manage": request.membership.can(Role.ADMIN),
        "credential_form": forms.get("credential_form") or CredentialForm(taken_names=taken),
        "route_forms": forms.get("route_forms") or _route_forms(request),
        "settings_form": forms.get("settings_form") or _settings_form(request),
        "limits": selectors.month_spend(tenant=request.tenant)["limits"],
    }
    return render(request, "providers/providers.html", context, status=status)


@tenant_view(write=Role.ADMIN)
@require_GET
def provider_list(request: TenantRequest) -> HttpResponse:
    return _providers_page(request)


@tenant_view(write=Role.ADMIN)
@require_POST
def credential_create(request: TenantRequest) -> HttpResponse:
    taken = set(selectors.credentials_of_tenant(tenant=request.tenant).values_list("name", flat=True))
    form = CredentialForm(request.POST, taken_names=taken)
    if not form.is_valid():
        return _providers_page(request, status=422, credential_form=form)
    credential = services.credential_create(
        tenant=request.tenant,
        actor=request.membership.user,
        name=form.cleaned_data["name"],
        kind=form.cleaned_data["kind"],
        api_key=form.cleaned_data["api_key"],
        default_model=form.cleaned_data["default_model"],
        base_url=form.cleaned_data["base_url"],
        capabilities=form.cleaned_data["capabilities"],
        options=form.options(),
    )
    messages.success(request, f"Added {credential.name}; its key is stored encrypted.")
    return redirect("providers:provider_list", tenant_slug=request.tenant.slug)


@tenant_view(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def credential_detail(request: TenantRequest, credential_id: int) -> HttpResponse:
    credential = get_tenant_object_or_404(ProviderCredential, request.tenant, pk=credential_id)
    others = set(
        selectors.credentials_of_tenant(tenant=request.tenant)
        .exclude(pk=credential.pk)
        .values_list("name", flat=True)
    )
    initial = {
        "name": credential.name,
        "kind": credential.kind,
        "default_model": credential.default_model,
        "base_url": credential.base_url,
        "api_version": (credential.options or {}).get("api_version", ""),
        "enabled": credential.enabled,
        "capabilities": sorted(capabilities_of(credential.kind, credential.capabilities)),
    }
    form = CredentialForm(request.POST or None, editing=True, taken_names=others, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            context = {"credential": credential, "form": form, "can_manage": True}
            return render(request, "providers/credential.html", context, status=422)
        services.credential_update(
            credential=credential,
            name=form.cleaned_data["name"],
            default_model=form.cleaned_data["default_model"],
            base_url=form.cleaned_data["base_url"],
            capabilities=form.cleaned_data["capabilities"],
            options=form.options(),
            enabled=form.cleaned_data["enabled"],
            api_key=form.cleaned_data["api_key"] or None,
        )
        messages.success(request, f"Saved {credential.name}.")
        return redirect("providers:provider_list", tenant_slug=request.tenant.slug)
    return render(
        request,
        "providers/credential.html",
        {"credential": credential, "form": form, "can_manage": request.membership.can(Role.ADMIN)},
    )


@tenant_view(write=Role.ADMIN)
@require_POST
def credential_delete(request: TenantRequest, credential_id: int) -> HttpResponse:
    credential = get_tenant_object_or_404(ProviderCredential, request.tenant, pk=credential_id)
    services.credential_delete(credential=credential)
    messages.success(request, f"Deleted {credential.name}.")
    return redirect("providers:provider_list", tenant_slug=request.tenant.slug)


@tenant_view(write=Role.ADMIN)
@require_POST
def credential_breaker_reset(request: TenantRequest, credential_id: int) -> HttpResponse:
    credential = get_tenant_object_or_404(ProviderCredential, request.tenant, pk=credential_id)
    reset = services.circuit_reset(
        breaker_key=credential_breaker_key(credential.pk),
        provider=credential.name,
        tenant=request.tenant,
        actor=request.membership.user,
        via="portal",
    )
    messages.success(
        request, f"Circuit of {credential.name} reset (it was {reset.previous_state.replace('_', '-')})."
    )
    return redirect("providers:provider_list", tenant_slug=request.tenant.slug)


@tenant_view(write=Role.ADMIN)
@require_POST
def routes_update(request: TenantRequest) -> HttpResponse:
    forms = _route_forms(request, request.POST)
    if not all(form.is_valid() for form in forms):
        return _providers_page(request, status=422, route_forms=forms)
    for form in forms:
        services.route_set(tenant=request.tenant, task=form.task, targets=form.targets())
    messages.success(request, "Routing saved.")
    return redirect("providers:provider_list", tenant_slug=request.tenant.slug)


@tenant_view(write=Role.ADMIN)
@require_POST
def gateway_settings_update(request: TenantRequest) -> HttpResponse:
    form = _settings_form(request, request.POST)
    if not form.is_valid():
        return _providers_page(request, status=422, settings_form=form)
    services.gateway_settings_update(tenant=request.tenant, **form.cleaned_data)
    messages.success(request, "Limits and privacy saved.")
    return redirect("providers:provider_list", tenant_slug=request.tenant.slug)


@tenant_view()
@require_GET
def provider_logs(request: TenantRequest) -> HttpResponse:
    """The tenant's calls, filtered; `?window=24h` (from the Usage page) lists the calls its
    figures count."""
    form = LogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    window_name = request.GET.get("window", "")
    window_error = ""
    if window_name and window_name not in selectors.USAGE_WINDOWS:
        window_error = f"window: choose one of {', '.join(selectors.USAGE_WINDOWS)}."
    window = selectors.usage_window(window_name) if window_name and not window_error else None
    cursors: dict[str, selectors.LogCursor | None] = {"before": None, "after": None}
    for name in cursors:
        if request.GET.get(name):
            try:
                cursors[name] = selectors.LogCursor.parse(request.GET[name])
            except ValueError:
                window_error += f" {name}: not a place in the list; start again from the newest calls."
    logs = selectors.logs_of_tenant(tenant=request.tenant, filters=filters, window=window)
    count, more = selectors.log_count(logs, exact=window is not None)
    query = request.GET.copy()
    # `page` is what the list used before it paged by keyset: an old bookmark's `?page=N`
    # is ignored (the newest calls), never an error.
    for name in ("page", "before", "after"):
        query.pop(name, None)
    context = {
        "form": form,
        "page": selectors.log_page(logs, before=cursors["before"], after=cursors["after"]),
        "count": count,
        "more": more,
        "query": query.urlencode(),
        "providers": selectors.log_providers_of_tenant(tenant=request.tenant),
        "window": window,
        "window_error": window_error.strip(),
    }
    template = "providers/logs.html#log-table" if request.htmx else "providers/logs.html"
    valid = (form.is_valid() or not request.GET) and not window_error
    return render(request, template, context, status=200 if valid else 422)


@tenant_view()
@require_GET
def provider_log_detail(request: TenantRequest, log_id: int) -> HttpResponse:
    entry = get_object_or_404(ProviderLog.objects.for_tenant(request.tenant), pk=log_id)
    attempts = (
        ProviderLog.objects.for_tenant(request.tenant).filter(request_id=entry.request_id).order_by("pk")
    )
    context = {
        "entry": entry,
        "attempts": attempts,
        # The error message may quote an upstream's error body: admins only.
        "shows_error_detail": request.membership.can(Role.ADMIN),
    }
    return render(request, "providers/log_detail.html", context)


@tenant_view()
@require_GET
def usage(request: TenantRequest) -> HttpResponse:
    window = request.GET.get("window", "24h")
    if window not in selectors.USAGE_WINDOWS:
        window = "24h"
    figures = usage_of(tenant=request.tenant, window_name=window)
    context = {
        "charts": figures.charts,
        "window": window,
        "windows": list(selectors.USAGE_WINDOWS),
        "totals": figures.totals,
        "bucket_name": figures.bucket_name,
        **selectors.month_spend(tenant=request.tenant),
    }
    return render(request, "providers/usage.html", context)
