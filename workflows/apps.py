from __future__ import annotations

from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from django.urls import reverse

        from core import navigation

        navigation.register_section(label="Workflows", url_name="workflows:workflow_list", order=30)
        navigation.register_next_step(
            "conversation",
            label="Generate workflow",
            url=lambda conversation: reverse(
                "workflows:workflow_generate",
                kwargs={"tenant_slug": conversation.tenant.slug, "conversation_id": conversation.pk},
            ),
            applies=lambda conversation: conversation.is_complete,
        )
