"""Workflow versions: publishing the draft, the versions list, one version, restoring, diffs."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.access import TenantRequest, get_tenant_object_or_404, signed_in_user, tenant_view
from tenants.models import Role
from workflows import selectors, services
from workflows.dsl.documents import parse_workflow
from workflows.dsl.files import canonical_form
from workflows.models import Workflow, WorkflowVersion
from workflows.versions.choice import DRAFT, BadVersionChoice, ChosenDocument, choose_document
from workflows.versions.diff import diff_documents
from workflows.versions.draft_state import draft_state


def bad_version_choice(request: TenantRequest, workflow: Workflow, problem: BadVersionChoice) -> HttpResponse:
    """The 400 page for a query parameter that names no document of the workflow."""
    context = {"workflow": workflow, "message": str(problem)}
    return render(request, "workflows/versions_bad_choice.html", context, status=400)


def _version_or_404(workflow: Workflow, number: int) -> WorkflowVersion:
    version = selectors.version_of(workflow, number)
    if version is None:
        raise Http404("No such version")
    return version


@tenant_view()
@require_POST
def workflow_publish(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """Freeze the draft as the next version, unless it has errors or nothing changed."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    if not workflow.has_changes:
        context = {"workflow": workflow, "reason": "unchanged", "findings": []}
        return render(request, "workflows/versions_publish_refused.html", context, status=409)
    note = request.POST.get("note", "").strip()[:200]
    try:
        version = services.workflow_publish(workflow=workflow, actor=signed_in_user(request), note=note)
    except services.PublishRefused as refused:
        context = {"workflow": workflow, "reason": "errors", "findings": refused.findings}
        return render(request, "workflows/versions_publish_refused.html", context, status=422)
    messages.success(request, f"Published version {version.number}.")
    return redirect("workflows:workflow_versions", tenant_slug=request.tenant.slug, workflow_id=workflow.pk)


@tenant_view()
@require_GET
def workflow_versions(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    versions = list(selectors.versions_of(workflow))
    pick_from, pick_to = _latest_change(workflow, versions)
    context = {
        "workflow": workflow,
        "draft": draft_state(workflow, versions),
        "versions": versions,
        "can_write": request.membership.can(Role.MEMBER),
        "pick_from": pick_from,
        "pick_to": pick_to,
    }
    return render(request, "workflows/versions.html", context)


def _latest_change(workflow: Workflow, versions: list[WorkflowVersion]) -> tuple[str, str]:
    """Where the diff picker starts: the latest version against the draft when the draft has
    moved on, else the version before it against the latest."""
    if len(versions) > 1 and not workflow.has_changes:
        return str(versions[1].number), str(versions[0].number)
    return (str(versions[0].number) if versions else DRAFT), DRAFT


@tenant_view()
@require_GET
def workflow_version(request: TenantRequest, workflow_id: int, number: int) -> HttpResponse:
    """One published version, read-only: what it contains, and where to see its code."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    version = _version_or_404(workflow, number)
    context = {
        "workflow": workflow,
        "version": version,
        "draft": draft_state(workflow, selectors.versions_of(workflow)),
        "summary": parse_workflow(version.document).workflow,
        "can_write": request.membership.can(Role.MEMBER),
    }
    return render(request, "workflows/version.html", context)


@tenant_view()
@require_POST
def workflow_restore(request: TenantRequest, workflow_id: int, number: int) -> HttpResponse:
    """Make a version the draft again; an ordinary edit, so the editor's undo takes it back."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    version = _version_or_404(workflow, number)
    services.workflow_restore(workflow=workflow, version=version, actor=signed_in_user(request))
    messages.success(
        request, f"Version {version.number} is the draft again. Undo in the editor takes it back."
    )
    return redirect("workflows:workflow_detail", tenant_slug=request.tenant.slug, workflow_id=workflow.pk)


@tenant_view()
@require_GET
def workflow_diff(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """What changed between two documents: `?from=N&to=M`, either side may be `draft`.

    Without `from`, the latest version is compared; without `to`, the draft.
    """
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    versions = list(selectors.versions_of(workflow))
    context: dict[str, object] = {"workflow": workflow, "versions": versions}
    requested_from = request.GET.get("from", "")
    if not requested_from and not versions:
        # Nothing to compare the draft with yet: the page says so and offers nothing.
        return render(request, "workflows/diff.html", context)
    try:
        before = (
            choose_document(workflow, requested_from, parameter="from")
            if requested_from
            else ChosenDocument(versions[0].document, versions[0])
        )
        after = choose_document(workflow, request.GET.get("to", DRAFT), parameter="to")
    except BadVersionChoice as problem:
        return bad_version_choice(request, workflow, problem)
    context.update(
        before=before,
        after=after,
        pick_from=before.ref,
        pick_to=after.ref,
        diff=diff_documents(canonical_form(before.document), canonical_form(after.document)),
    )
    return render(request, "workflows/diff.html", context)
