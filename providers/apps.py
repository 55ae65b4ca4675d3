from __future__ import annotations

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Provider gateway"

    def ready(self) -> None:
        from core import navigation

        navigation.register_section(label="Providers", url_name="providers:provider_list", order=40)
        navigation.register_section(label="Usage", url_name="providers:usage", order=50)
