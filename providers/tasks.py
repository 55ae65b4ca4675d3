from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from providers import logs, metrics, quotas


@shared_task
def reap_stuck_logs() -> int:
    """Fail log rows left pending by a process that died mid-call."""
    return logs.reap_stuck(older_than=timedelta(minutes=settings.PROVIDER_LOG_STUCK_MINUTES))


@shared_task
def rollup_metrics(minutes: int = 10) -> int:
    """Rebuild the per-minute metrics of the last `minutes` minutes, the current one included."""
    return metrics.rollup(since=timezone.now() - timedelta(minutes=minutes))


@shared_task
def release_stale_reservations() -> int:
    """Release quota holds of requests whose process died before settling them."""
    return sum(quotas.release_stale(tenant_id=tenant_id) for tenant_id in quotas.reservation_tenants())
