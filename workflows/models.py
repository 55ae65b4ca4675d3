from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.storable import StorableJSONEncoder
from tenants.scoping import TenantOwnedModel
from workflows.dsl.document_types import WorkflowDocument


class Workflow(TenantOwnedModel):
    """A tenant's workflow: the draft being edited, and the versions published from it.

    `document` is the draft in the DSL's JSON form (seed 000's), kept as the user left it,
    findings and all: a draft may be invalid, a version may not.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    # A JSON object: services are its only writers, and the annotation makes mypy check each
    # write (Django's fields take no type arguments at run time; annotations are not run).
    document: models.JSONField[WorkflowDocument, WorkflowDocument] = models.JSONField(
        encoder=StorableJSONEncoder
    )
    published_version = models.PositiveIntegerField(default=0)  # 0: never published
    # Whether the draft differs from the latest version (always True before the first).
    has_changes = models.BooleanField(default=True)
    source_conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["tenant", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(TenantOwnedModel):
    """A published, immutable copy of a workflow: what runs and what diffs compare."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    document: models.JSONField[WorkflowDocument, WorkflowDocument] = models.JSONField(
        encoder=StorableJSONEncoder
    )
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "workflow", "number"], name="workflow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"


class WorkflowChange(TenantOwnedModel):
    """One edit of a draft, with the document as it was before: what undo restores."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    summary = models.CharField(max_length=200)
    before: models.JSONField[WorkflowDocument, WorkflowDocument] = models.JSONField(
        encoder=StorableJSONEncoder
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.summary


class WorkflowProposal(TenantOwnedModel):
    """A workflow the model proposed: generated from a conversation's requirements, or an
    enhancement of a draft following an instruction. Shown as a diff to accept or reject.

    queued → running → ready | failed; ready → accepted | rejected. `base_document` is what
    the proposal was made from (for generate, an empty workflow), so the diff shows what it
    changes and accepting can tell whether the draft moved on meanwhile.

    The public API makes them too (`api_key` names the key that asked): a workflow from a
    prompt (generate, without a conversation), an enhancement of a document it was sent
    (enhance, without a workflow), and a service definition from a prompt (service: the
    requirements of a blueprint, in `definition`; no workflow, no page).
    """

    class Kind(models.TextChoices):
        GENERATE = "generate", "Generate from requirements"
        ENHANCE = "enhance", "Enhance with AI"
        SERVICE = "service", "Service definition from a prompt"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    # generate: the requirements; enhance: None.
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # enhance: the draft to change; generate: the workflow created on accept.
    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    instruction = models.TextField(blank=True)
    base_document: models.JSONField[WorkflowDocument, WorkflowDocument] = models.JSONField(
        encoder=StorableJSONEncoder
    )
    document: models.JSONField[WorkflowDocument | None, WorkflowDocument | None] = models.JSONField(
        encoder=StorableJSONEncoder, null=True, blank=True
    )
    findings = models.JSONField(encoder=StorableJSONEncoder, default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider = models.CharField(max_length=60, blank=True)
    model = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # The lease. Queued: the token the task message carries, which alone may start the run
    # (a late or repeated delivery of an older message is refused). Running: the run's own
    # token, named by every write of the run, so a run that lost the proposal (resumed by the
    # sweeper, failed by the reaper) cannot overwrite what came after it.
    run_token = models.CharField(max_length=32, blank=True)
    # Made through the public API: the prefix of the key that asked ("" from the portal).
    api_key = models.CharField(max_length=20, blank=True)
    # API generate and service: what the caller asked for in words, and the context it sent.
    prompt = models.TextField(blank=True)
    context = models.JSONField(encoder=StorableJSONEncoder, default=dict, blank=True)
    # Service: the blueprint the definition follows ("builtin:<key>" or "tenant:<id>"), and
    # the definition made (the interview's JSON download format).
    blueprint = models.CharField(max_length=40, blank=True)
    definition = models.JSONField(encoder=StorableJSONEncoder, null=True, blank=True)
    # While running, refreshed every JOB_HEARTBEAT_SECONDS by the run's worker; the sweeper
    # resumes a run whose heartbeat went stale (its worker died) at most JOB_MAX_RESUMPTIONS
    # times (`resumptions`).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resumptions = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)  # created, or last resumed
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="proposal_recent"),
            # The reaper and the sweeper look for the few queued and running proposals, by
            # state (no index on the heartbeat: it changes every few seconds).
            models.Index(fields=["state", "created_at"], name="proposal_unfinished"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def has_page(self) -> bool:
        """Whether the portal shows it (a service definition is the API's alone)."""
        return self.kind != self.Kind.SERVICE

    @property
    def error_findings(self) -> list[dict[str, object]]:
        return [finding for finding in self.findings if finding.get("severity") == "error"]
