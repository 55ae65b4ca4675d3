from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.scoping import TenantOwnedModel


class Workflow(TenantOwnedModel):
    """A tenant's workflow: the draft being edited, and the versions published from it.

    `document` is the draft in the DSL's JSON form (seed 000's), kept as the user left it,
    findings and all: a draft may be invalid, a version may not.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    document = models.JSONField()
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
    document = models.JSONField()
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
    before = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.summary
