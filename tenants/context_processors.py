"""Template context for the portal shell: the tenant switcher and the section navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from tenants.models import User
from tenants.selectors import memberships_of_user

# Every section a tenant may have, in menu order. A section whose URL name is not routed
# (its feature is not built) is left out, so the menu never links to a missing page.
SECTIONS = [
    ("Dashboard", "dashboard"),
    ("Services", "conversation_list"),
    ("Workflows", "workflow_list"),
    ("Providers", "provider_list"),
    ("Usage", "usage"),
    ("Members", "members"),
    ("Settings", "tenant_settings"),
]


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    context: dict[str, Any] = {"portal_memberships": list(memberships_of_user(user=user))}
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        match = request.resolver_match
        current = match.url_name if match else None
        nav = []
        for label, url_name in SECTIONS:
            try:
                url = reverse(url_name, kwargs={"tenant_slug": tenant.slug})
            except NoReverseMatch:
                continue
            nav.append({"label": label, "url": url, "active": url_name == current})
        context["portal_nav"] = nav
    return context
