from __future__ import annotations

from django.apps import AppConfig


class CodegenConfig(AppConfig):
    name = "codegen"
    verbose_name = "Service generation"

    def ready(self) -> None:
        from django.urls import reverse

        from codegen import dashboard
        from core import navigation

        navigation.register_section(label="Generated services", url_name="codegen:generation_list", order=38)
        navigation.register_recent_work(
            "generations",
            label="Generated services",
            items=dashboard.recent_generations,
            url=dashboard.generations_url,
            empty="Nothing generated yet. A finished interview can become a tested service.",
            order=30,
        )
        navigation.register_next_step(
            "conversation",
            label="Generate service",
            url=lambda conversation: reverse(
                "codegen:generation_new",
                kwargs={"tenant_slug": conversation.tenant.slug, "conversation_id": conversation.pk},
            ),
            applies=lambda conversation: conversation.is_complete,
            order=110,
        )
