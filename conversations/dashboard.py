"""What Services add to the tenant dashboard: the first interview to start, the latest ones.

Registered in `ConversationsConfig.ready()` through core.navigation; the tenants app below
shows them without naming this app's pages.
"""

from __future__ import annotations

from django.urls import reverse

from conversations import selectors
from core.navigation import RecentItem
from tenants.models import Tenant


def new_service_url(tenant: Tenant) -> str:
    return reverse("conversations:conversation_new", kwargs={"tenant_slug": tenant.slug})


def services_url(tenant: Tenant) -> str:
    return reverse("conversations:conversation_list", kwargs={"tenant_slug": tenant.slug})


def has_services(tenant: Tenant) -> bool:
    """Whether the tenant has started any interview (the first step is then done)."""
    return selectors.conversations_of_tenant(tenant=tenant).exists()


def recent_services(tenant: Tenant, limit: int) -> list[RecentItem]:
    """The tenant's most recently active interviews, in one query."""
    return [
        RecentItem(
            title=conversation.title,
            url=reverse(
                "conversations:conversation_detail",
                kwargs={"tenant_slug": tenant.slug, "conversation_id": conversation.pk},
            ),
            when=conversation.last_activity_at,
            status=conversation.get_status_display(),
            status_class=f"status-{conversation.status}",
        )
        for conversation in selectors.conversations_of_tenant(tenant=tenant)[:limit]
    ]
