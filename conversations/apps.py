from __future__ import annotations

from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from conversations import dashboard
        from core import navigation

        navigation.register_section(label="Services", url_name="conversations:conversation_list", order=20)
        navigation.register_dashboard_step(
            "service_interview",
            label="Start a service interview",
            why="Describe a service in a guided chat; its requirements become a workflow and code.",
            url=dashboard.new_service_url,
            done=dashboard.has_services,
            role="member",
            order=10,
        )
        navigation.register_recent_work(
            "services",
            label="Services",
            items=dashboard.recent_services,
            url=dashboard.services_url,
            empty="No service interviews yet.",
            order=10,
        )
