from __future__ import annotations

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Provider gateway"

    def ready(self) -> None:
        from core import navigation
        from providers import dashboard

        navigation.register_section(label="Providers", url_name="providers:provider_list", order=40)
        navigation.register_section(label="Usage", url_name="providers:usage", order=50)
        navigation.register_dashboard_step(
            "provider_key",
            label="Add a provider key",
            why="Use your own Anthropic or OpenAI account; until then the platform's models answer.",
            url=dashboard.add_key_url,
            done=dashboard.has_own_key,
            role="admin",
            order=20,
        )
        navigation.register_dashboard_figure("month_spend", figure=dashboard.month_spend_figure, order=30)
