"""Template context for the portal shell: the tenant switcher and the sections apps register."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core import navigation
from tenants.models import User
from tenants.selectors import memberships_of_user


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    context: dict[str, Any] = {"portal_memberships": list(memberships_of_user(user=user))}
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        match = request.resolver_match
        context["portal_nav"] = navigation.tenant_sections(
            tenant_slug=tenant.slug, current=match.view_name if match else None
        )
    return context
