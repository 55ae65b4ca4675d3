from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and accounts"

    def ready(self) -> None:
        from core import navigation

        navigation.register_section(label="Dashboard", url_name="tenants:dashboard", order=10)
        navigation.register_section(label="Members", url_name="tenants:members", order=60)
        navigation.register_section(label="Settings", url_name="tenants:tenant_settings", order=70)
