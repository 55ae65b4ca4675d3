from __future__ import annotations

from django.urls import URLPattern, path

from workflows.api import views as api_views

# Under api/v1/, in the workflows' namespace (workflows.urls).
urlpatterns: list[URLPattern] = [
    path("workflows/validate", api_views.workflow_validate, name="api_workflow_validate"),
    path("workflows/compile", api_views.workflow_compile, name="api_workflow_compile"),
    path("workflows/schema", api_views.workflow_schema, name="api_workflow_schema"),
]
