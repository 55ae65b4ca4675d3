from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Public API"

    def ready(self) -> None:
        from core import navigation

        # After the gateway's pages (Providers, Usage), before Members and Settings: what an
        # admin sets up so programs can call the tenant's models and workflows.
        navigation.register_section(label="API keys", url_name="api:key_list", order=55)
