"""Data for the run pages' tests: a published workflow with a decision and a parallel block,
and runs with their events written straight into the database (no Temporal needed)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from core.redis import sync_redis
from runs.frames import STREAM
from runs.models import HumanTask, Run, RunEvent
from tests.conftest import TenantUsers
from tests.workflows import samples
from workflows import services as workflow_services
from workflows.models import WorkflowVersion

# check → route (decision) → review (big orders) → fan_out (parallel: invoice, notify) → ship
NODE_IDS = ("check", "route", "review", "fan_out", "invoice", "notify", "ship")


def order_document() -> dict[str, Any]:
    """A workflow with a decision, a parallel block, a built-in activity, activities SCE does
    not have and an AI action."""
    nodes = [
        samples.node(
            "check",
            activity_name="CheckStock",
            input_mapping={"order": "{{order_id}}"},
            output_variable="stock",
        ),
        samples.node(
            "route",
            "decision",
            branches=[
                {"id": "big", "condition": "amount > 100", "label": "Big order"},
                {"id": "small", "condition": "amount <= 100", "label": "Small order"},
            ],
        ),
        samples.node(
            "review",
            activity_name="ReviewOrder",
            input_mapping={"order": "{{order_id}}"},
            output_variable="review",
        ),
        samples.node("fan_out", "parallel", branches=["invoice", "notify"], wait_for_all=True),
        samples.node("invoice", activity_name="log", input_mapping={"message": "invoice {{order_id}}"}),
        samples.node(
            "notify",
            "ai_action",
            prompt_template="Tell the customer about {{order_id}}",
            output_variable="note",
        ),
        samples.node(
            "ship",
            activity_name="ShipOrder",
            input_mapping={"order": "{{order_id}}"},
            output_variable="shipment",
        ),
    ]
    labels = {
        "check": "Check stock",
        "route": "Route by amount",
        "review": "Review big order",
        "fan_out": "Invoice and notify",
        "invoice": "Write the invoice",
        "notify": "Notify the customer",
        "ship": "Ship it",
    }
    for node in nodes:
        node["label"] = labels[node["id"]]
    edges = [
        samples.edge("e1", "check", "route"),
        samples.edge("e2", "route", "review", handle="big", condition="amount > 100"),
        samples.edge("e3", "route", "fan_out", handle="small", condition="amount <= 100"),
        samples.edge("e4", "review", "fan_out"),
        samples.edge("e5", "fan_out", "invoice"),
        samples.edge("e6", "fan_out", "notify"),
        samples.edge("e7", "invoice", "ship"),
        samples.edge("e8", "notify", "ship"),
    ]
    variables = [
        samples.variable("order_id", required=True, description="The order to check"),
        samples.variable("amount", "number", default_value=0),
        samples.variable("express", "boolean"),
        samples.variable("lines", "array"),
    ]
    return samples.workflow(nodes, edges, variables, name="Order check")


def published(
    users: TenantUsers, document: dict[str, Any] | None = None, name: str = "Order check"
) -> WorkflowVersion:
    """The tenant's workflow with `document` (the order check by default), published once."""
    workflow = workflow_services.workflow_create(
        tenant=users.tenant, actor=users.owner, name=name, document=document or order_document()
    )
    return workflow_services.workflow_publish(workflow=workflow, actor=users.owner)


def make_run(
    version: WorkflowVersion,
    *,
    status: str = Run.Status.RUNNING,
    trigger: str = Run.Trigger.MANUAL,
    started_by: Any = None,
    **fields: Any,
) -> Run:
    now = timezone.now()
    finished = status in Run.FINISHED
    return Run.objects.create(
        tenant=version.tenant,
        workflow=version.workflow,
        version=version,
        title=str(version.document.get("name") or "Workflow"),
        document=version.document,
        trigger=trigger,
        status=status,
        inputs=fields.pop("inputs", {"order_id": "A-1", "amount": 10}),
        temporal_workflow_id=f"run-test-{uuid.uuid4().hex}",
        started_by=started_by,
        started_at=fields.pop("started_at", now - dt.timedelta(seconds=5)),
        finished_at=fields.pop("finished_at", now if finished else None),
        **fields,
    )


def add_event(
    run: Run, kind: str, node_id: str = "", status: str = "", *, source: str = "", **data: Any
) -> RunEvent:
    """The run's next event, numbered after the last one of its source."""
    last = RunEvent.objects.for_tenant(run.tenant).filter(run=run, source=source).order_by("-seq").first()
    return RunEvent.objects.create(
        tenant=run.tenant,
        run=run,
        source=source,
        seq=(last.seq if last is not None else 0) + 1,
        kind=kind,
        node_id=node_id,
        status=status,
        data=data,
        at=timezone.now(),
    )


def node_ran(run: Run, node_id: str, status: str = "succeeded", **data: Any) -> list[RunEvent]:
    """A node's node_started and node_finished events."""
    return [
        add_event(run, "node_started", node_id, type="activity", label=node_id),
        add_event(
            run, "node_finished", node_id, status, type="activity", label=node_id, duration_ms=12, **data
        ),
    ]


def half_run(version: WorkflowVersion, users: TenantUsers) -> Run:
    """A small order's run in the middle of its parallel block: check and route done, the
    invoice written, the notification running."""
    run = make_run(version, started_by=users.member)
    add_event(run, "workflow_started", inputs=run.inputs)
    node_ran(run, "check", inputs={"order": "A-1"}, output={"in_stock": True})
    node_ran(run, "route", branch="small", branch_label="Small order")
    add_event(run, "node_started", "fan_out", type="parallel", label="Invoice and notify")
    add_event(run, "node_started", "invoice", type="activity", label="Write the invoice")
    add_event(run, "node_started", "notify", type="ai_action", label="Notify the customer")
    add_event(
        run,
        "node_finished",
        "invoice",
        "succeeded",
        type="activity",
        label="Write the invoice",
        duration_ms=3,
    )
    return run


def open_task(run: Run, node_id: str = "review") -> HumanTask:
    return HumanTask.objects.create(
        tenant=run.tenant,
        run=run,
        node_id=node_id,
        temporal_workflow_id=run.temporal_workflow_id,
        task_type="approval",
        title="Approve the big order",
    )


def forget_run_frames() -> None:
    """Kept frames must not outlive a test: ids come again after a flush."""
    client = sync_redis()
    for key in client.scan_iter(match=f"{STREAM.prefix}*"):
        client.delete(key)
