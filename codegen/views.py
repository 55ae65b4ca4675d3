"""Service generation pages: start one from a finished interview, follow it live, act on it
(cancel, run the tests again, regenerate a file, try again), download it, compare two.

Every page is tenant-scoped: a generation of another tenant is a 404, and a viewer may look
at everything but changes nothing (tenant_view refuses their POSTs with 403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from codegen import artifacts, frames, modes, pages, selectors, services
from codegen.frames import PAGE, STREAM
from codegen.models import Generation
from codegen.services import GenerationRefused
from codegen.spec import Options, snake_case
from codegen.targets import target_choices
from conversations import pages as conversation_pages
from conversations.models import Conversation
from core.redis import UNAVAILABLE
from tenants.access import TenantRequest, get_tenant_object_or_404, signed_in_user, tenant_view
from tenants.models import Role
from workflows.models import WorkflowVersion

# Refusals that are about the state of things (409) rather than what was sent (422).
CONFLICTS = frozenset({"quota_exceeded", "not_complete", "not_allowed"})
NO_MODEL = (
    "No AI model that can write code is set up for this organization (the built-in model is too "
    "small): the files are generated from templates, offline. An admin can add a provider under Providers."
)


class GenerateForm(forms.Form):
    target = forms.ChoiceField(label="Language and framework")
    include_tests = forms.BooleanField(required=False, initial=True, label="Tests, run in a sandbox")
    include_docs = forms.BooleanField(required=False, initial=True, label="Docs: README and API reference")
    include_deployment = forms.BooleanField(
        required=False, initial=True, label="Deployment files: Dockerfile and configuration"
    )
    mode = forms.ChoiceField(choices=Generation.Mode.choices, widget=forms.RadioSelect, label="Written by")
    workflow_version = forms.ChoiceField(required=False, label="Workflow to implement")

    def __init__(
        self, *args: Any, versions: list[WorkflowVersion], model_available: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model_available = model_available
        self.versions = {str(version.pk): version for version in versions}
        cast(forms.ChoiceField, self.fields["target"]).choices = target_choices()
        cast(forms.ChoiceField, self.fields["workflow_version"]).choices = [
            ("", "None: from the requirements alone"),
            *(
                (key, f"{version.workflow.name} · version {version.number}")
                for key, version in self.versions.items()
            ),
        ]

    def clean_mode(self) -> str:
        mode = str(self.cleaned_data["mode"])
        if mode == Generation.Mode.MODEL and not self.model_available:
            raise forms.ValidationError(NO_MODEL)
        return mode

    def options(self) -> Options:
        return Options(
            target=self.cleaned_data["target"],
            include_tests=self.cleaned_data["include_tests"],
            include_docs=self.cleaned_data["include_docs"],
            include_deployment=self.cleaned_data["include_deployment"],
        )

    def chosen_version(self) -> WorkflowVersion | None:
        return self.versions.get(self.cleaned_data.get("workflow_version") or "")


def generation_url(generation: Generation, **query: str) -> str:
    url = reverse(
        "codegen:generation_detail",
        kwargs={"tenant_slug": generation.tenant.slug, "generation_id": generation.pk},
    )
    return f"{url}?{urlencode(query)}" if query else url


def _generation_or_404(request: TenantRequest, generation_id: int) -> Generation:
    generation = selectors.generation_of_tenant(request.tenant, generation_id)
    if generation is None:
        raise Http404("No such generation")
    return generation


# --- Starting ------------------------------------------------------------------------------


@tenant_view()
@require_http_methods(["GET", "POST"])
def generation_new(request: TenantRequest, conversation_id: int) -> HttpResponse:
    """GET: the requirements, the options and what is left of the quota; POST: start."""
    conversation = get_tenant_object_or_404(Conversation, request.tenant, pk=conversation_id)
    model_available = modes.capable_model_available(request.tenant)
    form = GenerateForm(
        request.POST if request.method == "POST" else None,
        initial={"mode": modes.default_mode(request.tenant), "target": "python-fastapi"},
        versions=pages.published_versions(request.tenant),
        model_available=model_available,
    )
    quota = selectors.quota_status(request.tenant)
    context: dict[str, Any] = {
        "conversation": conversation,
        "rows": conversation_pages.answer_rows(conversation.schema(), conversation.answers),
        "form": form,
        "model_available": model_available,
        "no_model": NO_MODEL,
        "quota": quota,
        "quota_line": pages.quota_line(quota, request.tenant.get_plan_display()),
        "can_write": request.membership.can(Role.MEMBER),
        "generations": selectors.generations_of_conversation(conversation).select_related("created_by")[:10],
    }
    if request.method == "GET":
        return render(request, "codegen/generate.html", context)
    if not form.is_valid():
        return render(request, "codegen/generate.html", context, status=422)
    try:
        generation = services.generation_create(
            tenant=request.tenant,
            actor=signed_in_user(request),
            options=form.options(),
            mode=form.cleaned_data["mode"],
            conversation=conversation,
            workflow_version=form.chosen_version(),
        )
    except GenerationRefused as refusal:
        status = 409 if refusal.code in CONFLICTS else 422
        context["refusal"] = refusal.message
        context["quota"] = quota = selectors.quota_status(request.tenant)
        context["quota_line"] = pages.quota_line(quota, request.tenant.get_plan_display())
        return render(request, "codegen/generate.html", context, status=status)
    return redirect(generation_url(generation))


# --- The generation page -------------------------------------------------------------------


def _live_since(generation_id: int) -> int | None:
    """The number of the generation's last frame, read before the database so the page's
    socket replays whatever the page may not reflect; None when Redis is out of reach."""
    try:
        return STREAM.current_seq(generation_id)
    except UNAVAILABLE:
        return None


def _others(generation: Generation) -> list[Generation]:
    """The other generations of the same interview, newest first."""
    if generation.conversation_id is None or generation.conversation is None:
        return []
    return list(selectors.generations_of_conversation(generation.conversation).exclude(pk=generation.pk))


def _actions_context(request: TenantRequest, generation: Generation) -> dict[str, Any]:
    can_write = request.membership.can(Role.MEMBER)
    return {
        "generation": generation,
        "tenant_slug": generation.tenant.slug,
        "can_write": can_write,
        "can_retry": can_write and generation.state in (Generation.State.FAILED, Generation.State.CANCELLED),
        "has_files": pages.has_files(generation),
        "can_compare": bool(_others(generation)),
    }


def _file_context(request: TenantRequest, generation: Generation, *, required: bool) -> dict[str, Any]:
    path = request.GET.get("file", "")
    file = selectors.file_of(generation, path) if path else None
    if file is None:
        if required:
            raise Http404("No such file")
        return {"view": None}
    try:
        number: int | None = int(request.GET.get("version", ""))
    except ValueError:
        number = None
    return {
        "view": pages.file_view(file, number),
        "can_regenerate": request.membership.can(Role.MEMBER)
        and not generation.is_active
        and generation.plan is not None,
    }


def _page(request: TenantRequest, generation: Generation, since: int | None, **extra: Any) -> dict[str, Any]:
    return {
        **frames.regions(generation, pages.last_progress(generation)),
        **_actions_context(request, generation),
        **_file_context(request, generation, required=False),
        "target_label": pages.target_label(generation.target),
        "since": since or 0,
        "live": generation.is_active and since is not None,
        "inline_actions": True,
        **extra,
    }


@tenant_view()
@require_GET
def generation_detail(request: TenantRequest, generation_id: int) -> HttpResponse:
    """The generation: progress, files, tests; live over the socket while it runs. For htmx,
    the reader's own buttons or one file's view."""
    target = request.htmx.target if request.htmx else None
    if target == "generation-actions":
        generation = _generation_or_404(request, generation_id)
        return render(request, f"{PAGE}#actions", _actions_context(request, generation))
    if target == "file-view":
        generation = _generation_or_404(request, generation_id)
        context = {"generation": generation, "tenant_slug": generation.tenant.slug}
        return render(
            request, f"{PAGE}#file-view", {**context, **_file_context(request, generation, required=True)}
        )
    since = _live_since(generation_id)
    generation = _generation_or_404(request, generation_id)
    return render(request, PAGE, _page(request, generation, since))


def _act(
    request: TenantRequest,
    generation_id: int,
    action: Callable[..., object],
    *,
    file: str | None = None,
    **arguments: Any,
) -> HttpResponse:
    """Run one of the page's actions on the generation, then show the page again: with the
    refusal's reason (409) when its state does not allow it."""
    generation = _generation_or_404(request, generation_id)
    try:
        action(generation=generation, actor=signed_in_user(request), **arguments)
    except GenerationRefused as refusal:
        since = _live_since(generation_id)
        fresh = _generation_or_404(request, generation_id)
        return render(request, PAGE, _page(request, fresh, since, refusal=refusal.message), status=409)
    return redirect(generation_url(generation, **({"file": file} if file is not None else {})))


