from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
        s.provider: s for s in selectors.stats_since(since=timezone.now() - timedelta(hours=1), tenant=None)
    }
    assert (stats["anthropic"].p50_ms, stats["anthropic"].p95_ms) == (50, 95)
    assert stats["openai"].success_rate == 0.0
    assert stats["openai"].p50_ms is None


def test_stats_percentiles_are_the_nearest_rank_of_the_tenants_completed_calls_only() -> None:
    tenant, other = TenantFactory.create(), TenantFactory.create()
    durations = {"anthropic": [7, 3, 900, 41, 41, 12, 5000], "groq": [250]}
    for provider, values in durations.items():
        for duration in values:
            log(tenant=tenant, provider=provider, duration_ms=duration)
    # Not timed: a failure, a call still running, and another tenant's slow calls.
    log(tenant=tenant, state=LogState.FAILED, duration_ms=99_999)
    log(tenant=tenant, state=LogState.PENDING, duration_ms=None)
    for _ in range(5):
        log(tenant=other, duration_ms=80_000)
    stats = selectors.stats_since(since=timezone.now() - timedelta(hours=1), tenant=tenant)
    assert [s.provider for s in stats] == ["anthropic", "groq"]
    for entry in stats:
        expected = (
            metrics.percentile(durations[entry.provider], 0.5),
            metrics.percentile(durations[entry.provider], 0.95),
        )
        assert (entry.p50_ms, entry.p95_ms) == expected
    assert (stats[0].p50_ms, stats[0].p95_ms, stats[0].requests, stats[0].running) == (41, 5000, 9, 1)
    assert (stats[1].p50_ms, stats[1].p95_ms) == (250, 250)


def test_the_usage_charts_latency_never_exceeds_the_slowest_call() -> None:
    """The open top bucket's bound (102 s) once stood as the p95 beside calls of 61 s at most."""
    tenant = TenantFactory.create()
    now = timezone.now()
    for duration in [100] * 10 + [61_000] * 10:
        log(tenant=tenant, started_at=now - timedelta(minutes=2), duration_ms=duration)
    points = selectors.usage_series(tenant=tenant, window=selectors.usage_window("24h"))
    [point] = [point.figures for point in points if point.figures.calls]
    assert (point.calls, point.p50_ms, point.p95_ms) == (20, 100, 61_000)


def test_latency_is_measured_on_completed_calls_only() -> None:
    """A refusal at 0 ms or a timeout at 60 s says nothing about how fast the model answers."""
    tenant = TenantFactory.create()
    for duration in (300, 300, 300):
        log(tenant=tenant, duration_ms=duration)
    log(tenant=tenant, state=LogState.FAILED, duration_ms=0, error_code="circuit_open")
    log(tenant=tenant, state=LogState.FAILED, duration_ms=60_000, error_code="timeout")
    log(tenant=tenant, state=LogState.PENDING, duration_ms=None)
    figures = metrics.call_figures(ProviderLog.objects.for_tenant(tenant))
    assert (figures.calls, figures.failed, figures.running, figures.timed) == (6, 2, 1, 3)
    assert (figures.p50_ms, figures.p95_ms, figures.slowest_ms) == (300, 300, 300)


def test_usage_windows_are_aligned_in_utc_and_end_with_the_bucket_holding_now() -> None:
    now = datetime(2031, 5, 17, 13, 42, 7, tzinfo=UTC)
    day = selectors.usage_window("24h", now=now)
    assert day.since == now - timedelta(hours=24)
    assert (day.starts[0], day.starts[-1], len(day.starts)) == (
        datetime(2031, 5, 16, 13, tzinfo=UTC),
        datetime(2031, 5, 17, 13, tzinfo=UTC),
        25,
    )
    week = selectors.usage_window("7d", now=now)
    assert (week.starts[0], week.starts[-1]) == (
        datetime(2031, 5, 10, 12, tzinfo=UTC),
        datetime(2031, 5, 17, 12, tzinfo=UTC),
    )
    month = selectors.usage_window("30d", now=now)
    assert (month.starts[0], month.starts[-1], len(month.starts)) == (
        datetime(2031, 4, 17, tzinfo=UTC),
        datetime(2031, 5, 17, tzinfo=UTC),
        31,
    )
