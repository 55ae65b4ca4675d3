"""What workflow runs add to the tenant dashboard: the latest runs.

Registered in `RunsConfig.ready()` through core.navigation.
"""

from __future__ import annotations

from django.urls import reverse

from core.navigation import RecentItem
from runs import pages, selectors
from runs.models import Run
from tenants.models import Tenant


def runs_url(tenant: Tenant) -> str:
    return reverse("runs:run_list", kwargs={"tenant_slug": tenant.slug})


def recent_runs(tenant: Tenant, limit: int) -> list[RecentItem]:
    """The tenant's newest runs, whatever their status, in one query."""
    return [
        RecentItem(
            title=run.title,
            url=reverse("runs:run_detail", kwargs={"tenant_slug": tenant.slug, "run_id": run.pk}),
            when=run.created_at,
            status=run.get_status_display(),
            status_class=pages.STATUS_CLASSES.get(Run.Status(run.status), ""),
        )
        for run in selectors.recent_runs_of_tenant(tenant=tenant, limit=limit)
    ]
