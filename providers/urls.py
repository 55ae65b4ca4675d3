from __future__ import annotations

from django.urls import include, path

from providers import views

app_name = "providers"

# Under t/<slug:tenant_slug>/: the tenant's own pages.
tenant_urlpatterns = [
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/credentials/new/", views.credential_create, name="credential_create"),
    path("providers/credentials/<int:credential_id>/", views.credential_detail, name="credential_detail"),
    path(
        "providers/credentials/<int:credential_id>/delete/", views.credential_delete, name="credential_delete"
    ),
    path(
        "providers/credentials/<int:credential_id>/reset-breaker/",
        views.credential_breaker_reset,
        name="credential_breaker_reset",
    ),
    path("providers/routes/", views.routes_update, name="routes_update"),
    path("providers/settings/", views.gateway_settings_update, name="gateway_settings_update"),
    path("providers/logs/", views.provider_logs, name="provider_logs"),
    path("providers/logs/<int:log_id>/", views.provider_log_detail, name="provider_log_detail"),
    path("usage/", views.usage, name="usage"),
]

urlpatterns = [path("t/<slug:tenant_slug>/", include([*tenant_urlpatterns]))]
