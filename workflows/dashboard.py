"""What Workflows add to the tenant dashboard: the latest workflows with their status.

Registered in `WorkflowsConfig.ready()` through core.navigation.
"""

from __future__ import annotations

from django.urls import reverse

from core.navigation import RecentItem
from tenants.models import Tenant
from workflows import selectors
from workflows.editor.pages import status_of


def workflows_url(tenant: Tenant) -> str:
    return reverse("workflows:workflow_list", kwargs={"tenant_slug": tenant.slug})


def recent_workflows(tenant: Tenant, limit: int) -> list[RecentItem]:
    """The tenant's most recently changed workflows, in one query (drafts not loaded)."""
    items = []
    for workflow in selectors.recent_workflows_of_tenant(tenant=tenant, limit=limit):
        status = status_of(workflow)
        items.append(
            RecentItem(
                title=workflow.name,
                url=reverse(
                    "workflows:workflow_detail",
                    kwargs={"tenant_slug": tenant.slug, "workflow_id": workflow.pk},
                ),
                when=workflow.updated_at,
                status=status["text"],
                status_class=f"workflow-status status-{status['key']}",
            )
        )
    return items
