"""AI pages of workflows: generate from requirements, enhance a draft, review a proposal.

Generating has no page of its own: the finished interview's "Generate workflow" button posts
here and lands on the proposal, which streams the model's progress, or shows the starter
workflow at once when no model here can write one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from conversations.models import Conversation
from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from tenants.models import Role, Tenant, User
from workflows.models import Workflow, WorkflowProposal
from workflows.proposals import frames as proposal_frames
from workflows.proposals import selectors as proposal_selectors
from workflows.proposals import services as proposal_services
from workflows.proposals.frames import PAGE, Event
from workflows.proposals.services import MAX_INSTRUCTION, ProposalRefused


class EnhanceForm(forms.Form):
    instruction = forms.CharField(
        max_length=MAX_INSTRUCTION,
        strip=True,
        error_messages={
            "required": "Describe the change you want.",
            "max_length": f"Instructions are limited to {MAX_INSTRUCTION} characters.",
        },
    )


def _editor_url(tenant_slug: str, workflow_id: int) -> str:
    return reverse(
        "workflows:workflow_detail", kwargs={"tenant_slug": tenant_slug, "workflow_id": workflow_id}
    )


def _proposal_url(proposal: WorkflowProposal) -> str:
    return reverse(
        "workflows:workflow_proposal",
        kwargs={"tenant_slug": proposal.tenant.slug, "proposal_id": proposal.pk},
    )


def _conversation_url(tenant_slug: str, conversation_id: int) -> str:
    return reverse(
        "conversations:conversation_detail",
        kwargs={"tenant_slug": tenant_slug, "conversation_id": conversation_id},
    )


def _go_to(request: TenantRequest, url: str) -> HttpResponse:
    # The conversation's button posts through htmx (it may have arrived in a frame, without
    # a CSRF field of its own): the browser is sent on with a full page load.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


ProposalFactory = Callable[..., WorkflowProposal]


def _start_generating(request: TenantRequest, conversation_id: int, create: ProposalFactory) -> HttpResponse:
    conversation = get_tenant_object_or_404(Conversation, request.tenant, pk=conversation_id)
    tenant: Tenant = request.tenant
    actor: User = request.membership.user
    try:
        proposal = create(tenant=tenant, actor=actor, conversation=conversation)
    except ProposalRefused as refusal:
        back = _conversation_url(tenant.slug, conversation.pk)
        if request.htmx:
            messages.error(request, refusal.message)
            response = HttpResponseClientRedirect(back)
            response.status_code = 409
            return response
        context = {"conversation": conversation, "conversation_url": back, "error": refusal.message}
        return render(request, "workflows/proposal_refused.html", context, status=409)
    return _go_to(request, _proposal_url(proposal))


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_generate(request: TenantRequest, conversation_id: int) -> HttpResponse:
    """POST: generate a workflow from a complete conversation, then show the proposal.

    GET (links to the confirmation page this used to be) shows the conversation, whose
    "Generate workflow" button starts it: there was nothing to choose on the way.
    """
    if request.method == "GET":
        conversation = get_tenant_object_or_404(Conversation, request.tenant, pk=conversation_id)
        return redirect(_conversation_url(request.tenant.slug, conversation.pk))
    return _start_generating(request, conversation_id, proposal_services.proposal_create_generate)


@tenant_view()
@require_POST
def workflow_generate_starter(request: TenantRequest, conversation_id: int) -> HttpResponse:
    """Build the starter workflow of a complete conversation without a model, and show it."""
    return _start_generating(request, conversation_id, proposal_services.proposal_create_starter)


@tenant_view()
@require_POST
def workflow_enhance(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """Start a proposal that changes the draft as the posted instruction says."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    form = EnhanceForm(request.POST)
    if not form.is_valid():
        context = {
            "workflow": workflow,
            "enhance_form": form,
            "workflow_url": _editor_url(request.tenant.slug, workflow.pk),
        }
        return render(request, "workflows/proposal_enhance.html", context, status=422)
    proposal = proposal_services.proposal_create_enhance(
        tenant=request.tenant,
        actor=request.membership.user,
        workflow=workflow,
        instruction=form.cleaned_data["instruction"],
    )
    return redirect(_proposal_url(proposal))


def _summary(proposal: WorkflowProposal) -> list[Event]:
    """The progress log of a finished proposal, from what the row recorded."""
    events = [Event("Asked.", at=proposal.created_at)]
    if proposal.started_at is not None:
        events.append(Event("Started.", at=proposal.started_at))
    if proposal.finished_at is not None or proposal.state == WorkflowProposal.State.FAILED:
        finished = proposal_frames.finished_event(proposal)
        events.append(Event(finished.text, tone=finished.tone, codes=finished.codes, at=proposal.finished_at))
    if proposal.decided_at is not None:
        decision = "Accepted" if proposal.state == WorkflowProposal.State.ACCEPTED else "Rejected"
        who = proposal.decided_by.get_full_name() if proposal.decided_by else ""
        events.append(Event(f"{decision}{' by ' + who if who else ''}.", at=proposal.decided_at))
    return events


def _page_context(request: TenantRequest, proposal: WorkflowProposal) -> dict[str, Any]:
    return {
        **proposal_frames.result_context(proposal),
        "can_write": request.membership.can(Role.MEMBER),
        "inline_actions": True,
        "summary": [] if proposal.is_active else _summary(proposal),
        "workflow_url": _editor_url(request.tenant.slug, proposal.workflow_id)
        if proposal.workflow_id
        else "",
    }


def _proposal_or_404(request: TenantRequest, proposal_id: int) -> WorkflowProposal:
    proposal = proposal_selectors.proposal_for_page(request.tenant, proposal_id)
    if proposal is None:
        raise Http404("No such proposal")
    return proposal


@tenant_view()
@require_GET
def workflow_proposal(request: TenantRequest, proposal_id: int) -> HttpResponse:
    """The proposal: progress while it runs, then the diff; its buttons for htmx."""
    proposal = _proposal_or_404(request, proposal_id)
    context = _page_context(request, proposal)
    if request.htmx and request.htmx.target == "proposal-actions":
        # A frame announced the result; the buttons are this reader's own (role, CSRF token).
        return render(request, f"{PAGE}#actions", context)
    return render(request, PAGE, context)


def _refused(request: TenantRequest, proposal: WorkflowProposal, message: str) -> HttpResponse:
    fresh = _proposal_or_404(request, proposal.pk)
    return render(request, PAGE, {**_page_context(request, fresh), "refusal": message}, status=409)


@tenant_view()
@require_POST
def workflow_proposal_accept(request: TenantRequest, proposal_id: int) -> HttpResponse:
    """Apply a ready proposal, then open the workflow in the editor."""
    proposal = _proposal_or_404(request, proposal_id)
    try:
        workflow = proposal_services.proposal_accept(proposal=proposal, actor=request.membership.user)
    except ProposalRefused as refusal:
        return _refused(request, proposal, refusal.message)
    return redirect(_editor_url(request.tenant.slug, workflow.pk))


@tenant_view()
@require_POST
def workflow_proposal_reject(request: TenantRequest, proposal_id: int) -> HttpResponse:
    """Set a ready proposal aside and show it again, rejected."""
    proposal = _proposal_or_404(request, proposal_id)
    try:
        proposal_services.proposal_reject(proposal=proposal, actor=request.membership.user)
    except ProposalRefused as refusal:
        return _refused(request, proposal, refusal.message)
    return redirect(_proposal_url(proposal))
