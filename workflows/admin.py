"""Operators' view of workflows: drafts, published versions, the changes undo keeps, and the
AI proposals (to see which jobs failed or are stuck, and why).

Nothing is edited here: a draft changes through the editor's services (so every change can
be undone and versions stay immutable); operators may delete a workflow, with its versions.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import ReadOnlyAdmin
from tenants.admin import TenantOwnedAdmin
from workflows.dsl.document_types import WorkflowDocument
from workflows.models import Workflow, WorkflowChange, WorkflowProposal, WorkflowVersion


def _pretty(document: WorkflowDocument | None) -> SafeString:
    return format_html('<pre class="readonly">{}</pre>', json.dumps(document, indent=2, ensure_ascii=False))


class PublishedFilter(admin.SimpleListFilter):
    title = "published"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Published"), ("no", "Never published")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(published_version__gt=0)
        if self.value() == "no":
            return queryset.filter(published_version=0)
        return queryset


@admin.register(Workflow)
class WorkflowAdmin(TenantOwnedAdmin):
    list_display = ["name", "tenant", "published_version", "has_changes", "updated_at"]
    list_filter = [PublishedFilter, "has_changes", "updated_at"]
    search_fields = ["name", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    date_hierarchy = "updated_at"
    fields = readonly_fields = (
        "tenant", "name", "uuid", "published_version", "has_changes", "versions",
        "source_conversation", "created_by", "created_at", "updated_at", "draft",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, set[str], Any]:
        deleted, counts, permissions_needed, protected = super().get_deleted_objects(objs, request)
        # Versions and changes go with their workflow, though their own admins delete nothing.
        with_the_workflow = {str(WorkflowVersion._meta.verbose_name), str(WorkflowChange._meta.verbose_name)}
        return deleted, counts, set(permissions_needed) - with_the_workflow, protected

    @admin.display(description="draft document")
    def draft(self, workflow: Workflow) -> SafeString:
        return _pretty(workflow.document)

    @admin.display(description="versions")
    def versions(self, workflow: Workflow) -> SafeString:
        link = reverse("admin:workflows_workflowversion_changelist") + f"?workflow__id__exact={workflow.pk}"
        return format_html('<a href="{}">{} published</a>', link, workflow.published_version)


class ReadOnlyTenantOwnedAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """Every tenant's records, for reading."""


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = ["workflow", "number", "tenant", "note", "created_by", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["workflow__name", "note", "tenant__slug"]
    list_select_related = ["workflow", "tenant", "created_by"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "tenant", "workflow", "number", "note", "created_by", "created_at", "published_document",
    )  # fmt: skip

    @admin.display(description="document")
    def published_document(self, version: WorkflowVersion) -> SafeString:
        return _pretty(version.document)


@admin.register(WorkflowChange)
class WorkflowChangeAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = ["workflow", "summary", "tenant", "created_by", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["workflow__name", "summary", "tenant__slug"]
    list_select_related = ["workflow", "tenant", "created_by"]
    fields = readonly_fields = (
        "tenant",
        "workflow",
        "summary",
        "created_by",
        "created_at",
        "document_before",
    )

    @admin.display(description="draft before the change")
    def document_before(self, change: WorkflowChange) -> SafeString:
        return _pretty(change.before)


@admin.register(WorkflowProposal)
class WorkflowProposalAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = [
        "pk",
        "kind",
        "state",
        "tenant",
        "attempts",
        "resumptions",
        "provider",
        "model",
        "error_code",
        "created_at",
    ]
    list_filter = ["state", "kind", "error_code", "created_at"]
    search_fields = ["tenant__slug", "instruction", "error_message", "workflow__name"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "tenant", "kind", "state", "workflow", "conversation", "instruction", "attempts",
        "provider", "model", "error_code", "error_message", "created_by", "created_at", "queued_at",
        "started_at", "heartbeat_at", "resumptions", "finished_at", "decided_by", "decided_at",
        "findings_shown", "proposed_document",
    )  # fmt: skip

    @admin.display(description="findings")
    def findings_shown(self, proposal: WorkflowProposal) -> SafeString:
        return _pretty(proposal.findings)

    @admin.display(description="proposed document")
    def proposed_document(self, proposal: WorkflowProposal) -> SafeString:
        return _pretty(proposal.document)
