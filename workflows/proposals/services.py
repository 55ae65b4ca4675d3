"""Writes of workflow proposals: creating one, running it, deciding.

A proposal is made on request and run by a Celery task (workflows.tasks) enqueued once the
request's transaction commits; or, generating from requirements when no provider the
organization may use is fit to write a workflow, it is the starter workflow
(workflows.proposals.starter), built at once and ready without a model or a task.

A queued proposal holds a lease (`run_token`): queued, the token its task message carries,
which alone may start the run, so a message delivered late or twice does nothing; running,
a fresh token the run names in every later write, so a run that lost the proposal (resumed
elsewhere, or failed by the reaper: workflows.proposals.recovery) cannot overwrite what
came after it. While it runs, the run refreshes the proposal's heartbeat (core.heartbeats),
which tells the sweeper its worker is alive.
"""

from __future__ import annotations

import copy
import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations import pages as conversation_pages
from conversations import selectors as conversation_selectors
from conversations import services as conversation_services
from conversations.models import Conversation
from core import heartbeats
from providers import gateway
from providers.errors import ProviderError
from providers.interface import Task
from tenants.models import Tenant, User
from workflows import selectors
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.findings import Finding, warning
from workflows.models import Workflow, WorkflowProposal
from workflows.proposals import frames as proposal_frames
from workflows.proposals import generation, starter
from workflows.proposals import selectors as proposal_selectors
from workflows.services import blank_document, tenant_uuid, workflow_create, workflow_edit

logger = logging.getLogger(__name__)

MAX_INSTRUCTION = 4000
# A required field of a service definition's blueprint that its description did not fill.
MISSING_REQUIREMENT = "missing_requirement"
DEFINITION_NEEDS = conversation_services.DEFINITION_NEEDS
State = WorkflowProposal.State


class ProposalRefused(Exception):
    """The proposal cannot be made, accepted or rejected as asked; the message says why,
    the code (for the API) what kind of refusal it is."""

    def __init__(self, message: str, code: str = "refused") -> None:
        self.message = message
        self.code = code
        super().__init__(message)


# --- Creating ------------------------------------------------------------------------------


def new_lease() -> str:
    return uuid.uuid4().hex


def enqueue_on_commit(proposal: WorkflowProposal, *, resumed: bool = False) -> None:
    """Once the transaction commits, send the proposal's task with the lease it holds now
    (a queued proposal's `run_token`); fail the proposal when the broker cannot take it."""
    lease = proposal.run_token

    def enqueue() -> None:
        from workflows import tasks  # the tasks call these services

        publish = functools.partial(proposal_frames.publish_queued, resumed=resumed)
        proposal_frames.publish_logged(publish, proposal)
        try:
            tasks.run_workflow_proposal.delay(proposal.pk, lease)
        except Exception as problem:
            # The broker is unreachable: say so on the proposal rather than leave it queued.
            logger.exception("could not enqueue workflow proposal %s", proposal.pk)
            failed = proposal_fail(
                proposal=proposal,
                code="queue_unavailable",
                message=f"the job could not be queued ({type(problem).__name__}); try again later",
                lease=lease,
            )
            if failed is not None:
                proposal_frames.publish_logged(proposal_frames.publish_finished, failed)

    transaction.on_commit(enqueue)


def _require_complete(conversation: Conversation) -> None:
    if not conversation.is_complete:
        raise ProposalRefused(
            "The interview is not complete yet: answer its remaining questions before generating a workflow."
        )


def _identity(tenant: Tenant, base: WorkflowDocument) -> dict[str, object]:
    """The identity a proposed document gets from its workflow, never from its author."""
    identity = {field: base.get(field) for field in generation.IDENTITY_FIELDS}
    identity["tenant_id"] = tenant_uuid(tenant)
    return identity


@transaction.atomic
def proposal_create_generate(
    *, tenant: Tenant, actor: User | None, conversation: Conversation
) -> WorkflowProposal:
    """A proposal for a new workflow from a complete conversation's requirements: queued
    for a model when one the organization may use is fit to write workflows, else the
    starter workflow, ready at once (`proposal_create_starter`)."""
    _require_complete(conversation)
    if not proposal_selectors.model_can_write_workflows(tenant):
        return proposal_create_starter(tenant=tenant, actor=actor, conversation=conversation)
    base = blank_document(workflow_uuid=uuid.uuid4(), tenant=tenant, name=conversation.title[:200])
    proposal = WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        conversation=conversation,
        base_document=base,
        created_by=actor,
        run_token=new_lease(),
    )
    enqueue_on_commit(proposal)
    return proposal


