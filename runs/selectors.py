"""Reads of workflow runs, always within one tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from runs import task_selectors
from runs.models import HumanTask, Run, RunEvent
from tenants.models import Tenant
from workflows.models import Workflow


def _runs(tenant: Tenant) -> QuerySet[Run]:
    # Lists show each run's workflow, version and starter; the document stays in the database.
    return (
        Run.objects.for_tenant(tenant)
        .select_related("workflow", "version", "started_by")
        .defer("document", "inputs", "canned", "outputs", "workflow__document", "version__document")
    )


def runs_of_tenant(
    *, tenant: Tenant, status: str = "", workflow_id: int | None = None, trigger: str = ""
) -> QuerySet[Run]:
    """The tenant's runs, newest first; each filter narrows them when given."""
    runs = _runs(tenant)
    if status:
        runs = runs.filter(status=status)
    if workflow_id is not None:
        runs = runs.filter(workflow_id=workflow_id)
    if trigger:
        runs = runs.filter(trigger=trigger)
    return runs.order_by("-created_at", "-id")


def runs_of_workflow(workflow: Workflow, *, status: str = "", trigger: str = "") -> QuerySet[Run]:
    """The runs of one workflow (any of its versions), newest first."""
    return runs_of_tenant(tenant=workflow.tenant, status=status, workflow_id=workflow.pk, trigger=trigger)


def recent_runs_of_tenant(*, tenant: Tenant, limit: int) -> list[Run]:
    """The tenant's `limit` newest runs, in one query."""
    return list(runs_of_tenant(tenant=tenant)[:limit])


def run_of_tenant(tenant: Tenant, run_id: int) -> Run | None:
    """One run of the tenant, with its document; None for a missing run or another tenant's."""
    return (
        Run.objects.for_tenant(tenant)
        .select_related("tenant", "workflow", "version", "started_by", "rerun_of")
        .filter(pk=run_id)
        .first()
    )


def events_of(run: Run) -> QuerySet[RunEvent]:
    """The run's events in the order they were written (subflows' included)."""
    return RunEvent.objects.for_tenant(run.tenant).filter(run=run).order_by("id")


def events_after(run: Run, event_id: int) -> QuerySet[RunEvent]:
    """The run's events written after the event numbered `event_id` (0: all of them)."""
    return events_of(run).filter(id__gt=event_id)


def last_event_id(run: Run) -> int:
    """The id of the run's latest event, 0 before the first."""
    return events_of(run).values_list("id", flat=True).last() or 0


def open_task_of(run: Run) -> HumanTask | None:
    """The human task the run waits on, if one is open (the first opened, when several are)."""
    return (
        HumanTask.objects.for_tenant(run.tenant)
        .filter(run=run, status=HumanTask.Status.OPEN)
        .order_by("created_at", "id")
        .first()
    )


def open_tasks_count(tenant: Tenant) -> int:
    """How many human tasks of the tenant are open: the inbox's own count."""
    return task_selectors.open_tasks(tenant=tenant).count()


def workflows_with_runs(tenant: Tenant) -> list[tuple[int, str]]:
    """(id, name) of the tenant's workflows that have runs, by name: the list's filter."""
    ids = Run.objects.for_tenant(tenant).exclude(workflow=None).values("workflow_id").distinct()
    rows = (
        Workflow.objects.for_tenant(tenant)
        .filter(pk__in=ids)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )
    return list(rows)
