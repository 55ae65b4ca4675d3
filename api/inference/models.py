"""Seed 004's inference requests and their numbered events.

A request is submitted by a program with a tenant API key and answered in the background by
a Celery worker (api.inference.tasks) through the gateway. Everything a reader sees is an
`InferenceEvent` numbered from 1 within its request: `start`, one `token` per piece of the
reply, and one ending, `complete` or `error`. Event numbers are the SSE `id:`s, so any
reader resumes after the last one it saw. A finished request (its result and its events)
is kept until `expires_at`, then purged.

Imported by api/models.py, so the models belong to the `api` app.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from tenants.scoping import TenantOwnedModel


class InferenceRequest(TenantOwnedModel):
    """One prompt sent to the gateway for a tenant, its progress and its result."""

    class Status(models.TextChoices):
        # Seed 004's statuses: queued, being answered, answered, given up.
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    FINISHED = frozenset({Status.COMPLETED, Status.FAILED})

    # The id programs see; the primary key stays internal (it names the frame stream).
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session_id = models.CharField(max_length=200)
    api_key = models.ForeignKey(
        "api.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the key row goes: the logs name a key by its prefix.
    key_prefix = models.CharField(max_length=20)
    prompt = models.TextField()
    system = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The model name as the caller sent it (api.gateway_models: auto, a provider, provider/model).
    model = models.CharField(max_length=200)
    max_tokens = models.PositiveIntegerField()
    temperature = models.FloatField(null=True, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # Who served it, once the model began answering.
    provider = models.CharField(max_length=60, blank=True)
    provider_model = models.CharField(max_length=200, blank=True)
    result = models.TextField(blank=True)  # the answer, once completed
    finish_reason = models.CharField(max_length=40, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    # The lease (see api.inference.services): queued, the token the task message carries;
    # running, a fresh one the run names in every write. "" once finished.
    run_token = models.CharField(max_length=32, blank=True)
    resumptions = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A finished request is deleted after this (INFERENCE_RESULT_TTL_HOURS after it ended).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sweeper's and reaper's scans across tenants, and the purge's.
            models.Index(fields=["status", "heartbeat_at"], name="inference_status_beat"),
            models.Index(fields=["expires_at"], name="inference_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class InferenceEvent(TenantOwnedModel):
    """One numbered event of a request, as its readers receive it (SSE and WebSocket)."""

    class Kind(models.TextChoices):
        START = "start", "Start"
        TOKEN = "token", "Token"
        COMPLETE = "complete", "Complete"
        ERROR = "error", "Error"

    ENDINGS = frozenset({Kind.COMPLETE, Kind.ERROR})

    request = models.ForeignKey(InferenceRequest, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["request", "seq"]
        constraints = [
            # One writer per number: a run that lost its lease cannot slip an event in.
            models.UniqueConstraint(fields=["request", "seq"], name="inference_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.seq} {self.kind}"
