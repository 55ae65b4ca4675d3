from __future__ import annotations

from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from core import navigation

        navigation.register_section(label="Services", url_name="conversations:conversation_list", order=20)
