"""Webhooks: the workflow's webhook page (create, rotate, disable its secret URL; the URL is
shown once) and the public endpoint `POST /hooks/runs/<token>` that starts runs.

The endpoint has no session and no CSRF token: the secret in the URL is the credential. It
answers JSON (`{error, message, details?}` when refused, like the API): 202 with the run,
400 for a body that is not a JSON object or inputs the workflow refuses, 404 for a token
that is unknown or disabled (the same answer for both), 409 when the workflow cannot run
from a webhook now, 413 for a body over 1 MB, 429 past the rate limit, 503 when Temporal is
down (the run is kept as failed).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from redis import RedisError

from core.rate_limits import rate_limit_hit
from runs.models import Run, WebhookTrigger
from runs.services import RunRefused
from runs.triggers import webhooks
from tenants.access import TenantRequest, get_tenant_object_or_404, signed_in_user, tenant_view
from tenants.api_access import api_error_response
from tenants.models import Role
from workflows import selectors as workflow_selectors
from workflows.models import Workflow

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
CALLS_PER_WINDOW = 60  # per token
WINDOW_SECONDS = 60
MAX_TOKEN_LENGTH = 200
PAGE = "runs/webhook.html"


# --- The public endpoint ---------------------------------------------------------------------


class _BadBody(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _refuse_constant(name: str) -> Any:
    raise _BadBody("not_json", f"{name} is not a JSON number")


def _read_inputs(body: bytes) -> dict[str, Any]:
    """The body as the run's inputs: a JSON object; an empty body gives no inputs."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except _BadBody:
        raise
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, over-long numbers, deep nesting
        raise _BadBody("not_json", "the body is not JSON") from None
    if not isinstance(value, dict):
        raise _BadBody("not_an_object", "the body must be a JSON object, its fields the run's inputs")
    return value


def _within_rate_limit(token: str) -> bool:
    try:
        return rate_limit_hit(
            scope="run-webhook", subject=token, limit=CALLS_PER_WINDOW, window_seconds=WINDOW_SECONDS
        )
    except RedisError as error:
        # Open: a webhook keeps working while Redis is away; the plan's run limits still hold.
        logger.warning("Webhook rate limit not checked, Redis is unavailable: %s", error)
        return True


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def _too_large() -> JsonResponse:
    return api_error_response(
        413, "too_large", f"The body is over {MAX_BODY_BYTES // 1024 // 1024} MB; send smaller inputs."
    )


@csrf_exempt
def webhook_receive(request: HttpRequest, token: str) -> HttpResponse:
    """Start a run of the webhook's workflow with the JSON body as its inputs."""
    if request.method != "POST":
        return api_error_response(
            405, "method_not_allowed", "Send a POST with a JSON object.", headers={"Allow": "POST"}
        )
    if not _within_rate_limit(token):
        return api_error_response(
            429,
            "rate_limited",
            f"At most {CALLS_PER_WINDOW} calls a minute reach this webhook; try again shortly.",
            headers={"Retry-After": str(WINDOW_SECONDS)},
        )
    declared = _declared_length(request)
    if declared is None:
        return api_error_response(400, "bad_request", "The Content-Length header is not a number.")
    if declared > MAX_BODY_BYTES:
        return _too_large()
    webhook = webhooks.webhook_for_token(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if webhook is None:
        return api_error_response(404, "not_found", "No webhook answers at this URL.")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _too_large()
    try:
        inputs = _read_inputs(body)
    except _BadBody as error:
        return api_error_response(400, error.code, f"The body cannot be used: {error}.")
    try:
        run = webhooks.webhook_start_run(webhook=webhook, inputs=inputs)
    except RunRefused as refusal:
        status = 400 if refusal.code == "bad_input" else 409
        details = {"problems": refusal.problems} if refusal.problems else None
        return api_error_response(status, refusal.code, refusal.message, details)
    answer = {"run_id": run.pk, "status": run.status}
    if run.status == Run.Status.FAILED and run.error_code == "temporal_unavailable":
        return JsonResponse({**answer, "error": run.error_code, "message": run.error_message}, status=503)
    return JsonResponse(answer, status=202)


# --- The webhook page ------------------------------------------------------------------------


def _page_context(
    request: TenantRequest, workflow: Workflow, issued: webhooks.IssuedWebhook | None = None
) -> dict[str, Any]:
    webhook = issued.webhook if issued is not None else webhooks.webhook_of_workflow(workflow)
    version = (
        workflow_selectors.version_of(workflow, workflow.published_version)
        if workflow.published_version
        else None
    )
    variables = version.document.get("variables", []) if version is not None else []
    return {
        "workflow": workflow,
        "webhook": webhook,
        "version": version,
        "version_has_webhook": version is not None and webhooks.has_webhook_trigger(version.document),
        "variables": [variable for variable in variables if isinstance(variable, dict)],
        "issued_url": (
            request.build_absolute_uri(reverse("run_webhook", kwargs={"token": issued.token}))
            if issued is not None
            else ""
        ),
        # The URL as far as it may be shown again: up to the token's first characters.
        "shown_url": (
            request.build_absolute_uri(reverse("run_webhook", kwargs={"token": webhook.token_prefix})) + "…"
            if webhook is not None
            else ""
        ),
        "example_body": _example_body(variables),
        "can_write": request.membership.can(Role.MEMBER),
        "calls_per_minute": CALLS_PER_WINDOW,
    }


def _example_body(variables: list[Any]) -> str:
    examples = {"string": "text", "number": 1, "boolean": True, "object": {}, "array": []}
    body = {
        str(variable.get("name")): examples.get(str(variable.get("variable_type")), "text")
        for variable in variables
        if isinstance(variable, dict)
    }
    return json.dumps(body)


def _render(request: TenantRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    if request.htmx and request.htmx.target == "webhook-panel":
        return render(request, f"{PAGE}#webhook-panel", context, status=status)
    return render(request, PAGE, context, status=status)


@tenant_view()
@require_GET
def webhook_page(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """The workflow's webhook: whether it is on, what it starts, and how to call it."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    return _render(request, _page_context(request, workflow))


@tenant_view()
@require_POST
def webhook_issue(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """A new secret URL (the first, or in place of the old one), shown on this answer only."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    issued = webhooks.webhook_issue(workflow=workflow, actor=signed_in_user(request))
    return _render(request, _page_context(request, workflow, issued))


@tenant_view()
@require_POST
def webhook_disable(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """Stop the URL working at once."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    webhook = get_tenant_object_or_404(WebhookTrigger, request.tenant, workflow=workflow)
    webhooks.webhook_disable(webhook=webhook)
    return _render(request, _page_context(request, workflow))
