from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers import metrics, selectors
from providers.logs import reap_stuck
from providers.models import LogState, ProviderLog, ProviderMetric
from providers.tasks import reap_stuck_logs, rollup_metrics
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def log(**values: object) -> ProviderLog:
    defaults: dict[str, object] = {
        "request_id": "req_x", "task": "api", "provider": "anthropic", "kind": "anthropic", "model": "m",
        "state": LogState.COMPLETED, "duration_ms": 100,
    }  # fmt: skip
    defaults.update(values)
    row = ProviderLog(**defaults)
    row.save()
    return row


def test_rows_stuck_pending_are_failed_by_the_reaper() -> None:
    stuck = log(state=LogState.PENDING, started_at=timezone.now() - timedelta(hours=1), duration_ms=None)
    fresh = log(state=LogState.PENDING, duration_ms=None)
    assert reap_stuck_logs() == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.state == LogState.FAILED
    assert stuck.finished_at is not None
    assert "stopped before it finished" in stuck.error_message
    assert fresh.state == LogState.PENDING
    assert reap_stuck(older_than=timedelta(minutes=15)) == 0


def test_rollup_groups_per_minute_and_can_run_again() -> None:
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    log(
        started_at=minute + timedelta(seconds=1),
        input_tokens=10,
        output_tokens=5,
        cost_usd=Decimal("0.1"),
        duration_ms=120,
    )
    log(
        started_at=minute + timedelta(seconds=30),
        input_tokens=1,
        output_tokens=1,
        duration_ms=900,
        state=LogState.FAILED,
    )
    log(started_at=minute + timedelta(minutes=1), duration_ms=40)
    log(started_at=minute + timedelta(seconds=5), state=LogState.PENDING, duration_ms=None)
    assert rollup_metrics() == 2
    assert rollup_metrics() == 2
    first, second = ProviderMetric.objects.order_by("minute")
    assert (first.requests, first.failures, first.input_tokens, first.output_tokens) == (2, 1, 11, 6)
    assert first.cost_usd == Decimal("0.1")
    assert (first.latency_ms_sum, first.latency_ms_max) == (1020, 900)
    assert metrics.percentile_from_histogram(first.latency_histogram, 0.5) == 200
    assert metrics.percentile_from_histogram(first.latency_histogram, 0.99) == 1600
    assert second.requests == 1


def test_stats_give_exact_percentiles_per_provider() -> None:
    for duration in range(1, 101):
        log(duration_ms=duration)
    log(provider="openai", state=LogState.FAILED, duration_ms=5)
    stats = {
        s.provider: s for s in metrics.stats_since(since=timezone.now() - timedelta(hours=1), tenant=None)
    }
    assert (stats["anthropic"].p50_ms, stats["anthropic"].p95_ms) == (50, 95)
    assert stats["openai"].success_rate == 0.0
    assert stats["openai"].p50_ms is None


def test_the_usage_charts_latency_never_exceeds_the_slowest_call() -> None:
    """The open top bucket's bound (102 s) once stood as the p95 beside calls of 61 s at most."""
    tenant = TenantFactory.create()
    now = timezone.now()
    for duration in [100] * 10 + [61_000] * 10:
        log(tenant=tenant, started_at=now - timedelta(minutes=2), duration_ms=duration)
    rollup_metrics()
    since = now - timedelta(minutes=10)
    points = selectors.usage_series(tenant=tenant, since=since, until=now, step=timedelta(minutes=10))
    [point] = [point for point in points if point.requests]
    assert (point.requests, point.p50_ms, point.p95_ms) == (20, 100, 61_000)
