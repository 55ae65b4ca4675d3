from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from core.storable import StorableJSONEncoder
from providers.errors import ErrorCode
from providers.interface import Task
from providers.structured_output import StructuredOutputMode
from tenants.models import Tenant
from tenants.scoping import TenantOwnedModel, TenantScopedManager


class CredentialKind(models.TextChoices):
    ANTHROPIC = "anthropic", "Anthropic"
    OPENAI = "openai", "OpenAI"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio)"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    GROQ = "groq", "Groq"
    GEMINI = "gemini", "Google Gemini"
    VOYAGE = "voyage", "Voyage AI (embeddings only)"


class ProviderCredential(TenantOwnedModel):
    """A tenant's API key for a provider, encrypted at rest (see providers.crypto)."""

    # Bound into the ciphertext as associated data: a ciphertext copied onto another row
    # does not decrypt.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.SlugField(max_length=60, help_text="How routing and logs refer to this key.")
    kind = models.CharField(max_length=20, choices=CredentialKind.choices)
    base_url = models.URLField(
        blank=True,
        help_text="For OpenAI-compatible servers (vLLM, Ollama, Groq, Azure…); blank for the vendor's API.",
    )
    default_model = models.CharField(max_length=100)
    # What a kind needs besides its key and URL: {"api_version": "2024-10-21"} for Azure OpenAI.
    options = models.JSONField(encoder=StorableJSONEncoder, default=dict, blank=True)
    # Names of providers.interface.Capability the model is fit for; null: its kind's defaults.
    capabilities = models.JSONField(encoder=StorableJSONEncoder, null=True, blank=True)
    encrypted_key = models.TextField(editable=False)
    key_hint = models.CharField(max_length=4, editable=False)
    enabled = models.BooleanField(default=True)
    # Set when the provider refused the key (auth/permission); cleared when it is replaced.
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="credential_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def masked_key(self) -> str:
        return f"••••{self.key_hint}" if self.key_hint else "••••"


class TaskRoute(TenantOwnedModel):
    """Which providers answer one task for one tenant: a primary and ordered fallbacks.

    `targets` is a list of {"provider": NAME, "model": MODEL}, where NAME is a platform
    provider (anthropic, openai, embedded) or the name of one of the tenant's credentials.
    """

    task = models.CharField(max_length=20, choices=[(task.value, task.value) for task in Task])
    targets = models.JSONField(encoder=StorableJSONEncoder, default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "task"], name="route_unique_task")]

    def __str__(self) -> str:
        return f"{self.task}: {self.targets}"


class GatewaySettings(TenantOwnedModel):
    """A tenant's gateway limits and privacy choices; unset limits fall back to the plan."""

    store_content = models.BooleanField(
        default=True, help_text="Keep prompts and replies in the logs. Off: only counts and timings."
    )
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    monthly_token_budget = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_cost_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="gateway_settings_one_per_tenant")]
        verbose_name_plural = "gateway settings"

    def __str__(self) -> str:
        return f"gateway settings of {self.tenant_id}"


class ModelPrice(models.Model):
    """List price of a model per million tokens, from `effective_from` until a newer row."""

    kind = models.CharField(max_length=20)
    model = models.CharField(max_length=100)
    input_per_mtok_usd = models.DecimalField(max_digits=10, decimal_places=4)
    output_per_mtok_usd = models.DecimalField(max_digits=10, decimal_places=4)
    effective_from = models.DateField()
    source = models.CharField(max_length=300, help_text="Where the price was read, and when.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "model", "effective_from"], name="price_unique_version")
        ]
        ordering = ["kind", "model", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.kind}/{self.model} from {self.effective_from}"

    @property
    def version(self) -> str:
        return f"{self.kind}/{self.model}@{self.effective_from.isoformat()}"

    def cost_usd(self, input_tokens: int, output_tokens: int) -> Decimal:
        million = Decimal(1_000_000)
        return (
            Decimal(input_tokens) * self.input_per_mtok_usd
            + Decimal(output_tokens) * self.output_per_mtok_usd
        ) / million


