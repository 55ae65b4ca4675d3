"""The interpreter on a real Temporal dev server: each node type and error policy, human
tasks, signals, subflows, cancelling, a worker stopped mid-run, and Temporal unreachable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from runs import services
from runs.models import HumanTask, Run, RunEvent
from tests.conftest import TenantUsers
from tests.runs.conftest import WorkerThread, wait_for_run
from tests.workflows import samples
from workflows import services as workflow_services
from workflows.analysis.validation import validate_workflow
from workflows.compiler.plan import plan_workflow
from workflows.models import Workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def activity(node_id: str, name: str, output: str | None = None, **inputs: str) -> dict[str, Any]:
    return samples.node(node_id, activity_name=name, input_mapping=inputs, output_variable=output)


def start(users: TenantUsers, document: dict[str, Any], **options: Any) -> Run:
    return services.run_start(tenant=users.tenant, document=document, **options)


def ran(run: Run) -> list[str]:
    """The nodes that finished, in the order they finished, with how."""
    events = RunEvent.objects.for_tenant(run.tenant).filter(run=run, kind="node_finished").order_by("id")
    return [f"{event.node_id}:{event.status}" for event in events]


def kinds(run: Run) -> list[str]:
    events = RunEvent.objects.for_tenant(run.tenant).filter(run=run, source="").order_by("seq")
    return [event.kind for event in events]


def test_a_chain_of_built_ins_passes_values_along(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    document = samples.workflow(
        [
            activity("shape", "transform", "order", template='{"id": "{{order_id}}", "total": {{amount}}}'),
            activity("note", "log", None, message="order {{order.id}} of {{order.total}}"),
        ],
        samples.chain("shape", "note"),
        [samples.variable("order_id", required=True), samples.variable("amount", "number", required=True)],
    )
    run = start(tenant_users, document, inputs={"order_id": "A-1", "amount": 12.5})
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert ran(run) == ["shape:succeeded", "note:succeeded"]
    started, finished = "node_started", "node_finished"
    assert kinds(run) == ["workflow_started", started, finished, started, finished, "workflow_finished"]
    by_id = RunEvent.objects.for_tenant(run.tenant).filter(run=run).order_by("id")
    assert [event.seq for event in by_id] == sorted(event.seq for event in by_id), "written in order"
    assert run.outputs is not None
    assert run.outputs["order"] == {"id": "A-1", "total": 12.5}
    note = RunEvent.objects.for_tenant(run.tenant).get(run=run, kind="node_finished", node_id="note")
    assert note.data["inputs"] == {"message": "order A-1 of 12.5"}
    assert run.started_at is not None
    assert run.finished_at is not None


def test_a_decision_and_a_parallel_block_run_the_nodes_the_data_chooses(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    document = decision_and_parallel()
    outputs = {"Approve": {"output": {"approved": True}}}
    small = wait_for_run(start(tenant_users, document, inputs=_inputs(document, 10), canned=outputs))
    big = wait_for_run(start(tenant_users, document, inputs=_inputs(document, 5000), canned=outputs))
    assert small.status == big.status == Run.Status.SUCCEEDED, (small.error_message, big.error_message)
    small_nodes = {entry.split(":")[0] for entry in ran(small)}
    big_nodes = {entry.split(":")[0] for entry in ran(big)}
    assert small_nodes == {"receive", "route", "fan", "notify", "ship", "finish"}
    assert big_nodes == small_nodes | {"approve"}
    assert small.outputs is not None
    assert small.outputs["shipment"] == {"amount": 10}
    assert_agrees_with_the_go_plan(document, small_nodes)
    assert_agrees_with_the_go_plan(document, big_nodes)


def assert_agrees_with_the_go_plan(document: dict[str, Any], ran_nodes: set[str]) -> None:
    """The compiler's plan and the interpreter agree where they overlap: every node the Go
    file runs unguarded in the workflow's own sequence, or in a branch of an unguarded block
    that waits for all its branches (the entry nodes' block among them), ran; and every
    other node that ran was reached by an edge from a node that ran."""
    analysis = validate_workflow(document, known_workflow_ids=samples.KNOWN_WORKFLOW_IDS)
    plan = plan_workflow(analysis)
    node_of_method = {step.method: json.loads(step.node) for step in plan.steps}
    branches = {branch.name: branch.sequence for branch in plan.branches}
    certain: set[str] = set()
    sequences = [plan.run]
    while sequences:
        for item in sequences.pop():
            if item.guard is not None:
                continue
            if item.step:
                certain.add(node_of_method[item.step])
            elif item.parallel_wait_for_all:
                sequences += [branches[name] for name in item.parallel_branches]
    assert certain <= ran_nodes, f"the Go plan always runs {sorted(certain - ran_nodes)}"
    sources: dict[str, set[str]] = {edge["target"]: set() for edge in document["edges"]}
    for edge in document["edges"]:
        sources[edge["target"]].add(edge["source"])
    for node_id in ran_nodes - certain:
        assert sources.get(node_id, set()) & ran_nodes, f"{node_id} ran without an edge into it taken"


def _inputs(document: dict[str, Any], amount: float) -> dict[str, Any]:
    return {"amount": amount}


def decision_and_parallel() -> dict[str, Any]:
    """receive → route: big orders (amount > 1000) are approved first; then notify and ship
    at once, then finish."""
    route = samples.node(
        "route",
        "decision",
        branches=[{"id": "big", "condition": "amount > 1000", "label": "Big"}],
        default_branch="small",
    )
    fan = samples.node("fan", "parallel", branches=["notify", "ship"], wait_for_all=True)
    nodes = [
        activity("receive", "log", None, message="order of {{amount}}"),
        route,
        activity("approve", "Approve", "approval"),
        fan,
        activity("notify", "log", None, message="notify"),
        activity("ship", "transform", "shipment", template='{"amount": {{amount}}}'),
        activity("finish", "log", None, message="done"),
    ]
    edges = [
        samples.edge("e1", "receive", "route"),
        samples.edge("e2", "route", "approve", handle="big"),
        samples.edge("e3", "route", "fan", handle="small"),
        samples.edge("e4", "approve", "fan"),
        samples.edge("e5", "fan", "notify"),
        samples.edge("e6", "fan", "ship"),
        samples.edge("e7", "notify", "finish"),
        samples.edge("e8", "ship", "finish"),
    ]
    return samples.workflow(nodes, edges, [samples.variable("amount", "number", required=True)])


def test_a_failed_node_fails_the_run_or_is_ignored_by_policy(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    nodes = [activity("charge", "ChargeCard", "charge"), activity("ship", "log", None, message="shipped")]
    failing = {"ChargeCard": {"error": "card declined"}}
    run = wait_for_run(
        start(tenant_users, samples.workflow(nodes, samples.chain("charge", "ship")), canned=failing)
    )
    assert run.status == Run.Status.FAILED
    assert run.failed_node == "charge"
    assert "card declined" in run.error_message
    assert ran(run) == ["charge:failed"]

    ignoring = samples.workflow(
        nodes,
        samples.chain("charge", "ship"),
        error_policy={"on_error": "ignore", "compensation_workflow_id": None, "notification_channel": None},
    )
    run = wait_for_run(start(tenant_users, ignoring, canned=failing))
    assert run.status == Run.Status.SUCCEEDED
    assert ran(run) == ["charge:failed", "ship:succeeded"]


def test_an_activity_without_an_implementation_says_what_to_do(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    run = wait_for_run(start(tenant_users, samples.workflow([activity("charge", "ChargeCard")])))
    assert run.status == Run.Status.FAILED
    assert run.error_code == "unknown_activity"
    assert "test run" in run.error_message


def test_a_human_task_waits_for_its_answer_from_the_inbox(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    schema = {"type": "object", "properties": {"limit": {"type": "number"}}, "required": ["limit"]}
    task_node = samples.node(
        "approve", "human_task", title="Approve {{customer}}", form_schema=schema, output_variable="decision"
    )
    document = samples.workflow(
        [task_node, activity("after", "log", None, message="limit {{decision.limit}}")],
        samples.chain("approve", "after"),
        [samples.variable("customer", required=True)],
    )
    run = start(tenant_users, document, inputs={"customer": "ACME"})
    run = wait_for_run(run, lambda current: current.status == Run.Status.WAITING)
    task = HumanTask.objects.for_tenant(tenant_users.tenant).get(run=run)
    assert task.title == "Approve ACME"
    assert task.status == HumanTask.Status.OPEN
    member = tenant_users.membership(tenant_users.member)
    with pytest.raises(services.TaskRefused) as refused:
        services.human_task_answer(
            task=task, membership=member, outcome="completed", answer={"limit": "high"}
        )
    assert refused.value.problems
    services.human_task_answer(task=task, membership=member, outcome="completed", answer={"limit": 500})
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED
    assert run.outputs is not None
    assert run.outputs["decision"]["approved"] is True
    assert run.outputs["decision"]["limit"] == 500


def test_a_wait_node_resumes_on_its_signal(tenant_users: TenantUsers, run_worker: WorkerThread) -> None:
    wait = samples.node("hold", "wait", wait_type="signal", signal_name="paid", timeout_seconds=60)
    document = samples.workflow(
        [wait, activity("go", "log", None, message="go")], samples.chain("hold", "go")
    )
    run = wait_for_run(start(tenant_users, document), lambda current: current.status == Run.Status.WAITING)
    services.run_signal(run=run, name="paid", payload={"amount": 3})
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED
    assert ran(run) == ["hold:succeeded", "go:succeeded"]


def test_two_entry_nodes_start_together_and_their_branches_join(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    document = samples.workflow(
        [
            activity("left", "transform", "left_out", template='{"side": "left"}'),
            activity("right", "transform", "right_out", template='{"side": "right"}'),
            activity("both", "log", None, message="{{left_out.side}} and {{right_out.side}}"),
        ],
        [*samples.chain("left", "both"), *samples.chain("right", "both")],
    )
    run = wait_for_run(start(tenant_users, document))
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert sorted(ran(run)[:2]) == ["left:succeeded", "right:succeeded"]
    assert ran(run)[2:] == ["both:succeeded"], "the join runs once, after both branches"
    joined = RunEvent.objects.for_tenant(run.tenant).get(run=run, kind="node_finished", node_id="both")
    assert joined.data["inputs"] == {"message": "left and right"}
    assert_agrees_with_the_go_plan(document, {"left", "right", "both"})


def test_an_entry_waiting_for_a_signal_does_not_hold_up_the_other_entry(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    # In document order the waiting entry comes first: run one after the other, the second
    # entry would not start before the signal.
    hold = samples.node("hold", "wait", wait_type="signal", signal_name="paid", timeout_seconds=60)
    document = samples.workflow(
        [hold, activity("notify", "log", None, message="order received")],
    )

    def waiting(current: Run) -> bool:
        events = RunEvent.objects.for_tenant(current.tenant).filter(run=current, kind="node_waiting")
        return "notify:succeeded" in ran(current) and events.filter(node_id="hold").exists()

    run = wait_for_run(start(tenant_users, document), waiting)
    assert ran(run) == ["notify:succeeded"]
    assert not run.is_finished
    services.run_signal(run=run, name="paid", payload={"amount": 3})
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert ran(run) == ["notify:succeeded", "hold:succeeded"]


def test_a_subflow_runs_the_published_version_of_the_named_workflow(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    child_document = samples.workflow(
        [activity("inner", "transform", "made", template="{{name}}")], variables=[samples.variable("name")]
    )
    child = _published(tenant_users, "Child", child_document)
    parent = samples.workflow(
        [
            samples.node(
                "call",
                "subflow",
                workflow_id=str(child.uuid),
                input_mapping={"name": "{{who}}"},
                output_variable="result",
            )
        ],
        variables=[samples.variable("who", required=True)],
    )
    run = wait_for_run(start(tenant_users, parent, inputs={"who": "Ada"}))
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert run.outputs is not None
    assert run.outputs["result"]["made"] == "Ada"
    assert "call/inner:succeeded" in ran(run)


def _published(users: TenantUsers, name: str, document: dict[str, Any]) -> Workflow:
    workflow = workflow_services.workflow_create(
        tenant=users.tenant, actor=users.owner, name=name, document=document
    )
    workflow_services.workflow_publish(workflow=workflow, actor=users.owner)
    return Workflow.objects.for_tenant(users.tenant).get(pk=workflow.pk)


def test_cancelling_a_waiting_run_closes_its_task(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    document = samples.workflow([samples.node("approve", "human_task")])
    run = wait_for_run(start(tenant_users, document), lambda current: current.status == Run.Status.WAITING)
    services.run_cancel(run=run)
    run = wait_for_run(run)
    assert run.status == Run.Status.CANCELLED
    task = HumanTask.objects.for_tenant(tenant_users.tenant).get(run=run)
    assert task.status == HumanTask.Status.CANCELLED


def test_a_run_outlives_its_worker(tenant_users: TenantUsers, run_worker: WorkerThread) -> None:
    """The worker stops while the run waits; a new worker picks it up where it was, and each
    node runs once."""
    wait = samples.node("hold", "wait", wait_type="signal", signal_name="go", timeout_seconds=60)
    document = samples.workflow(
        [activity("first", "log", None, message="one"), wait, activity("last", "log", None, message="two")],
        samples.chain("first", "hold", "last"),
    )
    run = wait_for_run(start(tenant_users, document), lambda current: current.status == Run.Status.WAITING)
    run_worker.stop()
    services.run_signal(run=run, name="go")
    run_worker.start()
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED
    assert ran(run) == ["first:succeeded", "hold:succeeded", "last:succeeded"]
    assert kinds(run).count("workflow_finished") == 1


def test_wrong_inputs_are_refused_before_anything_runs(tenant_users: TenantUsers) -> None:
    document = samples.workflow(
        [activity("a", "log", None, message="x")],
        variables=[samples.variable("amount", "number", required=True)],
    )
    with pytest.raises(services.RunRefused) as refused:
        start(tenant_users, document, inputs={"amount": "lots"})
    assert refused.value.code == "bad_input"
    assert "amount" in refused.value.problems
    assert not Run.objects.for_tenant(tenant_users.tenant).exists()


def test_without_temporal_the_run_is_kept_as_failed_with_the_reason(tenant_users: TenantUsers) -> None:
    with override_settings(TEMPORAL_ADDRESS="127.0.0.1:1", EMBEDDED_TEMPORAL=False):
        run = start(tenant_users, samples.workflow([activity("a", "log", None, message="x")]))
    assert run.status == Run.Status.FAILED
    assert run.error_code == "temporal_unavailable"
    assert "Temporal" in run.error_message


def test_variables_that_outgrow_what_a_run_carries_fail_the_node_that_made_them(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    blob = "x" * 600_000
    document = samples.workflow(
        [
            activity("copy", "transform", "copy", template="{{blob}}"),
            activity("again", "transform", "again", template="{{blob}}"),
        ],
        samples.chain("copy", "again"),
        [samples.variable("blob", required=True)],
    )
    run = wait_for_run(start(tenant_users, document, inputs={"blob": blob}))
    assert run.status == Run.Status.FAILED
    assert run.error_code == "too_large"
    assert run.failed_node == "again"
    assert ran(run) == ["copy:succeeded", "again:failed"]


def test_a_human_task_nobody_answers_in_time_fails_its_node(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    node = samples.node("approve", "human_task")
    node["config"]["timeout_seconds"] = 1
    document = samples.workflow([node])
    run = wait_for_run(start(tenant_users, document))
    assert run.status == Run.Status.FAILED
    assert run.error_code == "task_timed_out"
    task = HumanTask.objects.for_tenant(tenant_users.tenant).get(run=run)
    assert task.status == HumanTask.Status.TIMED_OUT


def test_an_activity_that_outlasts_its_timeout_fails_after_its_retries(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    slow = activity("slow", "wait.sleep", None, seconds="5")
    slow["timeout_seconds"] = 1
    slow["retry_policy"] = {
        "max_attempts": 2,
        "initial_interval_ms": 100,
        "backoff_coefficient": 1.0,
        "max_interval_ms": 100,
    }
    run = wait_for_run(start(tenant_users, samples.workflow([slow])))
    assert run.status == Run.Status.FAILED
    assert run.error_code == "timeout"
    assert run.failed_node == "slow"
