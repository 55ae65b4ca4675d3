"""Reads of human tasks for the tenant's inbox, always within one tenant."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from runs.models import HumanTask
from tenants.models import Membership, Tenant


def _inbox_rows(tenant: Tenant) -> QuerySet[HumanTask]:
    # The inbox shows each task's run and workflow, and who decided a closed one.
    return HumanTask.objects.for_tenant(tenant).select_related("run", "run__workflow", "decided_by")


def _assigned_to(membership: Membership) -> Q:
    """Tasks that name this member: by email address, or by the member's own role."""
    return Q(assignee__iexact=membership.user.email) | Q(assignee__iexact=membership.role)


def open_tasks(*, tenant: Tenant, assigned_to: Membership | None = None) -> QuerySet[HumanTask]:
    """The tenant's open tasks, the soonest due first, then the newest; with `assigned_to`,
    only those that name that member (by email or by role)."""
    tasks = _inbox_rows(tenant).filter(status=HumanTask.Status.OPEN)
    if assigned_to is not None:
        tasks = tasks.filter(_assigned_to(assigned_to))
    return tasks.order_by(F("due_at").asc(nulls_last=True), "-created_at", "-id")


def closed_tasks(*, tenant: Tenant, assigned_to: Membership | None = None) -> QuerySet[HumanTask]:
    """The tenant's answered, timed-out and cancelled tasks, the latest closed first."""
    tasks = _inbox_rows(tenant).exclude(status=HumanTask.Status.OPEN)
    if assigned_to is not None:
        tasks = tasks.filter(_assigned_to(assigned_to))
    return tasks.order_by(F("decided_at").desc(nulls_last=True), "-created_at", "-id")


def task_for_page(*, tenant: Tenant, task_id: int) -> HumanTask | None:
    """One task of the tenant with its run; None for a missing task or another tenant's."""
    return _inbox_rows(tenant).filter(pk=task_id).first()
