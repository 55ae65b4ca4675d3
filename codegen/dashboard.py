"""What service generation adds to the tenant dashboard: the latest generation jobs.

Registered in `CodegenConfig.ready()` through core.navigation.
"""

from __future__ import annotations

from django.urls import reverse

from codegen import selectors
from core.navigation import RecentItem
from tenants.models import Tenant


def generations_url(tenant: Tenant) -> str:
    return reverse("codegen:generation_list", kwargs={"tenant_slug": tenant.slug})


def recent_generations(tenant: Tenant, limit: int) -> list[RecentItem]:
    """The tenant's newest generation jobs, whatever their state, in one query."""
    return [
        RecentItem(
            title=generation.title,
            url=reverse(
                "codegen:generation_detail",
                kwargs={"tenant_slug": tenant.slug, "generation_id": generation.pk},
            ),
            when=generation.created_at,
            status=generation.get_state_display(),
            status_class=f"state-{generation.state}",
        )
        for generation in selectors.recent_generations_of_tenant(tenant=tenant, limit=limit)
    ]
