"""Access helpers for views under /t/<tenant_slug>/.

A tenant that does not exist and a tenant the user is not a member of look the same: 404.
A member whose role is too low for the request gets 403; a suspended tenant shows its
members the suspended page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django_htmx.middleware import HtmxDetails

from tenants.models import Membership, Role, Tenant, User
from tenants.scoping import TenantOwnedModel
from tenants.selectors import membership_for_slug

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_TENANT_SESSION_KEY = "last_tenant"

M = TypeVar("M", bound=TenantOwnedModel)


class TenantRequest(HttpRequest):
    """What a tenant view receives: the signed-in user's membership in the URL's tenant."""

    htmx: HtmxDetails
    tenant: Tenant
    membership: Membership


TenantView = Callable[..., HttpResponse]


def tenant_view(
    *, read: Role = Role.VIEWER, write: Role = Role.MEMBER
) -> Callable[[TenantView], Callable[..., HttpResponse]]:
    """Decorate a view routed under /t/<tenant_slug>/.

    `read` is the least role for safe methods, `write` for the others. The view is called
    without `tenant_slug`; it finds `request.tenant` and `request.membership` instead.
    """

    def decorator(view: TenantView) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapper(request: TenantRequest, tenant_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for_slug(user=signed_in_user(request), slug=tenant_slug)
            if membership is None:
                raise Http404("No such organization")
            tenant = membership.tenant
            if tenant.is_suspended:
                return render(request, "tenants/suspended.html", {"suspended_tenant": tenant}, status=403)
            needed = read if request.method in SAFE_METHODS else write
            if not membership.can(needed):
                raise PermissionDenied(f"This needs the {needed.label.lower()} role or higher.")
            request.tenant = tenant
            request.membership = membership
            if request.session.get(LAST_TENANT_SESSION_KEY) != tenant.slug:
                request.session[LAST_TENANT_SESSION_KEY] = tenant.slug
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for views behind login_required."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


def get_tenant_object_or_404(model: type[M], tenant: Tenant, **lookups: Any) -> M:
    """One row of `model` in `tenant`: 404 when it is missing or belongs to another tenant."""
    return get_object_or_404(model.objects.for_tenant(tenant), **lookups)
