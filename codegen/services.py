"""Writes of generations: creating one (its quota reserved), deciding what it does next
(cancel, run the tests again, regenerate a file, retry), and failing it.

A generation is run by a Celery task (codegen.tasks) sent once the creating transaction
commits, carrying the generation's lease (`run_token`): only the message holding the current
lease may start a run, which then takes a fresh token it names in every later write
(codegen.records), so a run that lost the generation (cancelled, reaped, resumed elsewhere)
writes nothing after that.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from codegen import events, quotas
from codegen.models import Generation
from codegen.spec import Options
from codegen.targets import TARGETS, target_for
from conversations import pages as conversation_pages
from conversations.models import Conversation
from tenants.models import Tenant, User
from workflows.models import WorkflowVersion

logger = logging.getLogger(__name__)

State = Generation.State
Action = Generation.Action
MAX_REQUIREMENTS_BYTES = 200_000


class GenerationRefused(Exception):
    """The generation cannot be made or changed as asked; `message` says why to a person."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def new_lease() -> str:
    return uuid.uuid4().hex


def transition(generation: Generation, state: str) -> None:
    """Set the state and record the change with its time (the caller saves `state` and
    `transitions`)."""
    generation.state = state
    generation.transitions = [*generation.transitions, {"state": state, "at": timezone.now().isoformat()}]


def enqueue_on_commit(generation: Generation) -> None:
    """Once the transaction commits, send the run's task with the lease it holds now; fail the
    generation when the broker cannot take it."""
    lease = generation.run_token

    def enqueue() -> None:
        from codegen import tasks  # the tasks call these services

        try:
            tasks.run_generation.delay(generation.pk, lease)
        except Exception as problem:
            logger.exception("could not enqueue generation %s", generation.pk)
            generation_fail(
                generation=generation,
                code="queue_unavailable",
                message=f"the job could not be queued ({type(problem).__name__}); try again later",
                lease=lease,
            )

    transaction.on_commit(enqueue)


# --- Creating ------------------------------------------------------------------------------


def _checked_requirements(requirements: Any) -> dict[str, Any]:
    import json

    if not isinstance(requirements, dict) or not isinstance(requirements.get("requirements"), dict):
        raise GenerationRefused(
            "bad_input",
            "The requirements must be a JSON object with a 'requirements' object (the interview's download).",
        )
    if len(json.dumps(requirements, default=str)) > MAX_REQUIREMENTS_BYTES:
        raise GenerationRefused("bad_input", f"The requirements are over {MAX_REQUIREMENTS_BYTES} bytes.")
    return requirements


@transaction.atomic
def generation_create(
    *,
    tenant: Tenant,
    actor: User | None,
    options: Options,
    mode: str,
    conversation: Conversation | None = None,
    requirements: dict[str, Any] | None = None,
    workflow_version: WorkflowVersion | None = None,
    workflow_document: dict[str, Any] | None = None,
    enqueue: bool = True,
) -> Generation:
    """A generation from a complete conversation (or a requirements document), optionally with
    one of the tenant's published workflow versions (or a workflow document); its month's
    quota reserved under a lock on the tenant, so two starts at the limit admit one."""
    if options.target not in TARGETS and options.target != "python-fastapi":
        raise GenerationRefused("unknown_target", f"There is no target {options.target!r}.")
    try:
        target_for(options.target)
    except KeyError:
        raise GenerationRefused("unknown_target", f"There is no target {options.target!r}.") from None
    if mode not in Generation.Mode.values:
        raise GenerationRefused("bad_mode", f"The mode must be one of: {', '.join(Generation.Mode.values)}.")
    if conversation is not None:
        if conversation.tenant_id != tenant.pk:
            raise GenerationRefused("bad_input", "No such interview.")
        if not conversation.is_complete:
            raise GenerationRefused(
                "not_complete", "The interview is not complete yet: answer its remaining questions first."
            )
        requirements = conversation_pages.requirements_payload(conversation)
    requirements = _checked_requirements(requirements)
    if workflow_version is not None:
        if workflow_version.tenant_id != tenant.pk:
            raise GenerationRefused("bad_input", "No such workflow version.")
        workflow_document = dict(workflow_version.document)
    if workflow_document is not None and not isinstance(workflow_document, dict):
        raise GenerationRefused("bad_input", "The workflow must be a JSON object.")

    # The tenant's row is the lock two concurrent starts queue on (SQLite's write lock, taken
    # at the transaction's start, serializes them there).
    locked_tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    month = quotas.current_month()
    limit = quotas.monthly_limit(locked_tenant)
    if limit is not None:
        used = (
            Generation.objects.for_tenant(locked_tenant).filter(quota_month=month, quota_counted=True).count()
        )
        if used >= limit:
            plan = locked_tenant.get_plan_display()
            raise GenerationRefused(
                "quota_exceeded",
                f"The {plan} plan includes {limit} generation{'s' if limit != 1 else ''} a month, and "
                f"{'it has' if limit == 1 else 'all have'} been used. More are available from "
                f"{quotas.QuotaStatus(month, used, limit).next_month:%B} 1, or on a larger plan.",
            )
    title = str(requirements.get("title") or "Generated service")[:200] or "Generated service"
    generation = Generation.objects.create(
        tenant=locked_tenant,
        conversation=conversation,
        workflow_version=workflow_version,
        title=title,
        requirements=requirements,
        workflow_document=workflow_document,
        target=options.target,
        include_tests=options.include_tests,
        include_docs=options.include_docs,
        include_deployment=options.include_deployment,
        mode=mode,
        created_by=actor,
        quota_month=month,
        quota_counted=True,
        run_token=new_lease(),
        transitions=[{"state": State.QUEUED, "at": timezone.now().isoformat()}],
    )
    if enqueue:
        enqueue_on_commit(generation)
    return generation


