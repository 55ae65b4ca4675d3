from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings

from workflows.analysis.limits import WorkflowLimits, use_limits


def limits_from_settings() -> WorkflowLimits:
    """The WORKFLOW_MAX_* settings, read on every use (so overriding them in tests counts)."""
    return WorkflowLimits(
        max_nodes=settings.WORKFLOW_MAX_NODES,
        max_edges=settings.WORKFLOW_MAX_EDGES,
        max_branches=settings.WORKFLOW_MAX_BRANCHES,
        max_depth=settings.WORKFLOW_MAX_DEPTH,
    )


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from django.urls import reverse

        from core import navigation
        from workflows import dashboard

        # Every validation and compilation in the process (pages, API, CLI, AI proposals)
        # applies the configured size limits.
        use_limits(limits_from_settings)
        navigation.register_section(label="Workflows", url_name="workflows:workflow_list", order=30)
        navigation.register_recent_work(
            "workflows",
            label="Workflows",
            items=dashboard.recent_workflows,
            url=dashboard.workflows_url,
            empty="No workflows yet. A finished interview can generate one.",
            order=20,
        )
        # A button, not a link: it starts generating and lands on the proposal.
        navigation.register_next_step(
            "conversation",
            label="Generate workflow",
            method="post",
            url=lambda conversation: reverse(
                "workflows:workflow_generate",
                kwargs={"tenant_slug": conversation.tenant.slug, "conversation_id": conversation.pk},
            ),
            applies=lambda conversation: conversation.is_complete,
        )
