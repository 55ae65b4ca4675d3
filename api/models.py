"""Tenant API keys and their audit trail.

A key is `sce_<8 characters>_<secret>`. The first part, the prefix, is stored and shown (it
names the key in lists, logs and the CLI); the whole key is stored only as a hash.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

# Seed 004's inference requests live with their API (api/inference/), imported here so that
# they belong to this app and its migrations.
from api.inference.models import InferenceEvent, InferenceRequest
from tenants.scoping import TenantOwnedModel


class Scope(models.TextChoices):
    """What a key may be used for: one scope per family of endpoints."""

    GATEWAY = "gateway", "Gateway (OpenAI- and Anthropic-compatible model calls)"
    WORKFLOWS = "workflows", "Workflows (generate, validate, compile)"
    GENERATIONS = "generations", "Generations (service code and its tests)"
    RUNS = "runs", "Runs (start and follow workflow runs)"


class ApiKey(TenantOwnedModel):
    """A secret a program sends to act for one tenant, within its scopes."""

    name = models.CharField(max_length=100)
    # Unique across tenants: the prefix is how a presented key finds its row.
    prefix = models.CharField(max_length=20, unique=True)
    # SHA-256 of the whole key, hex. A fast hash is enough here: the secret is 32 random
    # bytes, so nobody can search for it from a stolen hash, unlike a password, which slow
    # hashes (PBKDF2, argon2) exist to protect. It keeps every API call's check cheap.
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.CharField(max_length=64, blank=True)
    # Calls a minute this key may make, besides its tenant's own limits; None: the tenant's only.
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="api_key_tenant_newest")]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    @property
    def status(self) -> str:
        """ "active", "revoked" or "expired", as of now."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def allows(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes


class ApiKeyEvent(TenantOwnedModel):
    """One change to a key, for the audit trail: who made it, when, and from where."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        REVOKED = "revoked", "Revoked"

    class Via(models.TextChoices):
        PORTAL = "portal", "Portal"
        COMMAND_LINE = "cli", "Command line"

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=10, choices=Via.choices)
    # The client address for the portal; the operating-system user for the command line.
    origin = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.key_id} {self.kind}"


__all__ = ["ApiKey", "ApiKeyEvent", "InferenceEvent", "InferenceRequest", "Scope"]
