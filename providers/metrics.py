"""Figures read from the provider logs, and per-minute rollups of them.

Every figure a page or the CLI shows about calls (how many, failed, running, tokens, cost,
latency) is summed by `call_figures` / `call_figures_by` from one queryset of log rows, so
the same rows always give the same numbers wherever they are shown.

`rollup` rebuilds the ProviderMetric rows of a time window from ProviderLog, so it can run
every minute (and again over the same minutes) without double counting; operators read them
in the admin.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections, models, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from providers.models import LogState, ProviderLog, ProviderMetric
from providers.pricing import FREE

# Upper bounds (ms) of the latency histogram's buckets; the last bucket is open-ended.
LATENCY_BUCKETS_MS = [50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200]
FAILED_STATES = (LogState.FAILED, LogState.FAILED_PARTIAL)
# Rows that record what was generated, and so carry a cost (a failed row delivered nothing).
CHARGED_STATES = (LogState.COMPLETED, LogState.FAILED_PARTIAL, LogState.CANCELLED)


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


@dataclass
class CallFigures:
    """What a set of log rows adds up to.

    A call is one log row, whatever its state: one provider tried for one request, as the
    Logs page lists them. A pending row is a call still running; a request refused before
    any upstream call (open circuit, budget) is a failed call that cost nothing.
    """

    calls: int = 0
    failed: int = 0
    running: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    free_calls: int = 0  # charged at the free price (the embedded model)
    unpriced_calls: int = 0  # charged on a model with no recorded price: counted at $0
    # Completed calls per latency bucket (LATENCY_BUCKETS_MS), and the slowest of them.
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))
    slowest_ms: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def timed(self) -> int:
        """Completed calls, the ones latency is measured on."""
        return sum(self.histogram)

    @property
    def p50_ms(self) -> int | None:
        return percentile_from_histogram(self.histogram, 0.50, slowest_ms=self.slowest_ms)

    @property
    def p95_ms(self) -> int | None:
        return percentile_from_histogram(self.histogram, 0.95, slowest_ms=self.slowest_ms)

    def add(self, other: CallFigures) -> None:
        """Count `other`'s rows in these figures too."""
        self.calls += other.calls
        self.failed += other.failed
        self.running += other.running
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.free_calls += other.free_calls
        self.unpriced_calls += other.unpriced_calls
        self.histogram = [mine + theirs for mine, theirs in zip(self.histogram, other.histogram, strict=True)]
        self.slowest_ms = max(self.slowest_ms, other.slowest_ms)


def _figure_aggregates() -> dict[str, Any]:
    """The SQL aggregates behind CallFigures, one query for any number of groups."""
    completed = Q(state=LogState.COMPLETED, duration_ms__isnull=False)
    charged = Q(state__in=CHARGED_STATES)
    aggregates: dict[str, Any] = {
        "calls": Count("pk"),
        "failed": Count("pk", filter=Q(state__in=FAILED_STATES)),
        "running": Count("pk", filter=Q(state=LogState.PENDING)),
        "input_tokens": Coalesce(Sum("input_tokens"), 0),
        "output_tokens": Coalesce(Sum("output_tokens"), 0),
        "cost_usd": Coalesce(
            Sum("cost_usd"),
            Value(Decimal(0)),
            output_field=models.DecimalField(max_digits=20, decimal_places=8),
        ),
        "free_calls": Count("pk", filter=charged & Q(price_version=FREE.version)),
        "unpriced_calls": Count("pk", filter=charged & Q(price_version="")),
        "timed": Count("pk", filter=completed),
        "slowest_ms": Coalesce(Max("duration_ms", filter=completed), 0),
    }
    for index, bound in enumerate(LATENCY_BUCKETS_MS):
        aggregates[f"within_{index}"] = Count("pk", filter=completed & Q(duration_ms__lte=bound))
    return aggregates