@transaction.atomic
def proposal_create_starter(
    *, tenant: Tenant, actor: User | None, conversation: Conversation
) -> WorkflowProposal:
    """The starter workflow of a complete conversation, as a ready proposal: built from the
    blueprint and the answers without a model, validated, reviewed and accepted like any."""
    _require_complete(conversation)
    base = blank_document(workflow_uuid=uuid.uuid4(), tenant=tenant, name=conversation.title[:200])
    document, findings = starter.starter_workflow(
        blueprint=conversation.schema(),
        answers=conversation.answers,
        identity=_identity(tenant, base),
        known_workflow_ids=frozenset(selectors.known_workflow_ids(tenant)),
    )
    now = timezone.now()
    return WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        state=State.READY,
        conversation=conversation,
        base_document=base,
        document=document,
        findings=[finding.as_dict() for finding in findings],
        provider=starter.STARTER_PROVIDER,
        created_by=actor,
        created_at=now,
        queued_at=now,
        finished_at=now,
    )


@transaction.atomic
def proposal_create_enhance(
    *, tenant: Tenant, actor: User | None, workflow: Workflow, instruction: str
) -> WorkflowProposal:
    """A proposal for changing a draft as `instruction` (1 to 4000 characters) says."""
    current = Workflow.objects.for_tenant(tenant).get(pk=workflow.pk)
    proposal = WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.ENHANCE,
        workflow=current,
        instruction=instruction,
        base_document=copy.deepcopy(current.document),
        created_by=actor,
        run_token=new_lease(),
    )
    enqueue_on_commit(proposal)
    return proposal


def _require_a_writer(tenant: Tenant) -> None:
    # Without a model fit for it the run could only fail: the API is told at once (the
    # portal builds the starter workflow instead, which needs an interview).
    if not proposal_selectors.model_can_write_workflows(tenant):
        raise ProposalRefused(
            "No AI model that can write a workflow is set up for this organization "
            "(an admin can add a provider under Providers).",
            code="model_unavailable",
        )


@transaction.atomic
def proposal_create_described(
    *, tenant: Tenant, api_key: str, prompt: str, context: dict[str, Any], name: str = ""
) -> WorkflowProposal:
    """A proposal for a new workflow described in words (the public API's generate), queued
    for a model; refused (`model_unavailable`) when no model here can write one."""
    _require_a_writer(tenant)
    title = name.strip() or " ".join(prompt.split()[:8]) or "Generated workflow"
    base = blank_document(workflow_uuid=uuid.uuid4(), tenant=tenant, name=title[:200])
    proposal = WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        base_document=base,
        api_key=api_key,
        prompt=prompt,
        context=context,
        run_token=new_lease(),
    )
    enqueue_on_commit(proposal)
    return proposal


@transaction.atomic
def proposal_create_enhance_document(
    *, tenant: Tenant, api_key: str, document: WorkflowDocument, instruction: str
) -> WorkflowProposal:
    """A proposal for changing a workflow document sent through the public API (no draft of
    the tenant's) as `instruction` says; refused when no model here can write one.

    The document must be a workflow in shape (its identity is the result's); its errors
    are the model's to fix."""
    _require_a_writer(tenant)
    proposal = WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.ENHANCE,
        instruction=instruction,
        base_document=copy.deepcopy(document),
        api_key=api_key,
        run_token=new_lease(),
    )
    enqueue_on_commit(proposal)
    return proposal


@transaction.atomic
def proposal_create_service(
    *, tenant: Tenant, api_key: str, blueprint: str, prompt: str, context: dict[str, Any]
) -> WorkflowProposal:
    """A service definition of the `blueprint` ref ("builtin:<key>" or "tenant:<id>", one
    the tenant may use) from a description in words, queued for a model; refused
    (`model_unavailable`) when no model here is fit to write one."""
    if not gateway.fit_for_sync(tenant_id=tenant.pk, task=Task.CONVERSATION, needs=DEFINITION_NEEDS):
        raise ProposalRefused(
            "No AI model that can write a service definition is set up for this organization "
            "(an admin can add a provider under Providers).",
            code="model_unavailable",
        )
    proposal = WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.SERVICE,
        base_document={},
        api_key=api_key,
        prompt=prompt,
        context=context,
        blueprint=blueprint,
        run_token=new_lease(),
    )
    enqueue_on_commit(proposal)
    return proposal


# --- Running -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    proposal: WorkflowProposal
    token: str
    restarted: bool


