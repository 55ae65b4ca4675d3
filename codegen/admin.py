"""Operators' view of service generations: which ran, failed or got stuck, and why; a failed
or stuck one can be retried (resuming from its stored files) or failed from here.

Files, versions, test runs and events are records: read, never rewritten.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from codegen import services
from codegen.models import GeneratedFile, Generation, GenerationEvent, TestRun
from core.admin import ReadOnlyAdmin
from tenants.admin import TenantOwnedAdmin


class ReadOnlyTenantOwnedAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """Every tenant's records, for reading."""


class FileInline(admin.TabularInline):  # type: ignore[type-arg]
    model = GeneratedFile
    fields = readonly_fields = ("path", "status", "layer", "size", "updated_at")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Generation)
class GenerationAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = [
        "pk", "title", "state", "mode", "tenant", "tests_passed", "tests_failed", "resumptions",
        "error_code", "cost_usd", "created_at",
    ]  # fmt: skip
    list_filter = ["state", "mode", "error_code", "created_at"]
    search_fields = ["tenant__slug", "title", "error_message"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    inlines = [FileInline]
    actions = ["retry", "fail"]
    fields = readonly_fields = (
        "tenant", "title", "state", "mode", "target", "action", "action_path", "conversation",
        "workflow_version", "include_tests", "include_docs", "include_deployment", "error_code",
        "error_message", "input_tokens", "output_tokens", "cost_usd", "model_calls", "tests_passed",
        "tests_failed", "tests_skipped", "test_runs", "quota_month", "quota_counted", "cancel_requested",
        "resumptions", "created_by", "created_at", "queued_at", "started_at", "heartbeat_at",
        "finished_at", "transitions_shown", "plan_shown",
    )  # fmt: skip

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The actions below need it; the form itself has only read-only fields.
        return bool(request.user.is_superuser)

    @admin.display(description="transitions")
    def transitions_shown(self, generation: Generation) -> SafeString:
        return format_html('<pre class="readonly">{}</pre>', json.dumps(generation.transitions, indent=1))

    @admin.display(description="plan")
    def plan_shown(self, generation: Generation) -> SafeString:
        return format_html('<pre class="readonly">{}</pre>', json.dumps(generation.plan, indent=1))

    @admin.action(description="Retry the selected failed or cancelled generations")
    def retry(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        done = refused = 0
        for generation in queryset.select_related("tenant"):
            try:
                services.generation_retry(generation=generation, actor=None)
                done += 1
            except services.GenerationRefused:
                refused += 1
        self.message_user(
            request, f"{done} queued again; {refused} not failed or cancelled, left as they are."
        )

    @admin.action(description="Fail the selected queued or running generations")
    def fail(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        failed = 0
        for generation in queryset.select_related("tenant"):
            ended = services.generation_fail(
                generation=generation, code="failed_by_operator", message="failed by an operator"
            )
            failed += ended is not None
        self.message_user(request, f"{failed} generation(s) failed.", level=messages.INFO)


@admin.register(TestRun)
class TestRunAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = ["pk", "generation", "number", "outcome", "exit_code", "timed_out", "started_at"]
    list_filter = ["outcome", "timed_out"]
    list_select_related = ["generation"]
    fields = readonly_fields = (
        "generation", "number", "outcome", "exit_code", "timed_out", "reason", "output", "started_at",
        "finished_at",
    )  # fmt: skip


@admin.register(GenerationEvent)
class GenerationEventAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = ["pk", "generation", "kind", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["generation"]
    fields = readonly_fields = ("generation", "kind", "data", "created_at")
