"""Providers, Logs and Usage pages. Admins change credentials, routes and limits; everyone
else in the tenant reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from providers import selectors, services
from providers.charts import Series, line_chart
from providers.forms import CredentialForm, GatewaySettingsForm, LogFilterForm, RouteForm
from providers.interface import Task
from providers.kinds import capabilities_of, credential_breaker_key
from providers.models import ProviderCredential, ProviderLog
from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from tenants.models import Role

WINDOWS = {
    "24h": (timedelta(hours=24), timedelta(hours=1), "%H:%M"),
    "7d": (timedelta(days=7), timedelta(hours=6), "%b %d"),
    "30d": (timedelta(days=30), timedelta(days=1), "%b %d"),
}


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
    form = LogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    logs = selectors.logs_of_tenant(tenant=request.tenant, filters=filters)
    page = Paginator(logs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "providers": selectors.log_providers_of_tenant(tenant=request.tenant),
    }
    template = "providers/logs.html#log-table" if request.htmx else "providers/logs.html"
    return render(request, template, context, status=200 if form.is_valid() or not request.GET else 422)


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
    if window not in WINDOWS:
        window = "24h"
    span, step, time_format = WINDOWS[window]
    until = (timezone.now() + step).replace(minute=0, second=0, microsecond=0)
    since = until - span
    points = selectors.usage_series(tenant=request.tenant, since=since, until=until, step=step)
    times = [point.start for point in points]

    def chart(title: str, unit: str, *series: Series) -> Any:
        return line_chart(title=title, unit=unit, times=times, series=list(series), time_format=time_format)

    charts = [
        chart("Requests", "", Series("requests", [p.requests for p in points], "line-a"),
              Series("errors", [p.failures for p in points], "line-error")),
        chart("Tokens", "", Series("input", [p.input_tokens for p in points], "line-a"),
              Series("output", [p.output_tokens for p in points], "line-b")),
        chart("Cost", "$", Series("cost", [float(p.cost_usd) for p in points], "line-a")),
        chart("Latency", "ms", Series("p50", [p.p50_ms for p in points], "line-a"),
              Series("p95", [p.p95_ms for p in points], "line-b")),
    ]  # fmt: skip
    totals = {
        "requests": sum(p.requests for p in points),
        "failures": sum(p.failures for p in points),
        "tokens": sum(p.tokens for p in points),
        "cost_usd": sum((p.cost_usd for p in points), Decimal(0)),
    }
    context = {
        "charts": charts,
        "window": window,
        "windows": list(WINDOWS),
        "totals": totals,
        **selectors.month_spend(tenant=request.tenant),
    }
    return render(request, "providers/usage.html", context)
