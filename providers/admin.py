from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from providers import services
from providers.kinds import credential_breaker_key
from providers.model_traits import model_traits_forget
from providers.models import (
    CircuitReset,
    GatewaySettings,
    ModelPrice,
    ModelTraits,
    ProviderCredential,
    ProviderLog,
    ProviderMetric,
    TaskRoute,
)
from tenants.admin import TenantOwnedAdmin
from tenants.models import User


@admin.register(ProviderLog)
class ProviderLogAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at", "tenant", "provider", "model", "task", "state", "attempts",
        "input_tokens", "output_tokens", "cost_usd", "duration_ms", "error_code",
    ]  # fmt: skip
    list_filter = ["state", "task", "kind", "provider", "usage_estimated", "streamed"]
    search_fields = ["request_id", "tenant__slug", "model", "error_message"]
    list_select_related = ["tenant"]
    date_hierarchy = "started_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProviderLog]:
        return ProviderLog.objects.dangerously_unscoped()


@admin.register(ProviderMetric)
class ProviderMetricAdmin(ReadOnlyAdmin):
    list_display = [
        "minute",
        "tenant",
        "provider",
        "model",
        "requests",
        "failures",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms_max",
    ]
    list_filter = ["provider"]
    search_fields = ["tenant__slug", "model"]
    list_select_related = ["tenant"]
    date_hierarchy = "minute"


@admin.register(CircuitReset)
class CircuitResetAdmin(ReadOnlyAdmin):
    list_display = ["reset_at", "provider", "tenant", "previous_state", "reset_via", "reset_by_label"]
    list_filter = ["reset_via", "previous_state"]
    search_fields = ["provider", "reset_by_label", "tenant__slug"]


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["kind", "model", "input_per_mtok_usd", "output_per_mtok_usd", "effective_from", "source"]
    list_filter = ["kind", "effective_from"]
    search_fields = ["model"]

    def get_readonly_fields(self, request: HttpRequest, obj: ModelPrice | None = None) -> list[str]:
        # A price that logs were costed with stays as it was: a change is a new row.
        return ["kind", "model", "input_per_mtok_usd", "output_per_mtok_usd", "effective_from"] if obj else []


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(TenantOwnedAdmin):
    list_display = [
        "name",
        "tenant",
        "kind",
        "default_model",
        "masked_key",
        "enabled",
        "rejected_at",
        "created_at",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "tenant__slug", "default_model"]
    list_select_related = ["tenant"]
    fields = [
        "tenant",
        "name",
        "kind",
        "base_url",
        "default_model",
        "masked_key",
        "enabled",
        "rejected_at",
        "rejected_reason",
    ]
    readonly_fields = ["tenant", "kind", "masked_key", "rejected_at", "rejected_reason"]
    actions = ["reset_breaker"]
    # A base URL typed without a scheme is taken as https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are entered by tenants on their Providers page, where they are encrypted.
        return False

    @admin.display(description="key")
    def masked_key(self, credential: ProviderCredential) -> str:
        return credential.masked_key

    @admin.action(description="Reset the circuit breaker of the selected credentials")
    def reset_breaker(self, request: HttpRequest, queryset: QuerySet[ProviderCredential]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        for credential in queryset.select_related("tenant"):
            reset = services.circuit_reset(
                breaker_key=credential_breaker_key(credential.pk),
                provider=credential.name,
                tenant=credential.tenant,
                actor=actor,
                via="admin",
            )
            self.message_user(
                request, f"{credential.name}: circuit reset (was {reset.previous_state}).", messages.SUCCESS
            )


@admin.register(TaskRoute)
class TaskRouteAdmin(TenantOwnedAdmin):
    list_display = ["tenant", "task", "targets", "updated_at"]
    list_filter = ["task"]
    search_fields = ["tenant__slug"]


@admin.register(GatewaySettings)
class GatewaySettingsAdmin(TenantOwnedAdmin):
    list_display = [
        "tenant",
        "store_content",
        "requests_per_minute",
        "monthly_token_budget",
        "monthly_cost_budget_usd",
    ]
    search_fields = ["tenant__slug"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["tenant"] if obj else []


MODEL_TRAITS_FIELDS = (
    "provider_key",
    "model",
    "base_url",
    "credential",
    "structured_output_mode",
    "stream_usage",
    "learned_at",
    "evidence",
)


@admin.register(ModelTraits)
class ModelTraitsAdmin(ReadOnlyAdmin):
    """What the gateway learned models do not take (from the servers' refusals). Rows are
    read, or forgotten so that the next call tries the full request again (after a server
    upgrade, say); nobody edits them."""

    list_display = [
        "provider_key",
        "model",
        "structured_output_mode",
        "stream_usage",
        "learned_at",
        "tenant",
    ]
    list_filter = ["structured_output_mode", "stream_usage"]
    search_fields = ["provider_key", "model", "base_url", "evidence"]
    list_select_related = ["credential__tenant"]
    fields = MODEL_TRAITS_FIELDS
    # All shown read-only: no form is built, so the tenant-owned credential is never listed.
    readonly_fields = MODEL_TRAITS_FIELDS
    actions = ["forget"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Forgetting is deleting: whoever may delete rows of this model may forget.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # `forget` says what deleting means here
        return actions

    @admin.display(description="tenant")
    def tenant(self, traits: ModelTraits) -> str:
        return str(traits.credential.tenant) if traits.credential else "platform"

    def delete_model(self, request: HttpRequest, obj: ModelTraits) -> None:
        model_traits_forget(rows=ModelTraits.objects.filter(pk=obj.pk), actor_label=_operator(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelTraits]) -> None:
        model_traits_forget(rows=queryset, actor_label=_operator(request))

    @admin.action(
        description="Forget the selected traits (the next call tries the full request)",
        permissions=["delete"],
    )
    def forget(self, request: HttpRequest, queryset: QuerySet[ModelTraits]) -> None:
        forgotten = model_traits_forget(rows=queryset, actor_label=_operator(request))
        self.message_user(request, f"Forgot {forgotten} learned trait record(s).", messages.SUCCESS)


def _operator(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "an operator"