@transaction.atomic
def _claim(proposal_id: int, lease: str) -> Claim | None:
    # The task carries only the id and the lease; the row names its tenant, and every query
    # after this one is scoped to it.
    row = WorkflowProposal.objects.dangerously_unscoped().filter(pk=proposal_id).first()
    if row is None:
        return None
    locked = (
        WorkflowProposal.objects.for_tenant(row.tenant)
        .select_for_update(of=("self",))  # not the tenant's row, which it joins
        .select_related("tenant")
        .filter(pk=proposal_id, state=State.QUEUED, run_token=lease)
        .first()
    )
    if locked is None:
        # Running, finished, decided, reaped, or queued again under a newer lease: this
        # message (a late or repeated delivery) is not the one that may start the run.
        return None
    token = new_lease()
    now = timezone.now()
    locked.state = State.RUNNING
    locked.run_token = token
    locked.started_at = locked.heartbeat_at = now
    locked.attempts = 0
    locked.provider = locked.model = ""
    locked.document = None
    locked.findings = []
    locked.error_code = locked.error_message = ""
    locked.save(
        update_fields=[
            "state", "run_token", "started_at", "heartbeat_at", "attempts", "provider", "model",
            "document", "findings", "error_code", "error_message",
        ]
    )  # fmt: skip
    return Claim(locked, token, restarted=locked.resumptions > 0)


def _job(proposal: WorkflowProposal) -> generation.Job:
    """What the model is asked; raises ProposalRefused when its source is gone."""
    tenant = proposal.tenant
    known = frozenset(selectors.known_workflow_ids(tenant))
    base = proposal.base_document
    identity = _identity(tenant, base)
    links = {"workflow_proposal": str(proposal.pk)}
    if proposal.api_key:
        links["api_key"] = proposal.api_key
    if proposal.kind == WorkflowProposal.Kind.GENERATE and proposal.api_key:
        system, message = generation.described_prompt(
            prompt=proposal.prompt, context=proposal.context, known_workflow_ids=known
        )
    elif proposal.kind == WorkflowProposal.Kind.GENERATE:
        conversation = proposal.conversation
        if conversation is None:
            raise ProposalRefused("the conversation this proposal was made from has been deleted")
        blueprint = conversation.schema()
        requirements = [
            (row.field.label, "(skipped)" if row.skipped else row.shown)
            for row in conversation_pages.answer_rows(blueprint, conversation.answers)
        ]
        system, message = generation.generate_prompt(
            title=conversation.title,
            blueprint=blueprint.name,
            requirements=requirements,
            known_workflow_ids=known,
        )
        links["conversation"] = str(conversation.pk)
    else:
        if proposal.workflow_id is not None:
            links["workflow"] = str(proposal.workflow_id)
        elif not proposal.api_key:  # the API's enhancements are of a document, not a draft
            raise ProposalRefused("the workflow this proposal was made for has been deleted")
        system, message = generation.enhance_prompt(
            document=base, instruction=proposal.instruction, known_workflow_ids=known
        )
    return generation.Job(
        proposal_id=proposal.pk,
        tenant_id=tenant.pk,
        user_id=proposal.created_by_id,
        system=system,
        first_message=message,
        identity=identity,
        known_workflow_ids=known,
        links=links,
    )


def _owned_by(proposal: WorkflowProposal, token: str) -> QuerySet[WorkflowProposal]:
    return WorkflowProposal.objects.for_tenant(proposal.tenant).filter(
        pk=proposal.pk, state=State.RUNNING, run_token=token
    )


class _Reporter:
    """A run's progress: counters on the row, frames for the page."""

    def __init__(self, proposal: WorkflowProposal, token: str, heartbeat: heartbeats.Heartbeat) -> None:
        self.proposal = proposal
        self.token = token
        self.heartbeat = heartbeat

    async def asking(self, number: int) -> None:
        await sync_to_async(lambda: _owned_by(self.proposal, self.token).update(attempts=number))()
        await proposal_frames.publish_asking(self.proposal, number)

    async def attempt_started(self, number: int, provider: str, model: str, waited: float) -> None:
        await sync_to_async(
            lambda: _owned_by(self.proposal, self.token).update(provider=provider, model=model)
        )()
        await proposal_frames.publish_attempt(self.proposal, number, provider, model, waited)

    async def tokens(self, number: int, count: int) -> None:
        await proposal_frames.publish_tokens(self.proposal, number, count)

    async def retrying(self, number: int, errors: list[Finding]) -> None:
        await proposal_frames.publish_retrying(self.proposal, number, errors)

    async def still_current(self) -> bool:
        if self.heartbeat.lost:
            return False
        return bool(await sync_to_async(_owned_by(self.proposal, self.token).exists)())