def _figures(row: dict[str, Any]) -> CallFigures:
    within = [row[f"within_{index}"] for index in range(len(LATENCY_BUCKETS_MS))]
    # Cumulative counts (at most each bound) to per-bucket counts; the open top bucket last.
    histogram = [count - previous for count, previous in zip(within, [0, *within[:-1]], strict=True)]
    histogram.append(row["timed"] - (within[-1] if within else 0))
    return CallFigures(
        calls=row["calls"],
        failed=row["failed"],
        running=row["running"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cost_usd=Decimal(row["cost_usd"]),
        free_calls=row["free_calls"],
        unpriced_calls=row["unpriced_calls"],
        histogram=histogram,
        slowest_ms=row["slowest_ms"],
    )


def call_figures(rows: QuerySet[ProviderLog]) -> CallFigures:
    """The figures of every row of `rows`."""
    return _figures(rows.order_by().aggregate(**_figure_aggregates()))


def call_figures_by_hour(rows: QuerySet[ProviderLog]) -> dict[datetime, CallFigures]:
    """The figures of `rows` per hour (UTC) the calls started in."""
    grouped = (
        rows.order_by()
        .annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values("hour")
        .annotate(**_figure_aggregates())
    )
    return {row["hour"]: _figures(row) for row in grouped}


def call_figures_by_provider(rows: QuerySet[ProviderLog]) -> dict[str, CallFigures]:
    """The figures of `rows` per provider name."""
    grouped = rows.order_by().values("provider").annotate(**_figure_aggregates())
    return {row["provider"]: _figures(row) for row in grouped}


@dataclass(frozen=True)
class ProviderStats:
    provider: str
    requests: int
    failures: int
    running: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    p50_ms: int | None
    p95_ms: int | None

    @property
    def success_rate(self) -> float:
        """Of the calls that finished, the share that did not fail."""
        finished = self.requests - self.running
        return 1.0 if finished == 0 else (finished - self.failures) / finished


class PercentileDisc(models.Aggregate):
    """PostgreSQL's `percentile_disc(fraction) WITHIN GROUP (ORDER BY expression)`: the
    nearest-rank percentile, the same value `percentile` picks from the sorted list."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = models.IntegerField()

    def __init__(self, expression: str, *, fraction: float, **extra: Any) -> None:
        # A literal, never input: the two fractions below.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


_STATS_FIGURES = ("calls", "failed", "running", "input_tokens", "output_tokens", "cost_usd", "timed")
_STATS_PERCENTILES = {"p50_ms": 0.50, "p95_ms": 0.95}


def provider_stats(rows: QuerySet[ProviderLog]) -> list[ProviderStats]:
    """Per-provider figures of `rows`, with exact latency percentiles of the completed calls.

    One grouped query: the sums are CallFigures' own aggregates (so they agree with the
    Usage page), and on PostgreSQL the percentiles are `percentile_disc` in the same scan.
    Elsewhere (SQLite) each percentile is the one row at its rank, ORDER BY … OFFSET.
    """
    figures = _figure_aggregates()
    aggregates = {name: figures[name] for name in _STATS_FIGURES}
    completed = Q(state=LogState.COMPLETED, duration_ms__isnull=False)
    in_sql = connections[rows.db].vendor == "postgresql"
    if in_sql:
        for name, fraction in _STATS_PERCENTILES.items():
            aggregates[name] = PercentileDisc("duration_ms", fraction=fraction, filter=completed)
    grouped = rows.order_by().values("provider").annotate(**aggregates)
    stats = []
    for row in grouped:
        if not in_sql:
            timed = rows.order_by().filter(completed, provider=row["provider"]).order_by("duration_ms")
            for name, fraction in _STATS_PERCENTILES.items():
                rank = max(0, math.ceil(fraction * row["timed"]) - 1)
                row[name] = timed.values_list("duration_ms", flat=True)[rank] if row["timed"] else None
        stats.append(
            ProviderStats(
                provider=row["provider"],
                requests=row["calls"],
                failures=row["failed"],
                running=row["running"],
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                cost_usd=Decimal(row["cost_usd"]),
                p50_ms=row["p50_ms"],
                p95_ms=row["p95_ms"],
            )
        )
    # Sorted here, not by the database's collation: the order the CLI has always printed.
    return sorted(stats, key=lambda entry: entry.provider)
