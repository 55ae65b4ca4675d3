"""Writes of the runs app: start, cancel and terminate runs; open, answer and close human
tasks; signal a waiting run.

A run is admitted (valid document, inputs of the right types, the plan's limits) and stored
before Temporal hears of it; when Temporal cannot be reached, the run is kept as failed with
that reason, so nothing is lost and the page says what happened.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from core import temporal_client
from runs import limits
from runs.engine.types import (
    EVENT_SIGNAL,
    TASK_SIGNAL,
    WORKFLOW_NAME,
    NamedSignal,
    RunInput,
    TaskAnswer,
    TaskClosing,
    TaskOpening,
)
from runs.inputs import RunInputError, parse_run_inputs
from runs.models import HumanTask, Run, RunEvent
from tenants.models import Membership, Role, Tenant
from workflows import selectors as workflow_selectors
from workflows.analysis.limits import current_limits
from workflows.analysis.validation import validate_workflow
from workflows.models import Workflow, WorkflowVersion

MAX_CANNED_ENTRIES = 200
# What a run starts with travels as one Temporal payload (at most 2 MB).
MAX_START_BYTES = 1_800_000


@dataclass
class RunRefused(Exception):
    """Why a run was not started: a code, a sentence, and per-field problems for forms."""

    code: str
    message: str
    problems: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def run_start(
    *,
    tenant: Tenant,
    document: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    inputs_as_text: bool = False,
    canned: Mapping[str, Any] | None = None,
    trigger: str = Run.Trigger.MANUAL,
    workflow: Workflow | None = None,
    version: WorkflowVersion | None = None,
    started_by: Any = None,
    rerun_of: Run | None = None,
    start_from: str = "",
) -> Run:
    """Admit and store a run, then start it on Temporal; RunRefused when it may not run."""
    analysis = validate_workflow(
        dict(document),
        known_workflow_ids=workflow_selectors.known_workflow_ids(tenant),
        limits=current_limits(),
    )
    if analysis.workflow is None or analysis.errors:
        first = analysis.errors[0].message if analysis.errors else "it cannot be read"
        raise RunRefused("invalid_workflow", f"The workflow has errors to fix before it can run: {first}.")
    variables = [variable.model_dump() for variable in analysis.workflow.variables]
    try:
        parsed = parse_run_inputs(variables, inputs or {}, as_text=inputs_as_text)
    except RunInputError as error:
        raise RunRefused("bad_input", error.message, dict(error.problems)) from None
    given = _canned(canned or {})
    if start_from and start_from not in {node.id for node in analysis.workflow.nodes}:
        raise RunRefused("bad_input", f"The workflow has no node “{start_from}”.")
    earlier = dict(rerun_of.outputs or {}) if rerun_of is not None else {}
    size = len(json.dumps([dict(document), parsed, given, earlier], default=str).encode())
    if size > MAX_START_BYTES:
        raise RunRefused(
            "too_large",
            f"The workflow with its inputs and test outputs is {size:,} bytes; a run starts with at most "
            f"{MAX_START_BYTES:,}.",
        )
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        refusal = limits.refusal(locked)
        if refusal is not None:
            raise RunRefused("limit_reached", refusal)
        run = Run.objects.create(
            tenant=tenant,
            workflow=workflow,
            version=version,
            title=str(document.get("name") or "Workflow")[:200],
            document=dict(document),
            trigger=trigger,
            inputs=parsed,
            canned=given,
            rerun_of=rerun_of,
            rerun_from=start_from,
            temporal_workflow_id=f"run-{tenant.pk}-{uuid.uuid4().hex}",
            started_by=started_by,
            quota_month=limits.current_month(),
        )
    run_input = RunInput(
        run_id=run.pk,
        tenant_id=tenant.pk,
        document=run.document,
        inputs=parsed,
        canned=given,
        start_from=start_from or None,
        earlier=earlier,
    )
    try:
        handle = async_to_sync(_start)(run.temporal_workflow_id, run_input)
    except temporal_client.TemporalUnavailable as error:
        _fail_unstarted(run, str(error))
        return run
    Run.objects.for_tenant(tenant).filter(pk=run.pk).update(
        temporal_run_id=handle.first_execution_run_id or ""
    )
    run.temporal_run_id = handle.first_execution_run_id or ""
    return run


def run_again_from(*, run: Run, node_id: str, started_by: Any = None) -> Run:
    """A new run of the same document from `node_id`, with the variables `run` ended with."""
    if not run.is_finished:
        raise RunRefused("still_running", "The run has not finished yet.")
    return run_start(
        tenant=run.tenant,
        document=run.document,
        inputs=run.inputs,
        canned=run.canned,
        trigger=Run.Trigger.RERUN,
        workflow=run.workflow,
        version=run.version,
        started_by=started_by,
        rerun_of=run,
        start_from=node_id,
    )


async def _start(workflow_id: str, run_input: RunInput) -> WorkflowHandle[Any, Any]:
    client = await temporal_client.connect()
    try:
        return await client.start_workflow(
            WORKFLOW_NAME, run_input, id=workflow_id, task_queue=settings.TEMPORAL_TASK_QUEUE
        )
    except RPCError as error:
        raise temporal_client.TemporalUnavailable(
            f"Temporal refused to start the run: {error.message}"
        ) from None


def _fail_unstarted(run: Run, reason: str) -> None:
    now = timezone.now()
    Run.objects.for_tenant(run.tenant).filter(pk=run.pk).update(
        status=Run.Status.FAILED,
        error_code="temporal_unavailable",
        error_message=f"{reason} Nothing ran; start it again once Temporal is back."[:1000],
        finished_at=now,
    )
    run.refresh_from_db()


def _canned(canned: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Test-run outputs: name -> {"output": value} or {"error": "text"}."""
    if len(canned) > MAX_CANNED_ENTRIES:
        raise RunRefused("bad_input", f"At most {MAX_CANNED_ENTRIES} test outputs can be given.")
    given: dict[str, dict[str, Any]] = {}
    for name, entry in canned.items():
        if not isinstance(entry, Mapping) or set(entry) - {"output", "error"} or len(entry) != 1:
            raise RunRefused(
                "bad_input",
                f"The test output for “{name}” must be an output or an error.",
                {str(name): "Give an output or an error."},
            )
        if "error" in entry and not isinstance(entry["error"], str):
            raise RunRefused("bad_input", f"The test error for “{name}” must be text.")
        given[str(name)] = dict(entry)
    return given


