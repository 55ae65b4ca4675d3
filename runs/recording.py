"""Events from the interpreter into the database: a row each (once, however often a replay
sends it), and the run's status, times and outcome that follow from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from runs.engine.types import Event, EventBatch
from runs.models import Run, RunEvent
from tenants.models import Tenant

# What an event of the run itself (not a subflow's) makes of a run that has not finished.
_STATUS_AFTER = {
    "workflow_started": Run.Status.RUNNING,
    "node_started": Run.Status.RUNNING,
    "node_finished": Run.Status.RUNNING,
    "node_waiting": Run.Status.WAITING,
}
_FINISHED_AS = {
    "succeeded": Run.Status.SUCCEEDED,
    "failed": Run.Status.FAILED,
    "cancelled": Run.Status.CANCELLED,
}


def scoped_run(*, tenant_id: int, run_id: int) -> Run | None:
    """The run, looked up within its tenant (activities carry both ids)."""
    return Run.objects.for_tenant(Tenant(pk=tenant_id)).filter(pk=run_id).first()


def record_batch(batch: EventBatch) -> list[RunEvent]:
    """Store the events not stored yet and update the run; the new rows, in order."""
    with transaction.atomic():
        run = (
            Run.objects.for_tenant(Tenant(pk=batch.tenant_id))
            .select_for_update()
            .filter(pk=batch.run_id)
            .first()
        )
        if run is None:
            return []
        known = set(
            RunEvent.objects.for_tenant(run.tenant)
            .filter(run=run, source=batch.source, seq__in=[event.seq for event in batch.events])
            .values_list("seq", flat=True)
        )
        # The run's row lock keeps two writers of one run apart: what is not known is new.
        fresh = [_row(run, batch.source, event) for event in batch.events if event.seq not in known]
        created = RunEvent.objects.for_tenant(run.tenant).bulk_create(fresh) if fresh else []
        if not batch.source and not run.is_finished:
            for event in batch.events:
                _apply(run, event)
            run.save()
    return created


def _row(run: Run, source: str, event: Event) -> RunEvent:
    return RunEvent(
        tenant_id=run.tenant_id,
        run=run,
        source=source,
        seq=event.seq,
        kind=event.kind[:40],
        node_id=event.node_id[:200],
        status=event.status[:20],
        data=event.data,
        at=_time(event.at),
    )


def _apply(run: Run, event: Event) -> None:
    at = _time(event.at)
    if event.kind == "workflow_started":
        run.started_at = run.started_at or at
    if event.kind in _STATUS_AFTER:
        run.status = _STATUS_AFTER[event.kind]
        return
    if event.kind != "workflow_finished":
        return
    run.status = _FINISHED_AS.get(event.status, Run.Status.FAILED)
    run.finished_at = at
    data: dict[str, Any] = event.data
    variables = data.get("variables")
    run.outputs = variables if isinstance(variables, dict) else None
    run.error_code = str(data.get("code") or "")[:40]
    run.error_message = str(data.get("error") or "")[:1000]
    run.failed_node = str(data.get("node_id") or "")[:200]


def _time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return timezone.now()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
