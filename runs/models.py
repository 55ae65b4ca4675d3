"""Workflow runs: one execution of a workflow document on Temporal, its events and its human
tasks.

A run keeps the document it ran (a published version's, or a file's from the command line),
so later edits change nothing about it. Its events are written once each (the interpreter
numbers them; a replayed activity writes the same number again, which is ignored) and read
in the order they were written, so the run page and the API rebuild the same frames after a
reload.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.storable import StorableJSONEncoder
from tenants.scoping import TenantOwnedModel


class Run(TenantOwnedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        TERMINATED = "terminated", "Terminated"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run button"
        SCHEDULE = "schedule", "Schedule"
        WEBHOOK = "webhook", "Webhook"
        COMMAND = "command", "Command line"
        API = "api", "API"
        RERUN = "rerun", "Run again from a node"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.TERMINATED)

    workflow = models.ForeignKey(
        "workflows.Workflow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.ForeignKey(
        "workflows.WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    document: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(encoder=StorableJSONEncoder)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    inputs: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        encoder=StorableJSONEncoder, default=dict, blank=True
    )
    # Test-run outputs per activity name: {"name": {"output": …}} or {"name": {"error": "…"}}.
    canned: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        encoder=StorableJSONEncoder, default=dict, blank=True
    )
    # The variables when the run finished (inputs and every node's output).
    outputs: models.JSONField[dict[str, Any] | None, dict[str, Any] | None] = models.JSONField(
        encoder=StorableJSONEncoder, null=True, blank=True
    )
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    failed_node = models.CharField(max_length=200, blank=True)

    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rerun_from = models.CharField(max_length=200, blank=True)  # the node it was run again from

    temporal_workflow_id = models.CharField(max_length=200, unique=True)
    temporal_run_id = models.CharField(max_length=100, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Counted against the plan's runs per month in this month.
    quota_month = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="run_tenant_recent"),
            models.Index(fields=["tenant", "workflow", "-created_at"], name="run_workflow_recent"),
            models.Index(fields=["tenant", "status"], name="run_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class RunEvent(TenantOwnedModel):
    """One event of a run, numbered by the interpreter: workflow_started, node_started,
    node_finished (with its inputs, output, error and duration), node_waiting, workflow_finished."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    # Who numbered it: "" for the run's interpreter, a subflow node's path for a child run.
    # Pages and sockets order events by id (the order they were written in).
    source = models.CharField(max_length=200, blank=True)
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    node_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, blank=True)
    data: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        encoder=StorableJSONEncoder, default=dict, blank=True
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "source", "seq"], name="run_event_once")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.kind} {self.node_id}"


class HumanTask(TenantOwnedModel):
    """A human_task node waiting for a person: answered from the tenant's inbox, the answer
    delivered to the run as a signal."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        TIMED_OUT = "timed_out", "Timed out"
        CANCELLED = "cancelled", "Cancelled"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tasks")
    node_id = models.CharField(max_length=200)
    # The Temporal workflow to signal: the run's, or a subflow's child workflow.
    temporal_workflow_id = models.CharField(max_length=300)
    task_type = models.CharField(max_length=100)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    # Who may answer: an email address or a role (owner, admin, member); blank: any member.
    assignee = models.CharField(max_length=254, blank=True)
    form_schema: models.JSONField[Any, Any] = models.JSONField(
        encoder=StorableJSONEncoder, null=True, blank=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    answer: models.JSONField[Any, Any] = models.JSONField(encoder=StorableJSONEncoder, null=True, blank=True)
    comment = models.CharField(max_length=1000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["run", "node_id"], name="human_task_once_per_node")]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="human_task_inbox")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class N8nConnection(TenantOwnedModel):
    """Where a tenant's n8n answers: n8n nodes call its webhooks (`{base_url}/webhook/{path}`)
    through the egress guard, with the API key, if any, in the `X-N8N-API-KEY` header."""

    base_url = models.URLField(help_text="e.g. https://n8n.example.com")
    # Encrypted like provider keys (providers.crypto), bound to this row.
    encrypted_api_key = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="n8n_connection_per_tenant")]

    def __str__(self) -> str:
        return self.base_url


class WebhookTrigger(TenantOwnedModel):
    """A workflow's webhook: POST /hooks/runs/<token> starts a run of its published version,
    the JSON body as the inputs. The token is shown once and stored only as its SHA-256, with
    its first characters kept so people can tell which URL they hold."""

    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=16)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)  # of the current token: rotating renews it
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow"], name="webhook_trigger_per_workflow")]

    def __str__(self) -> str:
        return f"{self.token_prefix}… ({'enabled' if self.enabled else 'disabled'})"
