"""Runs and human tasks written straight to the database, for pages that only read them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from runs.models import HumanTask, Run
from tenants.models import Tenant

APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["decision", "limit"],
    "properties": {
        "decision": {"type": "string", "title": "Decision", "enum": ["approve", "escalate"]},
        "limit": {
            "type": "number",
            "title": "Credit limit",
            "description": "In euros, at most 5000.",
            "minimum": 0,
            "maximum": 5000,
        },
        "contact": {"type": "string", "format": "email", "title": "Contact address"},
        "review_on": {"type": "string", "format": "date", "title": "Review on"},
        "notify": {"type": "boolean", "title": "Tell the customer", "default": True},
        "regions": {"type": "array", "title": "Regions", "items": {"enum": ["EU", "US", "APAC"]}},
        "terms": {"type": "object", "title": "Special terms"},
        "reason": {"type": "string", "title": "Reason", "maxLength": 2000},
    },
}


def make_run(tenant: Tenant, *, title: str = "Credit check", status: str = Run.Status.WAITING) -> Run:
    """A run that reached a human task (nothing on Temporal knows of it)."""
    return Run.objects.create(
        tenant=tenant,
        title=title,
        document={"name": title, "nodes": [], "edges": []},
        status=status,
        temporal_workflow_id=f"run-test-{uuid.uuid4().hex}",
        started_at=timezone.now(),
    )


def make_task(
    tenant: Tenant,
    *,
    run: Run | None = None,
    node_id: str = "approve",
    title: str = "Approve the credit limit",
    assignee: str = "",
    form_schema: Any = None,
    status: str = HumanTask.Status.OPEN,
    due_in: timedelta | None = timedelta(hours=4),
    **fields: Any,
) -> HumanTask:
    """An open task (unless `status` says otherwise) of `run`, or of a new run."""
    run = run if run is not None else make_run(tenant)
    closed = status != HumanTask.Status.OPEN
    return HumanTask.objects.create(
        tenant=tenant,
        run=run,
        node_id=node_id,
        temporal_workflow_id=run.temporal_workflow_id,
        task_type="approval",
        title=title,
        assignee=assignee,
        form_schema=form_schema,
        status=status,
        due_at=timezone.now() + due_in if due_in is not None else None,
        decided_at=timezone.now() if closed else None,
        **fields,
    )
