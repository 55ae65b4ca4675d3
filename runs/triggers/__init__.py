"""What starts runs besides the Run button: schedules (Temporal Schedules following each
workflow's published version, `schedules`) and webhooks (a secret URL per workflow,
`webhooks`). `event` triggers are kept in the document but start nothing yet.
"""

from __future__ import annotations


def register() -> None:
    """Called once from RunsConfig.ready(): follow publishing, and offer the webhook page on
    workflows."""
    from django.urls import reverse

    from core import navigation
    from runs.triggers import schedules, webhooks
    from workflows.signals import version_published

    version_published.connect(schedules.on_version_published, dispatch_uid="runs.triggers.schedules")
    navigation.register_next_step(
        "workflow",
        label="Webhook",
        url=lambda workflow: reverse(
            "runs:webhook", kwargs={"tenant_slug": workflow.tenant.slug, "workflow_id": workflow.pk}
        ),
        # The draft's triggers: read without a query, and where a webhook is first added.
        applies=lambda workflow: webhooks.has_webhook_trigger(workflow.document),
        order=30,
    )
