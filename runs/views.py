"""Workflow run pages: start a run of a published version, follow it live, act on it (cancel,
terminate, run again from a node), and list runs per tenant and per workflow.

Every page is tenant-scoped: a run of another tenant is a 404, and a viewer may look at
everything but changes nothing (tenant_view refuses their POSTs with 403).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.redis import UNAVAILABLE
from core.temporal_client import TemporalUnavailable
from runs import frames, graph, pages, run_form, selectors, services
from runs.frames import PAGE, STREAM
from runs.models import Run
from runs.services import RunRefused
from tenants.access import TenantRequest, get_tenant_object_or_404, signed_in_user, tenant_view
from tenants.models import Role
from workflows import selectors as workflow_selectors
from workflows.models import Workflow, WorkflowVersion

PAGE_SIZE = 30
# Refusals about the state of things (409) rather than what was sent (422).
CONFLICTS = frozenset({"limit_reached", "still_running", "finished", "temporal_error"})
TERMINATE_CONFIRMATION = "terminate"


def run_url(run: Run) -> str:
    return reverse("runs:run_detail", kwargs={"tenant_slug": run.tenant.slug, "run_id": run.pk})


def _run_or_404(request: TenantRequest, run_id: int) -> Run:
    run = selectors.run_of_tenant(request.tenant, run_id)
    if run is None:
        raise Http404("No such run")
    return run


def _can_write(request: TenantRequest) -> bool:
    return request.membership.can(Role.MEMBER)


# --- Lists -----------------------------------------------------------------------------------


class RunFilters(forms.Form):
    status = forms.ChoiceField(required=False, label="Status")
    trigger = forms.ChoiceField(required=False, label="Started by")
    workflow = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Workflow")

    def __init__(self, *args: Any, workflows: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [("", "any status"), *Run.Status.choices]
        cast(forms.ChoiceField, self.fields["trigger"]).choices = [("", "any trigger"), *Run.Trigger.choices]
        cast(forms.ChoiceField, self.fields["workflow"]).choices = [
            ("", "any workflow"),
            *((str(pk), name) for pk, name in workflows),
        ]


def _list_page(
    request: TenantRequest, *, workflow: Workflow | None, template: str, extra: dict[str, Any]
) -> HttpResponse:
    choices = selectors.workflows_with_runs(request.tenant) if workflow is None else []
    filters = RunFilters(request.GET, workflows=choices)
    if workflow is not None:
        del filters.fields["workflow"]
    valid = filters.is_valid()
    chosen = filters.cleaned_data if valid else {}
    runs = selectors.runs_of_tenant(
        tenant=request.tenant,
        status=chosen.get("status") or "",
        trigger=chosen.get("trigger") or "",
        workflow_id=workflow.pk if workflow is not None else chosen.get("workflow"),
    )
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {key: value for key, value in chosen.items() if value not in (None, "")}
    context = {
        "filters": filters,
        "page": page,
        "runs": page.object_list,
        "query": urlencode(query),
        "workflow": workflow,
        "show_workflow": workflow is None,
        "open_tasks": selectors.open_tasks_count(request.tenant),
        **extra,
    }
    status = 200 if valid else 400
    if request.htmx and request.htmx.target == "run-table":
        return render(request, f"{template}#run-table", context, status=status)
    return render(request, template, context, status=status)


@tenant_view()
@require_GET
def run_list(request: TenantRequest) -> HttpResponse:
    """The tenant's runs, newest first, filtered by status, workflow and trigger."""
    return _list_page(request, workflow=None, template="runs/list.html", extra={})