class LogState(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    FAILED_PARTIAL = "failed_partial", "Failed after streaming began"
    CANCELLED = "cancelled", "Cancelled"


class ProviderLogManager(TenantScopedManager["ProviderLog"]):
    def for_platform(self) -> models.QuerySet[ProviderLog]:
        """Calls made for the platform itself (operators' CLI), which belong to no tenant."""
        return self.dangerously_unscoped().filter(tenant__isnull=True)


class ProviderLog(models.Model):
    """One attempt of the gateway on one provider: written pending before the upstream call.

    A request that falls back leaves one row per provider tried, sharing `request_id`.
    """

    tenant = models.ForeignKey(
        Tenant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        related_query_name="providers_providerlog",
    )
    request_id = models.CharField(max_length=40, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task = models.CharField(max_length=20)
    provider = models.CharField(max_length=60)
    kind = models.CharField(max_length=20)
    model = models.CharField(max_length=100)
    streamed = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=LogState.choices, default=LogState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    fallback_from = models.CharField(max_length=60, blank=True)
    error_code = models.CharField(max_length=30, blank=True)
    error_message = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    usage_estimated = models.BooleanField(default=False)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal(0))
    price_version = models.CharField(max_length=160, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    first_token_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    gateway_overhead_ms = models.FloatField(null=True, blank=True)
    links = models.JSONField(encoder=StorableJSONEncoder, default=dict, blank=True)
    request_json = models.JSONField(encoder=StorableJSONEncoder, null=True, blank=True)
    response_json = models.JSONField(encoder=StorableJSONEncoder, null=True, blank=True)

    # Scoped like a tenant-owned model, but a row may belong to no tenant (platform calls).
    objects: ClassVar[ProviderLogManager] = ProviderLogManager()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-started_at"], name="log_tenant_recent"),
            models.Index(fields=["state", "started_at"], name="log_state_started"),
            models.Index(fields=["provider", "-started_at"], name="log_provider_recent"),
            # The Logs page's filters, each newest first with the keyset's tie-break (id); the
            # provider one also serves the page's list of provider names (a skip scan).
            models.Index(
                fields=["tenant", "provider", "-started_at", "-id"], name="log_tenant_provider_recent"
            ),
            models.Index(fields=["tenant", "state", "-started_at", "-id"], name="log_tenant_state_recent"),
            models.Index(fields=["tenant", "task", "-started_at", "-id"], name="log_tenant_task_recent"),
            # A service's cost sums its calls by `links["conversation"]` (conversation_cost).
            models.Index(F("tenant"), KeyTransform("conversation", "links"), name="log_tenant_conversation"),
        ]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.provider}/{self.model} {self.state}"

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def error_summary(self) -> str:
        """What the error code means, in words fit for anyone in the tenant.

        `error_message` may quote what the upstream said (see providers/errors.py): only
        admins see it.
        """
        try:
            return ErrorCode(self.error_code).summary
        except ValueError:
            return self.error_code.replace("_", " ")

    @property
    def time_to_first_token_ms(self) -> int | None:
        if self.first_token_at is None:
            return None
        return int((self.first_token_at - self.started_at).total_seconds() * 1000)


class ProviderMetric(models.Model):
    """Per-minute rollup of the logs for one tenant (or the platform), provider and model.

    Rebuilt from ProviderLog by a periodic task, so rerunning it never double-counts.
    """

    minute = models.DateTimeField()
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=60)
    model = models.CharField(max_length=100)
    requests = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal(0))
    latency_ms_sum = models.PositiveBigIntegerField(default=0)
    latency_ms_max = models.PositiveIntegerField(default=0)
    # Request counts per latency bucket (upper bounds in providers.metrics.LATENCY_BUCKETS_MS),
    # so percentiles can be estimated over any window of minutes.
    latency_histogram = models.JSONField(encoder=StorableJSONEncoder, default=list)

    class Meta:
        indexes = [models.Index(fields=["tenant", "minute"], name="metric_tenant_minute")]
        ordering = ["minute"]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.provider}/{self.model}"


class CircuitReset(models.Model):
    """An audit record: who reset which circuit breaker, how, and from what state."""

    breaker_key = models.CharField(max_length=100)
    provider = models.CharField(max_length=60)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    previous_state = models.CharField(max_length=20)
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reset_via = models.CharField(max_length=20)
    reset_by_label = models.CharField(
        max_length=150, blank=True, help_text="The operator, for resets from the CLI."
    )
    reset_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reset_at"]

    def __str__(self) -> str:
        return f"{self.provider} reset at {self.reset_at:%Y-%m-%d %H:%M}"


class ModelTraits(models.Model):
    """What a provider's model was found not to take, learned from the provider's own refusals
    (providers/model_traits.py), so that later calls go straight to what works.

    One row per provider credential (`provider_key`, as ProviderConfig.breaker_key) and
    model, for the server at `base_url`: a row learned from another server does not apply.
    Operators may delete a row to have the gateway try the full request again.
    """

    provider_key = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    base_url = models.CharField(max_length=300, blank=True)
    # The tenant's credential it was learned on (its rows go with it); null for a platform provider.
    credential = models.ForeignKey(
        ProviderCredential, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    structured_output_mode = models.CharField(
        max_length=20,
        choices=[(mode.value, mode.value.replace("_", " ")) for mode in StructuredOutputMode],
        default=StructuredOutputMode.JSON_SCHEMA.value,
        help_text=(
            "How a reply in a JSON schema is asked for: json schema (the server holds the reply to it), "
            "json object (JSON mode, the schema in the prompt) or prompt (the schema in the prompt alone); "
            "the last two are checked by the gateway."
        ),
    )
    stream_usage = models.BooleanField(
        default=True,
        verbose_name="usage in streams",
        help_text="Off once the server refused stream_options: the usage of its streams is estimated.",
    )
    learned_at = models.DateTimeField(default=timezone.now)
    # Cut short by providers.errors.upstream_detail.
    evidence = models.TextField(blank=True, help_text="What the server answered when it refused.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider_key", "model"], name="model_traits_unique_model")
        ]
        ordering = ["provider_key", "model"]
        verbose_name_plural = "model traits"

    def __str__(self) -> str:
        return f"{self.provider_key} {self.model}"
