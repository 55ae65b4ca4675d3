"""URLs of the public API app: the tenant's API keys page under t/<slug:tenant_slug>/, and
the public API's routes (api.public_api, outside this app's namespace: config.urls mounts
them at the root)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from api import views

app_name = "api"

tenant_urlpatterns: list[URLPattern] = [
    path("api-keys/", views.key_list, name="key_list"),
    path("api-keys/<int:api_key_id>/revoke/", views.key_revoke, name="key_revoke"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("t/<slug:tenant_slug>/", include(tenant_urlpatterns)),
]