@tenant_view()
@require_GET
def workflow_runs(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """One workflow's runs, of any of its versions."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    latest = workflow_selectors.latest_version(workflow)
    return _list_page(request, workflow=workflow, template="runs/list.html", extra={"latest": latest})


# --- Starting a run --------------------------------------------------------------------------


def _version_or_404(request: TenantRequest, workflow_id: int, number: int) -> WorkflowVersion:
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    version = workflow_selectors.version_of(workflow, number)
    if version is None:
        raise Http404("No such version")
    return version


def _form_page(
    request: TenantRequest,
    version: WorkflowVersion,
    form: run_form.RunForm,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = {
        "version": version,
        "workflow": version.workflow,
        "form": form,
        "can_write": _can_write(request),
        "runs": selectors.runs_of_workflow(version.workflow)[:5],
        **extra,
    }
    return render(request, "runs/new.html", context, status=status)


@tenant_view()
@require_http_methods(["GET", "POST"])
def run_new(request: TenantRequest, workflow_id: int, number: int) -> HttpResponse:
    """GET: the form for a run of this version; POST: start it and go to its page."""
    version = _version_or_404(request, workflow_id, number)
    if request.method == "GET":
        return _form_page(request, version, run_form.run_form(version.document))
    form = run_form.read_form(version.document, request.POST)
    if form.has_problems:
        return _form_page(request, version, form, status=422)
    try:
        run = services.run_start(
            tenant=request.tenant,
            document=version.document,
            inputs=form.values(),
            inputs_as_text=True,
            canned=form.canned(),
            trigger=Run.Trigger.MANUAL,
            workflow=version.workflow,
            version=version,
            started_by=signed_in_user(request),
        )
    except RunRefused as refusal:
        form.place_problems(refusal.problems, refusal.message)
        status = 409 if refusal.code in CONFLICTS else 422
        return _form_page(request, version, form, status=status, refusal=refusal.message)
    return redirect(run_url(run))


# --- The run page ----------------------------------------------------------------------------


def _live_since(run_id: int) -> int | None:
    """The number of the run's last frame, read before the database so the page's socket
    replays whatever the page may not reflect; None when Redis is out of reach."""
    try:
        return STREAM.current_seq(run_id)
    except UNAVAILABLE:
        return None


def _actions_context(request: TenantRequest, run: Run) -> dict[str, Any]:
    can_write = _can_write(request)
    return {
        "run": run,
        "tenant_slug": run.tenant.slug,
        "can_write": can_write,
        "restart_nodes": pages.restart_nodes(run) if can_write and run.is_finished else [],
    }


def _page(request: TenantRequest, run: Run, since: int | None, **extra: Any) -> dict[str, Any]:
    events = list(selectors.events_of(run))
    return {
        **_actions_context(request, run),
        "graph": graph.run_graph(run, graph.recorded_states(events)),
        "rows": pages.event_rows(run, events),
        "summary": pages.summary(run, selectors.open_task_of(run)),
        "given": pages.given(run),
        "since": since or 0,
        "live": not run.is_finished and since is not None,
        **extra,
    }


@tenant_view()
@require_GET
def run_detail(request: TenantRequest, run_id: int) -> HttpResponse:
    """The run: its graph with each node's state, its status and event log; live over the
    socket until it ends. For htmx, the reader's own buttons."""
    if request.htmx and request.htmx.target == "run-actions":
        return render(request, f"{PAGE}#actions", _actions_context(request, _run_or_404(request, run_id)))
    since = _live_since(run_id)
    run = _run_or_404(request, run_id)
    return render(request, PAGE, _page(request, run, since))


def _refused(request: TenantRequest, run_id: int, message: str, status: int) -> HttpResponse:
    since = _live_since(run_id)
    run = _run_or_404(request, run_id)
    return render(request, PAGE, _page(request, run, since, refusal=message), status=status)


@tenant_view()
@require_POST
def run_cancel(request: TenantRequest, run_id: int) -> HttpResponse:
    """Ask the run to stop; it ends as cancelled once its interpreter has recorded that."""
    run = _run_or_404(request, run_id)
    try:
        services.run_cancel(run=run)
    except RunRefused as refusal:
        return _refused(request, run_id, refusal.message, 409)
    except TemporalUnavailable as error:
        return _refused(request, run_id, f"The run could not be asked to stop: {error}", 503)
    if not run.is_finished:
        messages.info(request, "Cancelling: the node running is being stopped.")
    return redirect(run_url(run))


@tenant_view()
@require_POST
def run_terminate(request: TenantRequest, run_id: int) -> HttpResponse:
    """Stop the run at once, without letting it clean up (the form asks to confirm it)."""
    run = _run_or_404(request, run_id)
    if request.POST.get("confirm") != TERMINATE_CONFIRMATION:
        return _refused(request, run_id, "Confirm that the run is to be terminated.", 400)
    reason = request.POST.get("reason", "").strip()[:500]
    last_seen = selectors.last_event_id(run)
    try:
        services.run_terminate(run=run, reason=reason or f"Terminated by {signed_in_user(request).email}.")
    except RunRefused as refusal:
        return _refused(request, run_id, refusal.message, 409)
    except TemporalUnavailable as error:
        return _refused(request, run_id, f"The run could not be terminated: {error}", 503)
    # The interpreter records nothing of a termination: other open pages learn of it here.
    frames.publish(run.tenant_id, run.pk, list(selectors.events_after(run, last_seen)))
    return redirect(run_url(run))


@tenant_view()
@require_POST
def run_rerun(request: TenantRequest, run_id: int) -> HttpResponse:
    """A new run of the same document from a node, with the variables this one ended with."""
    run = _run_or_404(request, run_id)
    node_id = request.POST.get("node_id", "")
    if node_id not in {node for node, _label in pages.restart_nodes(run)}:
        return _refused(request, run_id, "Choose a node outside parallel branches to run again from.", 422)
    try:
        again = services.run_again_from(run=run, node_id=node_id, started_by=signed_in_user(request))
    except RunRefused as refusal:
        status = 409 if refusal.code in CONFLICTS else 422
        return _refused(request, run_id, refusal.message, status)
    return redirect(run_url(again))
