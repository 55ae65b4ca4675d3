"""Per-minute rollups of the provider logs, and statistics read from them.

`rollup` rebuilds the ProviderMetric rows of a time window from ProviderLog, so it can run
every minute (and again over the same minutes) without double counting.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from providers.models import LogState, ProviderLog, ProviderMetric
from tenants.models import Tenant

# Upper bounds (ms) of the latency histogram's buckets; the last bucket is open-ended.
LATENCY_BUCKETS_MS = [50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200]
FAILED_STATES = (LogState.FAILED, LogState.FAILED_PARTIAL)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _bucket(latency_ms: int) -> int:
    return bisect.bisect_left(LATENCY_BUCKETS_MS, latency_ms)


@dataclass
class _Accumulator:
    requests: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms_sum: int = 0
    latency_ms_max: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))


@transaction.atomic
def rollup(*, since: datetime, until: datetime | None = None) -> int:
    """Rebuild the per-minute metrics of [since, until) from finished log rows; returns rows written."""
    start = _minute(since)
    end = until or timezone.now() + timedelta(minutes=1)
    end = _minute(end)
    groups: dict[tuple[datetime, int | None, str, str], _Accumulator] = defaultdict(_Accumulator)
    rows = (
        ProviderLog.objects.dangerously_unscoped()
        .filter(started_at__gte=start, started_at__lt=end)
        .exclude(state=LogState.PENDING)
        .values_list(
            "started_at",
            "tenant_id",
            "provider",
            "model",
            "state",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "duration_ms",
        )
    )
    for started_at, tenant_id, provider, model, state, input_tokens, output_tokens, cost, duration in rows:
        group = groups[(_minute(started_at), tenant_id, provider, model)]
        group.requests += 1
        group.failures += state in FAILED_STATES
        group.input_tokens += input_tokens
        group.output_tokens += output_tokens
        group.cost_usd += cost
        latency = duration or 0
        group.latency_ms_sum += latency
        group.latency_ms_max = max(group.latency_ms_max, latency)
        group.histogram[_bucket(latency)] += 1
    ProviderMetric.objects.filter(minute__gte=start, minute__lt=end).delete()
    ProviderMetric.objects.bulk_create(
        ProviderMetric(
            minute=minute,
            tenant_id=tenant_id,
            provider=provider,
            model=model,
            requests=group.requests,
            failures=group.failures,
            input_tokens=group.input_tokens,
            output_tokens=group.output_tokens,
            cost_usd=group.cost_usd,
            latency_ms_sum=group.latency_ms_sum,
            latency_ms_max=group.latency_ms_max,
            latency_histogram=group.histogram,
        )
        for (minute, tenant_id, provider, model), group in groups.items()
    )
    return len(groups)


def percentile_from_histogram(histogram: list[int], fraction: float, *, slowest_ms: int = 0) -> int | None:
    """The bucket bound under which `fraction` of the requests fall (an upper estimate), never
    above the slowest request when it is known: the open top bucket's bound is a guess, and a
    p95 of 102 s beside calls that took at most 61 s reads as a wrong figure."""
    estimate = _bucket_bound(histogram, fraction)
    if estimate is None or slowest_ms <= 0:
        return estimate
    return min(estimate, slowest_ms)


def _bucket_bound(histogram: list[int], fraction: float) -> int | None:
    total = sum(histogram)
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return (
                LATENCY_BUCKETS_MS[index] if index < len(LATENCY_BUCKETS_MS) else LATENCY_BUCKETS_MS[-1] * 2
            )
    return None


def percentile(values: list[int], fraction: float) -> int | None:
    """The nearest-rank percentile of exact values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class ProviderStats:
    provider: str
    requests: int
    failures: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    p50_ms: int | None
    p95_ms: int | None

    @property
    def success_rate(self) -> float:
        return 1.0 if self.requests == 0 else (self.requests - self.failures) / self.requests


def stats_since(*, since: datetime, tenant: Tenant | None) -> list[ProviderStats]:
    """Per-provider totals and exact latency percentiles from the logs since `since`."""
    logs = ProviderLog.objects.for_platform() if tenant is None else ProviderLog.objects.for_tenant(tenant)
    rows = (
        logs.filter(started_at__gte=since)
        .exclude(state=LogState.PENDING)
        .values_list("provider", "state", "input_tokens", "output_tokens", "cost_usd", "duration_ms")
    )
    grouped: dict[str, list[tuple[str, int, int, Decimal, int | None]]] = defaultdict(list)
    for provider, state, input_tokens, output_tokens, cost, duration in rows:
        grouped[provider].append((state, input_tokens, output_tokens, cost, duration))
    stats = []
    for provider, entries in sorted(grouped.items()):
        latencies = [
            duration
            for state, *_rest, duration in entries
            if state == LogState.COMPLETED and duration is not None
        ]
        stats.append(
            ProviderStats(
                provider=provider,
                requests=len(entries),
                failures=sum(1 for state, *_rest in entries if state in FAILED_STATES),
                input_tokens=sum(entry[1] for entry in entries),
                output_tokens=sum(entry[2] for entry in entries),
                cost_usd=sum((entry[3] for entry in entries), Decimal(0)),
                p50_ms=percentile(latencies, 0.50),
                p95_ms=percentile(latencies, 0.95),
            )
        )
    return stats