@tenant_view()
@require_POST
def generation_cancel(request: TenantRequest, generation_id: int) -> HttpResponse:
    """Stop the generation: at once when queued, within seconds when running."""
    return _act(request, generation_id, services.generation_cancel)


@tenant_view()
@require_POST
def generation_rerun_tests(request: TenantRequest, generation_id: int) -> HttpResponse:
    """Run the generated tests again, on the files as they are."""
    return _act(request, generation_id, services.generation_rerun_tests)


@tenant_view()
@require_POST
def generation_regenerate_file(request: TenantRequest, generation_id: int) -> HttpResponse:
    """Write one file again (a new version), then check it and run the tests."""
    path = request.POST.get("path", "")
    return _act(request, generation_id, services.generation_regenerate_file, file=path, path=path)


@tenant_view()
@require_POST
def generation_retry(request: TenantRequest, generation_id: int) -> HttpResponse:
    """Run a failed or cancelled generation again, keeping the files it had written."""
    return _act(request, generation_id, services.generation_retry)


@tenant_view()
@require_GET
def generation_download(request: TenantRequest, generation_id: int) -> HttpResponse:
    """The latest version of every file, as a zip."""
    generation = _generation_or_404(request, generation_id)
    if not pages.has_files(generation):
        raise Http404("No files yet")
    response = HttpResponse(artifacts.zip_generation(generation), content_type="application/zip")
    name = f"{snake_case(generation.title)}-{generation.pk}.zip"  # ASCII letters, digits, _ and -
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Comparing and listing -----------------------------------------------------------------


