from __future__ import annotations

from django.contrib import admin

from conversations.models import Conversation, Message, TenantBlueprint
from tenants.admin import TenantOwnedAdmin


@admin.register(TenantBlueprint)
class TenantBlueprintAdmin(TenantOwnedAdmin):
    list_display = ["name", "tenant", "copied_from", "updated_at"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant"]


@admin.register(Conversation)
class ConversationAdmin(TenantOwnedAdmin):
    list_display = ["title", "tenant", "blueprint_name", "status", "owner", "last_activity_at"]
    list_filter = ["status", "blueprint_name"]
    search_fields = ["title", "tenant__slug", "owner__email"]
    list_select_related = ["tenant", "owner"]
    readonly_fields = ["blueprint", "created_at"]


@admin.register(Message)
class MessageAdmin(TenantOwnedAdmin):
    list_display = ["conversation", "role", "state", "field_key", "degraded", "provider", "created_at"]
    list_filter = ["role", "state", "degraded"]
    search_fields = ["text", "conversation__title"]
    list_select_related = ["conversation"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
