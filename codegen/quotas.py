"""Generations per month by plan (seed 002): free 1, starter 10, pro 100, enterprise unlimited.

A generation is counted when it is created (reserved under a lock on the tenant's row, so
two starts at the limit admit one) and given back when it fails or is cancelled before
producing any file.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from tenants.models import Tenant

GENERATIONS_PER_MONTH: dict[str, int | None] = {
    Tenant.Plan.FREE: 1,
    Tenant.Plan.STARTER: 10,
    Tenant.Plan.PRO: 100,
    Tenant.Plan.ENTERPRISE: None,
}


def current_month(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now()).replace(day=1)


def monthly_limit(tenant: Tenant) -> int | None:
    """None: unlimited."""
    return GENERATIONS_PER_MONTH.get(tenant.plan, 1)


@dataclass(frozen=True)
class QuotaStatus:
    month: datetime.date
    used: int
    limit: int | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def next_month(self) -> datetime.date:
        return (self.month + datetime.timedelta(days=32)).replace(day=1)
