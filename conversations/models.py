from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conversations.blueprints.schema import Blueprint
from core.storable import StorableJSONEncoder
from tenants.scoping import TenantOwnedModel


class TenantBlueprint(TenantOwnedModel):
    """A tenant's own blueprint, usually a copy of a built-in one, edited in the portal."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    # The fields as Blueprint (conversations.blueprints.schema) validates them.
    fields = models.JSONField(encoder=StorableJSONEncoder, default=list)
    copied_from = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="blueprint_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_blueprint(self) -> Blueprint:
        return Blueprint.model_validate(
            {"name": self.name, "description": self.description, "fields": self.fields}
        )


class Conversation(TenantOwnedModel):
    """A guided interview that fills in a blueprint's requirements for one service."""

    class Status(models.TextChoices):
        GATHERING = "gathering", "Gathering"
        COMPLETE = "complete", "Complete"

    title = models.CharField(max_length=150)
    blueprint_name = models.CharField(max_length=100)
    # The blueprint as it was when the conversation started: later edits do not change
    # what this interview asks.
    blueprint = models.JSONField(encoder=StorableJSONEncoder)
    answers = models.JSONField(encoder=StorableJSONEncoder, default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.GATHERING)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-last_activity_at"], name="conversation_recent")]
        ordering = ["-last_activity_at"]

    def __str__(self) -> str:
        return self.title

    def schema(self) -> Blueprint:
        return Blueprint.model_validate(self.blueprint)

    @property
    def is_complete(self) -> bool:
        return self.status == self.Status.COMPLETE


class Message(TenantOwnedModel):
    """One entry of the chat: a question asked, an answer given, a notice."""

    class Role(models.TextChoices):
        ASSISTANT = "assistant", "Assistant"
        USER = "user", "User"
        NOTICE = "notice", "Notice"

    class State(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=Role.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DONE)
    text = models.TextField(blank=True)
    # The field a question asks about, or an answer fills in.
    field_key = models.CharField(max_length=40, blank=True)
    # For a question: the options shown (an answer must be one of them).
    options = models.JSONField(encoder=StorableJSONEncoder, default=list, blank=True)
    # For an answer: the values it set, by field key.
    values = models.JSONField(encoder=StorableJSONEncoder, default=dict, blank=True)
    # The blueprint's own wording was used: the model failed or answered out of bounds.
    degraded = models.BooleanField(default=False)
    provider = models.CharField(max_length=60, blank=True)
    model = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # The sequence numbers of the frames that started and finished streaming this message:
    # a page loaded in between replays from the start (see conversations.streams).
    seq_start = models.PositiveBigIntegerField(null=True, blank=True)
    seq_end = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "id"], name="message_in_order")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"
