from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from api.models import ApiKey, ApiKeyEvent
from core.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Operators read keys here (never their secrets); `manage.py apikey revoke` revokes."""

    list_display = (
        "prefix",
        "name",
        "tenant",
        "scopes",
        "requests_per_minute",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "tenant__slug")
    exclude = ("key_hash",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return ApiKey.objects.dangerously_unscoped().select_related("tenant")


@admin.register(ApiKeyEvent)
class ApiKeyEventAdmin(ReadOnlyAdmin):
    """The audit trail of keys: who created or revoked which key, when, how and from where."""

    list_display = ("created_at", "key", "kind", "actor", "via", "origin", "tenant")
    list_filter = ("kind", "via")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKeyEvent]:
        return ApiKeyEvent.objects.dangerously_unscoped().select_related("tenant", "key", "actor")
