"""Tenant pages: dashboard, members, settings; plus choosing and creating a tenant."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core import navigation
from tenants import selectors, services
from tenants.access import (
    LAST_TENANT_SESSION_KEY,
    TenantRequest,
    get_tenant_object_or_404,
    signed_in_user,
    tenant_view,
)
from tenants.forms import InvitationForm, RoleForm, TenantForm
from tenants.member_table import member_table_context
from tenants.models import Invitation, Membership, Role


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; a signed-in user goes to their last tenant."""
    if not request.user.is_authenticated:
        return render(request, "tenants/landing.html")
    memberships = selectors.memberships_of_user(user=signed_in_user(request))
    last = request.session.get(LAST_TENANT_SESSION_KEY)
    chosen = memberships.filter(tenant__slug=last).first() if last else None
    chosen = chosen or memberships.first()
    if chosen is None:
        return redirect("tenants:tenant_create")
    return redirect("tenants:dashboard", tenant_slug=chosen.tenant.slug)


@login_required
@require_http_methods(["GET", "POST"])
def tenant_create(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tenant = services.tenant_create(name=form.cleaned_data["name"], owner=signed_in_user(request))
        return redirect("tenants:dashboard", tenant_slug=tenant.slug)
    status = 422 if form.errors else 200
    return render(request, "tenants/tenant_create.html", {"form": form}, status=status)


@tenant_view()
@require_GET
def dashboard(request: TenantRequest) -> HttpResponse:
    """The tenant's first page: the first steps still open, its recent work, its figures.

    The upper apps contribute steps, panels and figures through core.navigation; this app
    names none of their pages. Each contribution is only read for a viewer who may have it.
    """
    tenant, membership = request.tenant, request.membership

    def may(role: str) -> bool:
        return membership.can(Role(role))

    summary = selectors.tenant_summary(tenant=tenant)
    steps = navigation.dashboard_steps(tenant, may=may)
    if membership.can(Role.ADMIN):
        # This app's own step: its pages need no registry, and the summary already knows.
        steps.append(
            navigation.StepLink(
                label="Invite a colleague",
                why="Interviews go faster with the people who know the service; they join by email.",
                url=reverse("tenants:members", kwargs={"tenant_slug": tenant.slug}) + "#invite-heading",
                done=summary.has_invited,
                order=30,
            )
        )
        steps.sort(key=lambda step: step.order)
    panels = navigation.recent_work(tenant, may=may)
    context = {
        "summary": summary,
        "can_invite": membership.can(Role.ADMIN),
        "steps": steps,
        "steps_done": sum(step.done for step in steps),
        "steps_open": not all(step.done for step in steps),
        "panels": panels,
        "has_work": any(panel.items for panel in panels),
        "figures": navigation.dashboard_figures(tenant, may=may),
        "a_minute_ago": timezone.now() - timedelta(minutes=1),  # newer work reads "just now"
    }
    return render(request, "tenants/dashboard.html", context)


# --- Members ----------------------------------------------------------------------------


def _members_context(request: TenantRequest, **extra: object) -> dict[str, object]:
    membership = request.membership
    can_manage = membership.can(Role.ADMIN)
    context: dict[str, object] = {
        **member_table_context(viewer=membership),
        "invitations": selectors.open_invitations_of_tenant(tenant=request.tenant) if can_manage else [],
        "can_manage": can_manage,
        "form": InvitationForm(roles=membership.grantable_roles()),
    }
    context.update(extra)
    return context


def _members_page(request: TenantRequest, *, status: int = 200, **extra: object) -> HttpResponse:
    template = "tenants/members.html#members-panel" if request.htmx else "tenants/members.html"
    return render(request, template, _members_context(request, **extra), status=status)


@tenant_view(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def members(request: TenantRequest) -> HttpResponse:
    """The member list for everyone; admins also invite (POST) and manage invitations."""
    if request.method == "GET":
        return _members_page(request)
    form = InvitationForm(request.POST, roles=request.membership.grantable_roles())
    if not form.is_valid():
        return _members_page(request, status=422, form=form)
    try:
        issued = services.invitation_create(
            actor=request.membership, email=form.cleaned_data["email"], role=Role(form.cleaned_data["role"])
        )
    except services.TenantError as error:
        form.add_error(None, str(error))
        return _members_page(request, status=422, form=form)
    return _members_page(request, issued=issued)


def _after_member_action(request: TenantRequest, error: services.TenantError | None) -> HttpResponse:
    if request.htmx:
        if error:
            return _members_page(request, status=422, action_error=str(error))
        return _members_page(request)
    if error:
        messages.error(request, str(error))
    return redirect("tenants:members", tenant_slug=request.tenant.slug)


@tenant_view(write=Role.ADMIN)
@require_POST
def member_role(request: TenantRequest, member_id: int) -> HttpResponse:
    member = get_tenant_object_or_404(Membership, request.tenant, pk=member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _after_member_action(request, services.TenantError("choose a valid role"))
    try:
        services.membership_change_role(
            actor=request.membership, membership=member, role=Role(form.cleaned_data["role"])
        )
    except services.TenantError as error:
        return _after_member_action(request, error)
    return _after_member_action(request, None)


@tenant_view(write=Role.VIEWER)
@require_POST
def member_remove(request: TenantRequest, member_id: int) -> HttpResponse:
    """Remove a member; anyone may remove themselves (leave), admins may remove others."""
    member = get_tenant_object_or_404(Membership, request.tenant, pk=member_id)
    leaving = member.pk == request.membership.pk
    if not leaving and not request.membership.can(Role.ADMIN):
        raise PermissionDenied("Only admins can remove other members.")
    try:
        services.membership_remove(actor=request.membership, membership=member)
    except services.TenantError as error:
        return _after_member_action(request, error)
    if leaving:
        messages.success(request, f"You left {request.tenant.name}.")
        home = reverse("tenants:home")
        return HttpResponseClientRedirect(home) if request.htmx else redirect(home)
    return _after_member_action(request, None)


@tenant_view(write=Role.ADMIN)
@require_POST
def invitation_revoke(request: TenantRequest, invitation_id: int) -> HttpResponse:
    invitation = get_tenant_object_or_404(Invitation, request.tenant, pk=invitation_id)
    try:
        services.invitation_revoke(actor=request.membership, invitation=invitation)
    except services.TenantError as error:
        return _after_member_action(request, error)
    return _after_member_action(request, None)


# --- Settings ---------------------------------------------------------------------------


@tenant_view(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def tenant_settings(request: TenantRequest) -> HttpResponse:
    form = TenantForm(request.POST or None, initial={"name": request.tenant.name})
    if request.method == "POST":
        if form.is_valid():
            services.tenant_rename(tenant=request.tenant, name=form.cleaned_data["name"])
            messages.success(request, "Saved.")
            return redirect("tenants:tenant_settings", tenant_slug=request.tenant.slug)
        return render(request, "tenants/settings.html", {"form": form}, status=422)
    return render(request, "tenants/settings.html", {"form": form})
