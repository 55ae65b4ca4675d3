from __future__ import annotations

from typing import Any

import pydantic
from django import forms
from django.contrib import admin
from django.utils import timezone

from conversations.blueprints.schema import Blueprint
from conversations.models import Conversation, Message, TenantBlueprint
from tenants.admin import TenantOwnedAdmin


class TenantBlueprintForm(forms.ModelForm[TenantBlueprint]):
    """Operators edit the fields as JSON; it is held to the rules the portal's editor keeps."""

    class Meta:
        model = TenantBlueprint
        fields = ["tenant", "name", "description", "fields", "copied_from"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            blueprint = Blueprint.model_validate(
                {
                    "name": cleaned.get("name") or "",
                    "description": cleaned.get("description") or "",
                    "fields": cleaned.get("fields"),
                }
            )
        except pydantic.ValidationError as error:
            raise forms.ValidationError(
                [
                    f"{'.'.join(map(str, problem['loc'])) or 'blueprint'}: {problem['msg']}"
                    for problem in error.errors()
                ]
            ) from None
        cleaned["fields"] = blueprint.model_dump(mode="json")["fields"]
        return cleaned


@admin.register(TenantBlueprint)
class TenantBlueprintAdmin(TenantOwnedAdmin):
    form = TenantBlueprintForm
    list_display = ["name", "tenant", "copied_from", "updated_at"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant"]

    def save_model(self, request: Any, obj: TenantBlueprint, form: Any, change: bool) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


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