def run_cancel(*, run: Run) -> None:
    """Ask the run to stop: the node running is cancelled, an open task closed, and the run
    ends as cancelled once the interpreter has recorded it."""
    if run.is_finished:
        return
    async_to_sync(_on_handle)(run, "cancel")


def run_terminate(*, run: Run, reason: str = "") -> None:
    """Stop the run at once, without letting it clean up; recorded here, since the
    interpreter is given no chance to."""
    if run.is_finished:
        return
    async_to_sync(_on_handle)(run, "terminate", reason or "terminated from SCE")
    with transaction.atomic():
        locked = Run.objects.for_tenant(run.tenant).select_for_update().get(pk=run.pk)
        if locked.is_finished:
            return
        now = timezone.now()
        last = RunEvent.objects.for_tenant(run.tenant).filter(run=locked, source="").order_by("-seq").first()
        RunEvent.objects.create(
            tenant=run.tenant,
            run=locked,
            seq=(last.seq if last is not None else 0) + 1_000_000,  # past anything the interpreter numbers
            kind="workflow_finished",
            status="terminated",
            data={"error": reason or "Terminated."},
            at=now,
        )
        locked.status, locked.finished_at = Run.Status.TERMINATED, now
        locked.error_code, locked.error_message = "terminated", (reason or "Terminated.")[:1000]
        locked.save()
        HumanTask.objects.for_tenant(run.tenant).filter(run=locked, status=HumanTask.Status.OPEN).update(
            status=HumanTask.Status.CANCELLED, decided_at=now
        )
    run.refresh_from_db()


def run_signal(*, run: Run, name: str, payload: Any = None) -> None:
    """A signal for the run's wait nodes (`name`: the node's signal_name)."""
    if run.is_finished:
        raise RunRefused("finished", "The run has finished; it takes no more signals.")
    async_to_sync(_on_handle)(run, "signal", NamedSignal(name=name, payload=payload))


async def _on_handle(run: Run, action: str, argument: Any = None) -> None:
    client = await temporal_client.connect()
    handle = client.get_workflow_handle(run.temporal_workflow_id)
    try:
        if action == "cancel":
            await handle.cancel()
        elif action == "terminate":
            await handle.terminate(reason=str(argument))
        else:
            await handle.signal(EVENT_SIGNAL, argument)
    except RPCError as error:
        raise RunRefused("temporal_error", f"Temporal did not take it: {error.message}") from None


# Human tasks --------------------------------------------------------------------------


def human_task_open(*, opening: TaskOpening) -> HumanTask | None:
    """The task a human_task node waits on (once: a retried activity finds it made)."""
    tenant = Tenant(pk=opening.tenant_id)
    run = Run.objects.for_tenant(tenant).filter(pk=opening.run_id).first()
    if run is None:
        return None
    due = timezone.now() + dt.timedelta(seconds=opening.timeout_seconds) if opening.timeout_seconds else None
    task, _ = HumanTask.objects.for_tenant(tenant).get_or_create(
        run=run,
        node_id=opening.node_id,
        defaults={
            "tenant_id": opening.tenant_id,
            "temporal_workflow_id": opening.temporal_workflow_id,
            "task_type": opening.task_type[:100],
            "title": opening.title[:500] or "Task",
            "description": opening.description,
            "assignee": opening.assignee[:254],
            "form_schema": opening.form_schema,
            "due_at": due,
        },
    )
    return task


