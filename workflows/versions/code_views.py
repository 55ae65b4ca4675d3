"""The Go code a workflow compiles to: shown highlighted, and downloaded as a file."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from workflows import selectors
from workflows.compiler import CompiledWorkflow
from workflows.dsl.findings import DSLValidationError
from workflows.editor.highlighting import MAX_HIGHLIGHTED_LINES, highlighted_go, worth_highlighting
from workflows.models import Workflow, WorkflowVersion
from workflows.versions.choice import BadVersionChoice, ChosenDocument, choose_document
from workflows.versions.draft_state import DraftState, draft_state
from workflows.versions.views import bad_version_choice


def _compiled(
    request: TenantRequest, chosen: ChosenDocument, draft: DraftState | None
) -> CompiledWorkflow | DSLValidationError:
    """The chosen document's code; a draft's header says what the draft is (draft_state)."""
    try:
        return selectors.compiled(
            request.tenant, chosen.document, version_label=draft.header_label if draft else None
        )
    except DSLValidationError as refused:
        return refused


def _draft_of(
    workflow: Workflow, chosen: ChosenDocument, versions: list[WorkflowVersion]
) -> DraftState | None:
    return draft_state(workflow, versions) if chosen.version is None else None


@tenant_view()
@require_GET
def workflow_code(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """The draft's code (or `?version=N`'s), or the findings that keep it from compiling."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    try:
        chosen = choose_document(workflow, request.GET.get("version"), parameter="version")
    except BadVersionChoice as problem:
        return bad_version_choice(request, workflow, problem)
    versions = list(selectors.versions_of(workflow))
    draft = _draft_of(workflow, chosen, versions)
    compiled = _compiled(request, chosen, draft)
    context: dict[str, object] = {
        "workflow": workflow,
        "chosen": chosen,
        "draft": draft,
        "versions": versions,
        "max_highlighted_lines": MAX_HIGHLIGHTED_LINES,
    }
    if isinstance(compiled, DSLValidationError):
        context["findings"] = compiled.findings
    else:
        context["compiled"] = compiled
        if worth_highlighting(compiled.code):
            context["highlighted"] = highlighted_go(compiled.code)
        else:
            context["line_count"] = compiled.code.count("\n")
    return render(request, "workflows/code.html", context)


@tenant_view()
@require_GET
def workflow_code_download(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """The Go file; 400 with the findings when the workflow does not compile."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    try:
        chosen = choose_document(workflow, request.GET.get("version"), parameter="version")
    except BadVersionChoice as problem:
        return bad_version_choice(request, workflow, problem)
    draft = _draft_of(workflow, chosen, list(selectors.versions_of(workflow)))
    compiled = _compiled(request, chosen, draft)
    if isinstance(compiled, DSLValidationError):
        context = {"workflow": workflow, "chosen": chosen, "findings": compiled.findings}
        return render(request, "workflows/code_refused.html", context, status=400)
    response = HttpResponse(compiled.code.encode(), content_type="text/x-go; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{chosen.file_name(workflow, "go")}"'
    return response