@tenant_view()
@require_GET
def generation_diff(request: TenantRequest, generation_id: int) -> HttpResponse:
    """This generation against another of the same interview (`?with=<id>`; the one before
    it by default): files added, removed and changed, with a unified diff each."""
    generation = _generation_or_404(request, generation_id)
    others = _others(generation)
    chosen_id = request.GET.get("with", "")
    other: Generation | None
    if chosen_id:
        other = next((candidate for candidate in others if str(candidate.pk) == chosen_id), None)
        if other is None:
            raise Http404("No such generation of this interview")
    else:
        earlier = [candidate for candidate in others if candidate.created_at <= generation.created_at]
        other = earlier[0] if earlier else (others[0] if others else None)
    before, after = (
        (other, generation)
        if other is None or other.created_at <= generation.created_at
        else (generation, other)
    )
    context = {
        "generation": generation,
        "others": others,
        "other": other,
        "before": before,
        "after": after,
        "diff": pages.diff_generations(before, after) if before is not None else None,
    }
    return render(request, "codegen/diff.html", context)


@tenant_view()
@require_GET
def generation_list(request: TenantRequest) -> HttpResponse:
    """The tenant's generations, newest first, with what is left of the month's quota."""
    page = Paginator(selectors.generations_of_tenant(request.tenant), 30).get_page(request.GET.get("page"))
    quota = selectors.quota_status(request.tenant)
    context = {
        "page": page,
        "generations": page.object_list,
        "quota_line": pages.quota_line(quota, request.tenant.get_plan_display()),
    }
    return render(request, "codegen/list.html", context)