def human_task_close(*, closing: TaskClosing) -> None:
    """A task nobody answered in time, or whose run was cancelled."""
    HumanTask.objects.for_tenant(Tenant(pk=closing.tenant_id)).filter(
        run_id=closing.run_id, node_id=closing.node_id, status=HumanTask.Status.OPEN
    ).update(status=closing.status, decided_at=timezone.now())


class TaskRefused(RunRefused):
    pass


def human_task_answer(
    *, task: HumanTask, membership: Membership, outcome: str, answer: Mapping[str, Any], comment: str = ""
) -> HumanTask:
    """Complete or reject a task: the answer checked against the task's form schema, then
    delivered to the run; the task stays open when Temporal cannot take it."""
    if outcome not in ("completed", "rejected"):
        raise TaskRefused("bad_input", "Complete or reject the task.")
    if not may_answer(task, membership):
        raise TaskRefused("not_yours", "This task is assigned to someone else.")
    answer = dict(answer)
    if outcome == "completed":
        problems = form_problems(task.form_schema, answer)
        if problems:
            raise TaskRefused("bad_input", "The answer does not fit the task's form.", problems)
    with transaction.atomic():
        locked = HumanTask.objects.for_tenant(task.tenant).select_for_update().get(pk=task.pk)
        if locked.status != HumanTask.Status.OPEN:
            raise TaskRefused("closed", f"The task is already {locked.get_status_display().lower()}.")
        signal = TaskAnswer(
            node_id=locked.node_id,
            outcome=outcome,
            answer=answer,
            decided_by=membership.user.email,
            comment=comment[:1000],
        )
        async_to_sync(_signal_task)(locked.temporal_workflow_id, signal)
        locked.status = HumanTask.Status.COMPLETED if outcome == "completed" else HumanTask.Status.REJECTED
        locked.answer, locked.comment = answer, comment[:1000]
        locked.decided_by, locked.decided_at = membership.user, timezone.now()
        locked.save()
    return locked


async def _signal_task(workflow_id: str, answer: TaskAnswer) -> None:
    try:
        client = await temporal_client.connect()
        await client.get_workflow_handle(workflow_id).signal(TASK_SIGNAL, answer)
    except RPCError as error:
        raise TaskRefused("temporal_error", f"The run did not take the answer: {error.message}") from None
    except temporal_client.TemporalUnavailable as error:
        raise TaskRefused("temporal_unavailable", str(error)) from None


ANSWERING_ROLES = {Role.MEMBER, Role.ADMIN, Role.OWNER}


def may_answer(task: HumanTask, membership: Membership) -> bool:
    """Viewers never; with no assignee, any other member; assigned to a role (owner, admin,
    member), that role or a higher one; assigned to an email address, that person, or an
    owner or admin acting for them."""
    role = Role(membership.role)
    if not role.at_least(Role.MEMBER):
        return False
    assignee = task.assignee.strip().lower()
    if not assignee:
        return True
    if assignee in ANSWERING_ROLES:
        return role.at_least(Role(assignee))
    return membership.user.email.lower() == assignee or role.at_least(Role.ADMIN)


def form_problems(schema: Any, answer: Mapping[str, Any]) -> dict[str, str]:
    """Field -> what is wrong, by the JSON Schema (no schema: anything goes)."""
    if not isinstance(schema, dict) or not schema:
        return {}
    validator = jsonschema.Draft202012Validator(schema)
    problems: dict[str, str] = {}
    for error in validator.iter_errors(dict(answer)):
        where = ".".join(str(part) for part in error.absolute_path) or "answer"
        problems.setdefault(where, error.message[:300])
    return problems


# Subflows -----------------------------------------------------------------------------


def published_document(*, tenant_id: int, workflow_id: str) -> dict[str, Any] | None:
    """The latest published version's document of the tenant's workflow `workflow_id` (its
    uuid), None when there is none."""
    try:
        key = uuid.UUID(workflow_id)
    except ValueError:
        return None
    tenant = Tenant(pk=tenant_id)
    workflow = workflow_selectors.workflow_by_uuid(tenant=tenant, workflow_uuid=key)
    if workflow is None or not workflow.published_version:
        return None
    version = workflow_selectors.version_of(workflow, workflow.published_version)
    return dict(version.document) if version is not None else None
