"""Reads for the gateway's portal pages, always for one tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from redis.exceptions import RedisError

from providers import breaker
from providers.interface import Capability, Task
from providers.kinds import capabilities_of, credential_breaker_key
from providers.metrics import LATENCY_BUCKETS_MS, percentile_from_histogram
from providers.models import GatewaySettings, ProviderCredential, ProviderLog, ProviderMetric, TaskRoute
from providers.routing import limits_for, platform_providers
from tenants.models import Tenant


def credentials_of_tenant(*, tenant: Tenant) -> QuerySet[ProviderCredential]:
    return ProviderCredential.objects.for_tenant(tenant).order_by("name")


def routes_of_tenant(*, tenant: Tenant) -> dict[Task, list[dict[str, str]]]:
    routes = {Task(route.task): list(route.targets) for route in TaskRoute.objects.for_tenant(tenant)}
    return {task: routes.get(task, []) for task in Task}


def gateway_settings_of(*, tenant: Tenant) -> GatewaySettings | None:
    return GatewaySettings.objects.for_tenant(tenant).first()


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    kind: str
    default_model: str
    platform: bool
    breaker: str
    credential: ProviderCredential | None = None
    # What its model is declared fit for (providers.interface.Capability), in words, in a fixed order.
    capabilities: tuple[str, ...] = ()


def _breaker_state(key: str) -> str:
    try:
        return breaker.status(key).state.value
    except RedisError:
        return "unknown"


def _in_order(capabilities: frozenset[Capability]) -> tuple[str, ...]:
    return tuple(capability.value.replace("_", " ") for capability in Capability if capability in capabilities)


def provider_statuses(*, tenant: Tenant) -> list[ProviderStatus]:
    """The providers a tenant can route to: its credentials, then the platform's."""
    statuses = [
        ProviderStatus(
            name=credential.name,
            kind=credential.kind,
            default_model=credential.default_model,
            platform=False,
            breaker=_breaker_state(credential_breaker_key(credential.pk)),
            credential=credential,
            capabilities=_in_order(capabilities_of(credential.kind, credential.capabilities)),
        )
        for credential in credentials_of_tenant(tenant=tenant)
    ]
    own = {status.name for status in statuses}
    for name, config in platform_providers().items():
        if name not in own:
            statuses.append(
                ProviderStatus(
                    name=name,
                    kind=config.kind,
                    default_model=config.default_model,
                    platform=True,
                    breaker=_breaker_state(config.breaker_key),
                    capabilities=_in_order(config.capabilities),
                )
            )
    return statuses


def logs_of_tenant(*, tenant: Tenant, filters: dict[str, Any]) -> QuerySet[ProviderLog]:
    logs = ProviderLog.objects.for_tenant(tenant).select_related("user")
    if filters.get("provider"):
        logs = logs.filter(provider=filters["provider"])
    if filters.get("state"):
        logs = logs.filter(state=filters["state"])
    if filters.get("task"):
        logs = logs.filter(task=filters["task"])
    if isinstance(filters.get("since"), date):
        logs = logs.filter(
            started_at__gte=datetime.combine(
                filters["since"], time.min, tzinfo=timezone.get_current_timezone()
            )
        )
    if isinstance(filters.get("until"), date):
        end = datetime.combine(
            filters["until"], time.min, tzinfo=timezone.get_current_timezone()
        ) + timedelta(days=1)
        logs = logs.filter(started_at__lt=end)
    return logs.order_by("-started_at", "-pk")


def log_providers_of_tenant(*, tenant: Tenant) -> list[str]:
    return sorted(set(ProviderLog.objects.for_tenant(tenant).values_list("provider", flat=True).distinct()))


@dataclass
class UsagePoint:
    start: datetime
    requests: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))
    latency_ms_max: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def p50_ms(self) -> int | None:
        return percentile_from_histogram(self.histogram, 0.50, slowest_ms=self.latency_ms_max)

    @property
    def p95_ms(self) -> int | None:
        return percentile_from_histogram(self.histogram, 0.95, slowest_ms=self.latency_ms_max)


def usage_series(*, tenant: Tenant, since: datetime, until: datetime, step: timedelta) -> list[UsagePoint]:
    """The tenant's per-minute metrics summed into buckets of `step`, oldest first."""
    buckets = int((until - since) / step)
    points = [
        UsagePoint(start=since + step * index, histogram=[0] * (len(LATENCY_BUCKETS_MS) + 1))
        for index in range(buckets)
    ]
    rows = ProviderMetric.objects.filter(tenant=tenant, minute__gte=since, minute__lt=until).values_list(
        "minute",
        "requests",
        "failures",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_histogram",
        "latency_ms_max",
    )
    for minute, requests, failures, input_tokens, output_tokens, cost, histogram, slowest in rows:
        index = int((minute - since) / step)
        if not 0 <= index < len(points):
            continue
        point = points[index]
        point.requests += requests
        point.failures += failures
        point.input_tokens += input_tokens
        point.output_tokens += output_tokens
        point.cost_usd += cost
        point.latency_ms_max = max(point.latency_ms_max, slowest)
        for bucket, count in enumerate(histogram[: len(point.histogram)]):
            point.histogram[bucket] += count
    return points


def month_spend(*, tenant: Tenant) -> dict[str, Any]:
    """This month's usage against the tenant's limits, for the Usage page."""
    from providers import quotas

    limits = limits_for(tenant, gateway_settings_of(tenant=tenant))
    try:
        usage: quotas.MonthUsage | None = quotas.month_usage(tenant_id=tenant.pk)
    except RedisError:
        usage = None
    return {"limits": limits, "usage": usage}
