"""Webhook triggers: a secret URL per workflow that starts a run of its published version with
the request's JSON body as the inputs.

The token is in the URL, so whoever holds the URL may start runs: it is shown once, stored
as its SHA-256 only, and replaced (rotated) or disabled by the workflow's members. A call
starts a run only while the workflow's published version has a `webhook` trigger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from runs.models import Run, WebhookTrigger
from runs.services import RunRefused, run_start
from tenants.models import User
from tenants.tokens import hash_token, new_token
from workflows import selectors as workflow_selectors
from workflows.models import Workflow, WorkflowVersion

TOKEN_PREFIX = "whk_"  # noqa: S105 (marks a webhook token; not a secret)
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6


@dataclass(frozen=True)
class IssuedWebhook:
    """A webhook with its token, which exists only here: shown once, then forgotten."""

    webhook: WebhookTrigger
    token: str


class WebhookRefused(RunRefused):
    """A call that cannot start a run for a reason of state (no published version, no
    webhook trigger in it)."""


# --- Reads -------------------------------------------------------------------------------------


def webhook_of_workflow(workflow: Workflow) -> WebhookTrigger | None:
    """The workflow's webhook, enabled or not; None before one was made."""
    return WebhookTrigger.objects.for_tenant(workflow.tenant).filter(workflow=workflow).first()


def webhook_for_token(token: str) -> WebhookTrigger | None:
    """The enabled webhook whose token this is, with its tenant and workflow; None for an
    unknown or disabled token, or a suspended organization's (callers cannot tell which)."""
    # A lookup keyed by a secret: the token names the tenant, so it is found across tenants.
    webhook = (
        WebhookTrigger.objects.dangerously_unscoped()
        .select_related("tenant", "workflow")
        .filter(token_hash=hash_token(token), enabled=True)
        .first()
    )
    if webhook is None or webhook.tenant.is_suspended:
        return None
    return webhook


def has_webhook_trigger(document: Any) -> bool:
    """Whether a workflow document has a `webhook` trigger."""
    triggers = document.get("triggers") if isinstance(document, dict) else None
    return any(
        isinstance(trigger, dict) and trigger.get("trigger_type") == "webhook"
        for trigger in (triggers if isinstance(triggers, list) else [])
    )


def webhook_version(webhook: WebhookTrigger) -> WorkflowVersion:
    """The version a call starts: the workflow's published one, if it has a webhook trigger;
    WebhookRefused otherwise."""
    workflow = webhook.workflow
    version = (
        workflow_selectors.version_of(workflow, workflow.published_version)
        if workflow.published_version
        else None
    )
    if version is None:
        raise WebhookRefused("not_published", "The workflow has no published version to run.")
    if not has_webhook_trigger(version.document):
        raise WebhookRefused(
            "no_webhook_trigger",
            f"Version {version.number} of the workflow has no webhook trigger: add one and publish.",
        )
    return version


# --- Writes ------------------------------------------------------------------------------------


@transaction.atomic
def webhook_issue(*, workflow: Workflow, actor: User | None) -> IssuedWebhook:
    """A new secret URL for the workflow, enabled: its first, or in place of the old one,
    which stops working at once (rotation)."""
    token = f"{TOKEN_PREFIX}{new_token()}"
    fields = {
        "token_hash": hash_token(token),
        "token_prefix": token[:SHOWN_PREFIX_LENGTH],
        "enabled": True,
        "created_by": actor,
        "created_at": timezone.now(),
        "last_used_at": None,
    }
    webhook = (
        WebhookTrigger.objects.for_tenant(workflow.tenant)
        .select_for_update()
        .filter(workflow=workflow)
        .first()
    )
    if webhook is None:
        webhook = WebhookTrigger.objects.create(tenant=workflow.tenant, workflow=workflow, **fields)
    else:
        for name, value in fields.items():
            setattr(webhook, name, value)
        webhook.save(update_fields=list(fields))
    return IssuedWebhook(webhook, token)


@transaction.atomic
def webhook_disable(*, webhook: WebhookTrigger) -> WebhookTrigger:
    """Stop the URL working; issuing a new one enables the webhook again."""
    WebhookTrigger.objects.for_tenant(webhook.tenant).filter(pk=webhook.pk).update(enabled=False)
    webhook.enabled = False
    return webhook


def webhook_start_run(*, webhook: WebhookTrigger, inputs: dict[str, Any]) -> Run:
    """Start a run of the webhook's workflow with `inputs` (decoded JSON, typed); raises
    WebhookRefused or RunRefused."""
    version = webhook_version(webhook)
    WebhookTrigger.objects.for_tenant(webhook.tenant).filter(pk=webhook.pk).update(
        last_used_at=timezone.now()
    )
    return run_start(
        tenant=webhook.tenant,
        document=version.document,
        inputs=inputs,
        inputs_as_text=False,
        trigger=Run.Trigger.WEBHOOK,
        workflow=webhook.workflow,
        version=version,
    )
