"""Runs per plan: how many may be unfinished at once, and how many may start in a month.

Checked when a run is admitted, under a lock on the tenant's row (services.run_start), so two
starts at the limit admit one. Operators change the numbers with RUN_LIMITS.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from runs.models import Run
from tenants.models import Tenant


def current_month(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now()).replace(day=1)


def limits_of(tenant: Tenant) -> dict[str, int | None]:
    """{"concurrent": n, "monthly": n}; None: no limit."""
    table: dict[str, dict[str, int | None]] = settings.RUN_LIMITS
    return table.get(tenant.plan, table["free"])


def refusal(tenant: Tenant) -> str | None:
    """Why the tenant may not start another run now, in words; None when it may."""
    limit = limits_of(tenant)
    runs = Run.objects.for_tenant(tenant)
    concurrent = limit.get("concurrent")
    if concurrent is not None:
        unfinished = runs.exclude(status__in=Run.FINISHED).count()
        if unfinished >= concurrent:
            return (
                f"Your plan runs {concurrent} workflow run{'s' if concurrent != 1 else ''} at a time, and "
                f"{unfinished} {'are' if unfinished != 1 else 'is'} still going: wait for one to finish, "
                "or cancel one."
            )
    monthly = limit.get("monthly")
    if monthly is not None:
        month = current_month()
        used = runs.filter(quota_month=month).count()
        if used >= monthly:
            following = (month + dt.timedelta(days=32)).replace(day=1)
            return (
                f"Your plan's {monthly:,} runs this month are used up; more can start on "
                f"{following:%d %B %Y}, or on a larger plan."
            )
    return None
