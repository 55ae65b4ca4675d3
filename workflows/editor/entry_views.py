"""The editor's side panel for variables and triggers, which have no ids: each is found by
its position in the document. GET shows one (a form for members, read-only for viewers);
POST saves it through `services.workflow_edit`; a form that does not validate is answered
422 and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from workflows import services
from workflows.editor.editing import entry_at, with_entry_removed, with_entry_replaced, with_item_added
from workflows.editor.forms import ModelCheckedForm, TriggerForm, VariableForm
from workflows.editor.pages import (
    Panel,
    Urls,
    can_write,
    changed_response,
    editor_response,
    overview_panel,
    pretty_json,
)
from workflows.models import Workflow


def _workflow(request: TenantRequest, workflow_id: int) -> Workflow:
    return get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)


@dataclass(frozen=True)
class EntryKind:
    section: str
    singular: str
    form_class: type[VariableForm] | type[TriggerForm]
    url_name: str
    keyword: str

    def describe(self, entry: dict[str, Any]) -> str:
        if self.section == "variables":
            return f"variable {entry.get('name')}"
        return f"{entry.get('trigger_type')} trigger"

    def initial(self, entry: dict[str, Any]) -> dict[str, Any]:
        return dict(entry)


VARIABLES = EntryKind("variables", "variable", VariableForm, "workflow_variable", "variable_index")
TRIGGERS = EntryKind("triggers", "trigger", TriggerForm, "workflow_trigger", "trigger_index")


def _entry(workflow: Workflow, kind: EntryKind, index: int) -> dict[str, Any]:
    entry = entry_at(workflow.document, kind.section, index)
    if entry is None:
        raise Http404(f"No such {kind.singular}")
    return entry


def _entry_panel(
    request: TenantRequest,
    workflow: Workflow,
    kind: EntryKind,
    form: ModelCheckedForm | None,
    index: int | None = None,
) -> Panel:
    urls = Urls(workflow)
    context: dict[str, Any] = {
        "kind": kind,
        "form": form if can_write(request) else None,
        "fields": [form[name] for name in form.fields] if form is not None else [],
        "index": index,
        "action": urls(kind.url_name, **{kind.keyword: index})
        if index is not None
        else urls(f"{kind.url_name}_new"),
    }
    if index is not None:
        context["delete_url"] = urls(f"{kind.url_name}_delete", **{kind.keyword: index})
        context["settings"] = pretty_json(_entry(workflow, kind, index))
    return Panel("entry", context)


def _entry_new(request: TenantRequest, workflow_id: int, kind: EntryKind) -> HttpResponse:
    workflow = _workflow(request, workflow_id)
    if not can_write(request):
        return editor_response(request, workflow, overview_panel(request, workflow))
    if request.method == "GET":
        return editor_response(request, workflow, _entry_panel(request, workflow, kind, kind.form_class()))
    form = kind.form_class(request.POST)
    if not form.is_valid():
        return editor_response(request, workflow, _entry_panel(request, workflow, kind, form), status=422)
    entry = form.value()
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_item_added(document, kind.section, entry),
        summary=f"Added {kind.describe(entry)}",
    )
    return changed_response(request, workflow, f"Added {kind.describe(entry)}.")


def _entry_edit(request: TenantRequest, workflow_id: int, kind: EntryKind, index: int) -> HttpResponse:
    workflow = _workflow(request, workflow_id)
    entry = _entry(workflow, kind, index)
    if request.method == "GET":
        form = kind.form_class(initial=kind.initial(entry))
        return editor_response(request, workflow, _entry_panel(request, workflow, kind, form, index))
    # With the stored entry as initial values: the form is the one GET showed for it.
    form = kind.form_class(request.POST, initial=kind.initial(entry))
    if not form.is_valid():
        return editor_response(
            request, workflow, _entry_panel(request, workflow, kind, form, index), status=422
        )
    changed = form.value()
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_entry_replaced(document, kind.section, index, changed),
        summary=f"Edited {kind.describe(changed)}",
    )
    return changed_response(request, workflow, f"Saved {kind.describe(changed)}.")


def _entry_delete(request: TenantRequest, workflow_id: int, kind: EntryKind, index: int) -> HttpResponse:
    workflow = _workflow(request, workflow_id)
    entry = _entry(workflow, kind, index)
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_entry_removed(document, kind.section, index),
        summary=f"Deleted {kind.describe(entry)}",
    )
    return changed_response(request, workflow, f"Deleted {kind.describe(entry)}.")


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_variable_new(request: TenantRequest, workflow_id: int) -> HttpResponse:
    return _entry_new(request, workflow_id, VARIABLES)


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_variable(request: TenantRequest, workflow_id: int, variable_index: int) -> HttpResponse:
    return _entry_edit(request, workflow_id, VARIABLES, variable_index)


@tenant_view()
@require_POST
def workflow_variable_delete(request: TenantRequest, workflow_id: int, variable_index: int) -> HttpResponse:
    return _entry_delete(request, workflow_id, VARIABLES, variable_index)


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_trigger_new(request: TenantRequest, workflow_id: int) -> HttpResponse:
    return _entry_new(request, workflow_id, TRIGGERS)


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_trigger(request: TenantRequest, workflow_id: int, trigger_index: int) -> HttpResponse:
    return _entry_edit(request, workflow_id, TRIGGERS, trigger_index)


@tenant_view()
@require_POST
def workflow_trigger_delete(request: TenantRequest, workflow_id: int, trigger_index: int) -> HttpResponse:
    return _entry_delete(request, workflow_id, TRIGGERS, trigger_index)
