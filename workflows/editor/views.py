"""Workflow editor pages: the list, a new draft, the editor, renaming, the error policy, undo.

Nodes and edges have their views in `workflows.editor.element_views`, variables and triggers in
`workflows.editor.entry_views`. Every change goes through `services.workflow_edit`, so each one can
be undone.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from workflows import selectors, services
from workflows.editor.editing import with_value
from workflows.editor.forms import ErrorPolicyForm, NameForm
from workflows.editor.pages import (
    Panel,
    Urls,
    can_write,
    changed_response,
    editor_response,
    overview_panel,
    status_of,
)
from workflows.models import Workflow

PAGE_SIZE = 30


@tenant_view()
@require_GET
def workflow_list(request: TenantRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    workflows = selectors.workflows_of_tenant(tenant=request.tenant, query=query)
    page = Paginator(workflows, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"workflow": workflow, "status": status_of(workflow)} for workflow in page.object_list]
    context = {"page": page, "rows": rows, "query": query, "can_write": can_write(request)}
    template = "workflows/list.html#workflow-table" if request.htmx else "workflows/list.html"
    return render(request, template, context)


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_new(request: TenantRequest) -> HttpResponse:
    """A blank draft with a name; the editor opens on it. Viewers see why they cannot."""
    form = NameForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "workflows/new.html", {"form": form, "can_write": True}, status=422)
        workflow = services.workflow_create(
            tenant=request.tenant, actor=request.membership.user, name=form.cleaned_data["name"]
        )
        return redirect("workflows:workflow_detail", tenant_slug=request.tenant.slug, workflow_id=workflow.pk)
    return render(request, "workflows/new.html", {"form": form, "can_write": can_write(request)})


@tenant_view()
@require_GET
def workflow_detail(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    return editor_response(request, workflow, overview_panel(request, workflow))


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_rename(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    if request.method == "GET":
        form = NameForm(initial={"name": workflow.name})
        return editor_response(request, workflow, _rename_panel(workflow, form))
    form = NameForm(request.POST)
    if not form.is_valid():
        return editor_response(request, workflow, _rename_panel(workflow, form), status=422)
    name = form.cleaned_data["name"].strip()
    workflow = services.workflow_rename(workflow=workflow, actor=request.membership.user, name=name)
    return changed_response(request, workflow, f"Renamed to “{name}”.")


def _rename_panel(workflow: Workflow, form: NameForm) -> Panel:
    return Panel("rename", {"form": form, "action": Urls(workflow)("workflow_rename")})


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_error_policy(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """What a failing node does: fail, retry, compensate (with which workflow) or ignore."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    choices = selectors.workflow_choices(tenant=request.tenant)
    stored = workflow.document.get("error_policy")
    initial = stored if isinstance(stored, dict) else {}
    if request.method == "GET":
        form = ErrorPolicyForm(workflows=choices, initial=initial)
        return editor_response(request, workflow, _policy_panel(request, workflow, form))
    form = ErrorPolicyForm(request.POST, workflows=choices, initial=initial)
    if not form.is_valid():
        return editor_response(request, workflow, _policy_panel(request, workflow, form), status=422)
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_value(document, "error_policy", form.value()),
        summary="Changed the error policy",
    )
    return changed_response(request, workflow, "Saved the error policy.")


def _policy_panel(request: TenantRequest, workflow: Workflow, form: ErrorPolicyForm) -> Panel:
    stored = workflow.document.get("error_policy")
    return Panel(
        "policy",
        {
            "form": form if can_write(request) else None,
            "policy": stored if isinstance(stored, dict) else {},
            "action": Urls(workflow)("workflow_error_policy"),
        },
    )


@tenant_view()
@require_POST
def workflow_undo(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """Put the draft back as it was before its last change, and say which change that was."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    undone = services.workflow_undo(workflow=workflow)
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    notice = f"Undone: {undone.summary}." if undone is not None else "There is nothing to undo."
    return changed_response(request, workflow, notice)