@transaction.atomic
def _finish(claim: Claim, outcome: generation.Outcome) -> WorkflowProposal | None:
    locked = _owned_by(claim.proposal, claim.token).select_for_update().first()
    if locked is None:
        return None
    locked.attempts = outcome.attempts
    locked.provider, locked.model = outcome.provider[:60], outcome.model[:100]
    locked.finished_at = timezone.now()
    if outcome.document is not None:
        locked.state = State.READY
        locked.document = outcome.document
        locked.findings = [finding.as_dict() for finding in outcome.findings]
    else:
        locked.state = State.FAILED
        locked.error_code = outcome.error_code[:40]
        locked.error_message = outcome.error_message[:500]
    locked.save(
        update_fields=[
            "attempts", "provider", "model", "finished_at", "state", "document", "findings",
            "error_code", "error_message",
        ]
    )  # fmt: skip
    return locked


def proposal_run(*, proposal_id: int, lease: str = "") -> WorkflowProposal | None:
    """Run a proposal (the Celery task's body): ask the model, validate, repair, record.

    Only a queued proposal whose lease is `lease` runs: a message delivered again, or late
    after the sweeper queued the proposal anew, does nothing. A resumed proposal starts
    again from the first attempt. The run's heartbeat is refreshed while it runs. Returns
    the proposal as it ended, None when there was nothing (more) for this run to do.
    """
    claim = _claim(proposal_id, lease)
    if claim is None:
        logger.info("workflow proposal %s: nothing to run under lease %r", proposal_id, lease)
        return None
    proposal = claim.proposal
    heartbeat = heartbeats.Heartbeat(
        lambda: heartbeats.refresh(_owned_by(proposal, claim.token)), name=f"workflow proposal {proposal.pk}"
    )
    with heartbeat:
        return _run(claim, heartbeat)


def _run(claim: Claim, heartbeat: heartbeats.Heartbeat) -> WorkflowProposal | None:
    proposal = claim.proposal
    if proposal.kind == WorkflowProposal.Kind.SERVICE:
        return _define_service(claim)
    proposal_frames.publish_started(proposal, restarted=claim.restarted)
    try:
        job = _job(proposal)
        outcome = async_to_sync(generation.propose)(job, _Reporter(proposal, claim.token, heartbeat))
    except ProposalRefused as refusal:
        outcome = generation.Outcome(error_code="source_deleted", error_message=refusal.message)
    except generation.Superseded:
        logger.warning("workflow proposal %s: run %s was superseded", proposal.pk, claim.token)
        return None
    except Exception as problem:
        logger.exception("workflow proposal %s failed", proposal.pk)
        outcome = generation.Outcome(
            error_code="internal_error",
            error_message=f"the job stopped on an unexpected error ({type(problem).__name__})",
        )
        finished = _finish(claim, outcome)
        if finished is not None:
            proposal_frames.publish_finished(finished)
        raise
    finished = _finish(claim, outcome)
    if finished is None:
        logger.warning("workflow proposal %s: run %s ended after it was superseded", proposal.pk, claim.token)
        return None
    if finished.state == State.FAILED:
        logger.warning(
            "workflow proposal %s failed: %s %s", finished.pk, finished.error_code, finished.error_message
        )
    proposal_frames.publish_finished(finished)
    return finished


def _define_service(claim: Claim) -> WorkflowProposal | None:
    """A service definition's run: one model call (conversations' service), no frames (no
    page follows it; the API reads the row)."""
    proposal = claim.proposal
    choice = conversation_selectors.blueprint_choice(tenant=proposal.tenant, ref=proposal.blueprint)
    definition: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = []
    error_code = error_message = provider = model = ""
    if choice is None:
        error_code, error_message = (
            "source_deleted",
            f"the blueprint {proposal.blueprint} is no longer available",
        )
    else:
        links = {"workflow_proposal": str(proposal.pk), "api_key": proposal.api_key}
        try:
            made = conversation_services.service_definition_generate(
                tenant_id=proposal.tenant_id,
                blueprint=choice.blueprint,
                prompt=proposal.prompt,
                context=proposal.context,
                links=links,
            )
        except ProviderError as failure:
            error_code, error_message = failure.code.value, failure.message
        else:
            definition, provider, model = made.payload(), made.provider, made.model
            findings = [
                warning(MISSING_REQUIREMENT, f"the description does not say: {label}").as_dict()
                for label in made.missing
            ]
    with transaction.atomic():
        locked = _owned_by(proposal, claim.token).select_for_update().first()
        if locked is None:
            logger.warning(
                "service definition %s: run %s ended after it was superseded", proposal.pk, claim.token
            )
            return None
        locked.attempts = 1
        locked.provider, locked.model = provider[:60], model[:100]
        locked.finished_at = timezone.now()
        locked.definition = definition
        locked.findings = findings
        locked.state = State.READY if definition is not None else State.FAILED
        locked.error_code, locked.error_message = error_code[:40], error_message[:500]
        locked.save(
            update_fields=[
                "attempts", "provider", "model", "finished_at", "definition", "findings", "state",
                "error_code", "error_message",
            ]
        )  # fmt: skip
    if locked.state == State.FAILED:
        logger.warning("service definition %s failed: %s %s", locked.pk, error_code, error_message)
    return locked