# --- Deciding what happens next ------------------------------------------------------------


def _locked(generation: Generation) -> Generation:
    return (
        Generation.objects.for_tenant(generation.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=generation.pk)
    )


def _release_quota_if_empty(locked: Generation) -> None:
    from codegen.models import FileVersion

    produced = FileVersion.objects.for_tenant(locked.tenant).filter(file__generation=locked).exists()
    if not produced and locked.quota_counted:
        locked.quota_counted = False


def settle_unfinished_files(locked: Generation) -> None:
    """Files a run was still writing when it ended: back to what their latest version says
    (planned without one), so a finished generation never shows a file being generated."""
    from codegen.models import FileVersion, GeneratedFile

    unfinished = GeneratedFile.objects.for_tenant(locked.tenant).filter(
        generation=locked, status=GeneratedFile.Status.GENERATING
    )
    for file in unfinished:
        latest = FileVersion.objects.for_tenant(locked.tenant).filter(file=file).order_by("-number").first()
        if latest is None:
            file.status = GeneratedFile.Status.PLANNED
        else:
            errors = any(finding.get("severity") != "warning" for finding in latest.findings)
            file.status = GeneratedFile.status_of(latest.kind, has_errors=errors)
        file.save(update_fields=["status"])


def _queue_again(locked: Generation, action: str, path: str = "") -> Generation:
    locked.action = action
    locked.action_path = path
    locked.run_token = new_lease()
    locked.cancel_requested = False
    locked.queued_at = timezone.now()
    locked.started_at = locked.heartbeat_at = locked.finished_at = None
    locked.error_code = locked.error_message = ""
    transition(locked, State.QUEUED)
    locked.save()
    enqueue_on_commit(locked)
    return locked


@transaction.atomic
def generation_cancel(*, generation: Generation, actor: User | None) -> Generation:
    """Stop a generation: a queued one at once; a running one is told to (its run kills what
    it started, model calls and sandbox included, and records the cancellation)."""
    locked = _locked(generation)
    if not locked.is_active:
        raise GenerationRefused("not_allowed", f"This generation is {locked.get_state_display().lower()}.")
    if locked.state == State.QUEUED:
        _release_quota_if_empty(locked)
        locked.run_token = ""
        locked.finished_at = timezone.now()
        transition(locked, State.CANCELLED)
        locked.save()
        message = "Cancelled before it started."
        transaction.on_commit(lambda: events.record(locked, "cancelled", {"message": message}))
        return locked
    locked.cancel_requested = True
    locked.save(update_fields=["cancel_requested"])
    return locked


def _settled(locked: Generation, what: str) -> None:
    if locked.is_active:
        raise GenerationRefused(
            "not_allowed",
            f"This generation is still {locked.get_state_display().lower()}: {what} once it ends.",
        )


@transaction.atomic
def generation_rerun_tests(*, generation: Generation, actor: User | None) -> Generation:
    """Run the generated tests again in the sandbox, on the files as they are."""
    locked = _locked(generation)
    _settled(locked, "run the tests again")
    if not locked.include_tests or locked.plan is None:
        raise GenerationRefused("not_allowed", "This generation has no tests to run.")
    return _queue_again(locked, Action.TESTS)


@transaction.atomic
def generation_regenerate_file(*, generation: Generation, path: str, actor: User | None) -> Generation:
    """Write one file again (a new version), check it and the project, run the tests again."""
    from codegen import selectors

    locked = _locked(generation)
    _settled(locked, "regenerate a file")
    if locked.plan is None or selectors.file_of(locked, path) is None:
        raise GenerationRefused("not_allowed", "This generation has no such file.")
    return _queue_again(locked, Action.REGENERATE_FILE, path)


@transaction.atomic
def generation_retry(*, generation: Generation, actor: User | None) -> Generation:
    """Run a failed or cancelled generation again, resuming from the files it had stored."""
    locked = _locked(generation)
    if locked.state not in (State.FAILED, State.CANCELLED):
        raise GenerationRefused("not_allowed", "Only a failed or cancelled generation can be retried.")
    return _queue_again(locked, Action.GENERATE)


@transaction.atomic
def generation_fail(
    *, generation: Generation, code: str, message: str, lease: str | None = None
) -> Generation | None:
    """Fail a queued or running generation (with `lease`: only while it still holds it); its
    quota given back when it produced nothing. None when it had already ended."""
    rows = Generation.objects.for_tenant(generation.tenant).filter(
        pk=generation.pk, state__in=list(Generation.ACTIVE_STATES)
    )
    if lease is not None:
        rows = rows.filter(run_token=lease)
    locked = rows.select_for_update(of=("self",)).select_related("tenant").first()
    if locked is None:
        return None
    settle_unfinished_files(locked)
    _release_quota_if_empty(locked)
    locked.error_code = code[:40]
    locked.error_message = message[:500]
    locked.run_token = ""
    locked.finished_at = timezone.now()
    transition(locked, State.FAILED)
    locked.save()
    transaction.on_commit(
        lambda: events.record(locked, "failed", {"code": locked.error_code, "message": locked.error_message})
    )
    return locked
