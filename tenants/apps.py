from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from core import navigation
        from tenants.signals import sockets_close_on_logout

        user_logged_out.connect(sockets_close_on_logout, dispatch_uid="tenants.sockets_close_on_logout")

        navigation.register_section(label="Dashboard", url_name="tenants:dashboard", order=10)
        navigation.register_section(label="Members", url_name="tenants:members", order=60)
        navigation.register_section(label="Settings", url_name="tenants:tenant_settings", order=70)
