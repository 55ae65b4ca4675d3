"""URLs of workflow runs: the tenant's pages under t/<slug:tenant_slug>/, the human-task
inbox's among them."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from runs import inbox, views, webhook_views

app_name = "runs"

tenant_urlpatterns: list[URLPattern] = [
    path("runs/", views.run_list, name="run_list"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:run_id>/terminate/", views.run_terminate, name="run_terminate"),
    path("runs/<int:run_id>/again/", views.run_rerun, name="run_rerun"),
    path("workflows/<int:workflow_id>/runs/", views.workflow_runs, name="workflow_runs"),
    path("workflows/<int:workflow_id>/versions/<int:number>/run/", views.run_new, name="run_new"),
    path("tasks/", inbox.task_list, name="task_list"),
    path("tasks/<int:task_id>/", inbox.task_detail, name="task_detail"),
    path("workflows/<int:workflow_id>/webhook/", webhook_views.webhook_page, name="webhook"),
    path("workflows/<int:workflow_id>/webhook/issue/", webhook_views.webhook_issue, name="webhook_issue"),
    path(
        "workflows/<int:workflow_id>/webhook/disable/", webhook_views.webhook_disable, name="webhook_disable"
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("t/<slug:tenant_slug>/", include(tenant_urlpatterns)),
]
