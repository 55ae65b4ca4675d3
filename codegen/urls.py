"""URLs of service generation: the tenant's pages under t/<slug:tenant_slug>/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from codegen import views

app_name = "codegen"

tenant_urlpatterns: list[URLPattern] = [
    path("generations/", views.generation_list, name="generation_list"),
    path("generations/new/<int:conversation_id>/", views.generation_new, name="generation_new"),
    path("generations/<int:generation_id>/", views.generation_detail, name="generation_detail"),
    path("generations/<int:generation_id>/cancel/", views.generation_cancel, name="generation_cancel"),
    path(
        "generations/<int:generation_id>/tests/", views.generation_rerun_tests, name="generation_rerun_tests"
    ),
    path(
        "generations/<int:generation_id>/regenerate/",
        views.generation_regenerate_file,
        name="generation_regenerate_file",
    ),
    path("generations/<int:generation_id>/retry/", views.generation_retry, name="generation_retry"),
    path("generations/<int:generation_id>/download/", views.generation_download, name="generation_download"),
    path("generations/<int:generation_id>/diff/", views.generation_diff, name="generation_diff"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("t/<slug:tenant_slug>/", include(tenant_urlpatterns)),
]
