"""Operators' view of workflow runs: which ran, failed or got stuck, and why; an unfinished
run can be cancelled or terminated from here.

Runs, their events and human tasks are records: read, never rewritten.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import ReadOnlyAdmin
from core.temporal_client import TemporalUnavailable
from runs import services
from runs.models import HumanTask, Run, RunEvent
from tenants.admin import TenantOwnedAdmin


class ReadOnlyTenantOwnedAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """Every tenant's records, for reading."""


def _json(value: object) -> SafeString:
    return format_html('<pre class="readonly">{}</pre>', json.dumps(value, indent=1, default=str))


@admin.register(Run)
class RunAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = [
        "pk", "title", "status", "trigger", "tenant", "workflow", "error_code", "created_at", "finished_at",
    ]  # fmt: skip
    list_filter = ["status", "trigger", "error_code", "created_at"]
    search_fields = ["tenant__slug", "title", "temporal_workflow_id", "error_message"]
    list_select_related = ["tenant", "workflow"]
    date_hierarchy = "created_at"
    actions = ["cancel", "terminate"]
    fields = readonly_fields = (
        "tenant", "title", "workflow", "version", "trigger", "status", "error_code", "error_message",
        "failed_node", "rerun_of", "rerun_from", "temporal_workflow_id", "temporal_run_id", "started_by",
        "created_at", "started_at", "finished_at", "quota_month", "inputs_shown", "canned_shown",
        "outputs_shown",
    )  # fmt: skip

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The actions below need it; the form itself has only read-only fields.
        return bool(request.user.is_superuser)

    @admin.display(description="inputs")
    def inputs_shown(self, run: Run) -> SafeString:
        return _json(run.inputs)

    @admin.display(description="test outputs")
    def canned_shown(self, run: Run) -> SafeString:
        return _json(run.canned)

    @admin.display(description="outputs")
    def outputs_shown(self, run: Run) -> SafeString:
        return _json(run.outputs)

    def _each(self, request: HttpRequest, queryset: QuerySet[Run], action: str) -> None:
        done = refused = 0
        for run in queryset.select_related("tenant"):
            if run.is_finished:
                refused += 1
                continue
            try:
                if action == "cancel":
                    services.run_cancel(run=run)
                else:
                    services.run_terminate(run=run, reason="Terminated by an operator.")
                done += 1
            except (services.RunRefused, TemporalUnavailable) as error:
                refused += 1
                self.message_user(request, f"Run {run.pk}: {error}", level=messages.WARNING)
        self.message_user(request, f"{done} run(s) asked to {action}; {refused} left as they are.")

    @admin.action(description="Cancel the selected unfinished runs (they stop cleanly)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._each(request, queryset, "cancel")

    @admin.action(description="Terminate the selected unfinished runs (at once, without cleaning up)")
    def terminate(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._each(request, queryset, "terminate")


@admin.register(RunEvent)
class RunEventAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = ["pk", "run", "source", "seq", "kind", "node_id", "status", "at"]
    list_filter = ["kind", "status"]
    search_fields = ["node_id"]
    list_select_related = ["run"]
    fields = readonly_fields = ("run", "source", "seq", "kind", "node_id", "status", "at", "data_shown")

    @admin.display(description="data")
    def data_shown(self, event: RunEvent) -> SafeString:
        return _json(event.data)


@admin.register(HumanTask)
class HumanTaskAdmin(ReadOnlyTenantOwnedAdmin):
    list_display = ["pk", "title", "status", "tenant", "run", "node_id", "assignee", "created_at", "due_at"]
    list_filter = ["status", "task_type"]
    search_fields = ["tenant__slug", "title", "assignee"]
    list_select_related = ["tenant", "run"]
    fields = readonly_fields = (
        "tenant", "run", "node_id", "temporal_workflow_id", "task_type", "title", "description", "assignee",
        "status", "comment", "decided_by", "created_at", "due_at", "decided_at", "form_schema_shown",
        "answer_shown",
    )  # fmt: skip

    @admin.display(description="form schema")
    def form_schema_shown(self, task: HumanTask) -> SafeString:
        return _json(task.form_schema)

    @admin.display(description="answer")
    def answer_shown(self, task: HumanTask) -> SafeString:
        return _json(task.answer)