@transaction.atomic
def proposal_fail(
    *, proposal: WorkflowProposal, code: str, message: str, lease: str | None = None
) -> WorkflowProposal | None:
    """Fail a queued or running proposal; with `lease`, only while it still holds that lease
    (None when it had already finished, or moved on to another lease)."""
    rows = WorkflowProposal.objects.for_tenant(proposal.tenant).filter(
        pk=proposal.pk, state__in=[State.QUEUED, State.RUNNING]
    )
    if lease is not None:
        rows = rows.filter(run_token=lease)
    locked = rows.select_for_update().first()
    if locked is None:
        return None
    locked.state = State.FAILED
    locked.error_code = code[:40]
    locked.error_message = message[:500]
    locked.run_token = ""
    locked.finished_at = timezone.now()
    locked.save(update_fields=["state", "error_code", "error_message", "run_token", "finished_at"])
    return locked


# --- Deciding ------------------------------------------------------------------------------


def _locked(proposal: WorkflowProposal) -> WorkflowProposal:
    return (
        WorkflowProposal.objects.for_tenant(proposal.tenant)
        # Only the proposal's row: PostgreSQL refuses to lock the nullable side of the outer
        # joins that fetch its workflow and conversation.
        .select_for_update(of=("self",))
        .select_related("tenant", "workflow", "conversation")
        .get(pk=proposal.pk)
    )


def _same_draft(current: WorkflowDocument, base: WorkflowDocument) -> bool:
    # Publishing renumbers the draft without changing it.
    return {**current, "version": None} == {**base, "version": None}


@transaction.atomic
def proposal_accept(*, proposal: WorkflowProposal, actor: User | None) -> Workflow:
    """Apply a ready proposal: a new draft (generate) or an undoable edit of the draft
    (enhance). Refused when the proposal is not ready, or the draft changed since."""
    locked = _locked(proposal)
    if locked.state != State.READY or locked.document is None:
        raise ProposalRefused(
            f"This proposal is {locked.get_state_display().lower()}: only a ready one can be accepted."
        )
    if locked.kind == WorkflowProposal.Kind.GENERATE:
        name = str(locked.document.get("name") or locked.base_document.get("name") or "Generated workflow")
        workflow = workflow_create(
            tenant=locked.tenant,
            actor=actor,
            name=name,
            document=locked.document,
            source_conversation=locked.conversation,
            workflow_uuid=uuid.UUID(str(locked.base_document["id"])),
        )
    else:
        if locked.workflow is None:
            raise ProposalRefused("The workflow this proposal was made for has been deleted.")
        current = Workflow.objects.for_tenant(locked.tenant).select_for_update().get(pk=locked.workflow.pk)
        if not _same_draft(current.document, locked.base_document):
            raise ProposalRefused(
                "The draft has changed since this proposal was made, so applying it would undo those "
                "changes. Reject it and ask again from the current draft."
            )
        instruction = " ".join(locked.instruction.split())
        workflow = workflow_edit(
            workflow=current,
            actor=actor,
            document=locked.document,
            summary=f"Enhanced with AI: {instruction}"[:200],
        )
    locked.state = State.ACCEPTED
    locked.workflow = workflow
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.save(update_fields=["state", "workflow", "decided_by", "decided_at"])
    transaction.on_commit(lambda: proposal_frames.publish_logged(proposal_frames.publish_decided, locked))
    return workflow


@transaction.atomic
def proposal_reject(*, proposal: WorkflowProposal, actor: User | None) -> WorkflowProposal:
    """Set a ready proposal aside; the draft stays as it is."""
    locked = _locked(proposal)
    if locked.state != State.READY:
        raise ProposalRefused(
            f"This proposal is {locked.get_state_display().lower()}: only a ready one can be rejected."
        )
    locked.state = State.REJECTED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.save(update_fields=["state", "decided_by", "decided_at"])
    transaction.on_commit(lambda: proposal_frames.publish_logged(proposal_frames.publish_decided, locked))
    return locked
