from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, register_converter

from workflows.api import urls as api_urls
from workflows.editor import element_views, entry_views, views
from workflows.editor.element_ids import ElementIdConverter
from workflows.proposals import views as proposal_views
from workflows.versions import code_views, transfer_views
from workflows.versions import views as version_views

register_converter(ElementIdConverter, "element")

app_name = "workflows"

# Under t/<slug:tenant_slug>/: the tenant's own pages.
tenant_urlpatterns: list[URLPattern] = [
    # Editor: the list, drafts, nodes, edges, variables, triggers, policy, undo.
    path("workflows/", views.workflow_list, name="workflow_list"),
    path("workflows/new/", views.workflow_new, name="workflow_new"),
    path("workflows/<int:workflow_id>/", views.workflow_detail, name="workflow_detail"),
    path("workflows/<int:workflow_id>/rename/", views.workflow_rename, name="workflow_rename"),
    path(
        "workflows/<int:workflow_id>/error-policy/", views.workflow_error_policy, name="workflow_error_policy"
    ),
    path("workflows/<int:workflow_id>/undo/", views.workflow_undo, name="workflow_undo"),
    path("workflows/<int:workflow_id>/nodes/new/", element_views.workflow_node_new, name="workflow_node_new"),
    path(
        "workflows/<int:workflow_id>/nodes/<element:node_id>/",
        element_views.workflow_node,
        name="workflow_node",
    ),
    path(
        "workflows/<int:workflow_id>/nodes/<element:node_id>/delete/",
        element_views.workflow_node_delete,
        name="workflow_node_delete",
    ),
    path("workflows/<int:workflow_id>/edges/new/", element_views.workflow_edge_new, name="workflow_edge_new"),
    path(
        "workflows/<int:workflow_id>/edges/<element:edge_id>/",
        element_views.workflow_edge,
        name="workflow_edge",
    ),
    path(
        "workflows/<int:workflow_id>/edges/<element:edge_id>/delete/",
        element_views.workflow_edge_delete,
        name="workflow_edge_delete",
    ),
    path(
        "workflows/<int:workflow_id>/variables/new/",
        entry_views.workflow_variable_new,
        name="workflow_variable_new",
    ),
    path(
        "workflows/<int:workflow_id>/variables/<int:variable_index>/",
        entry_views.workflow_variable,
        name="workflow_variable",
    ),
    path(
        "workflows/<int:workflow_id>/variables/<int:variable_index>/delete/",
        entry_views.workflow_variable_delete,
        name="workflow_variable_delete",
    ),
    path(
        "workflows/<int:workflow_id>/triggers/new/",
        entry_views.workflow_trigger_new,
        name="workflow_trigger_new",
    ),
    path(
        "workflows/<int:workflow_id>/triggers/<int:trigger_index>/",
        entry_views.workflow_trigger,
        name="workflow_trigger",
    ),
    path(
        "workflows/<int:workflow_id>/triggers/<int:trigger_index>/delete/",
        entry_views.workflow_trigger_delete,
        name="workflow_trigger_delete",
    ),
    # Versions: publish, versions, diff, restore, export/import, compiled code.
    path("workflows/import/", transfer_views.workflow_import, name="workflow_import"),
    path("workflows/<int:workflow_id>/publish/", version_views.workflow_publish, name="workflow_publish"),
    path("workflows/<int:workflow_id>/versions/", version_views.workflow_versions, name="workflow_versions"),
    path(
        "workflows/<int:workflow_id>/versions/<int:number>/",
        version_views.workflow_version,
        name="workflow_version",
    ),
    path(
        "workflows/<int:workflow_id>/versions/<int:number>/restore/",
        version_views.workflow_restore,
        name="workflow_restore",
    ),
    path("workflows/<int:workflow_id>/diff/", version_views.workflow_diff, name="workflow_diff"),
    path("workflows/<int:workflow_id>/export.json", transfer_views.workflow_export, name="workflow_export"),
    path("workflows/<int:workflow_id>/code/", code_views.workflow_code, name="workflow_code"),
    path(
        "workflows/<int:workflow_id>/code/download/",
        code_views.workflow_code_download,
        name="workflow_code_download",
    ),
    # AI: generate from requirements, enhance, proposals.
    path(
        "workflows/generate/<int:conversation_id>/",
        proposal_views.workflow_generate,
        name="workflow_generate",
    ),
    path(
        "workflows/generate/<int:conversation_id>/starter/",
        proposal_views.workflow_generate_starter,
        name="workflow_generate_starter",
    ),
    path("workflows/<int:workflow_id>/enhance/", proposal_views.workflow_enhance, name="workflow_enhance"),
    path(
        "workflows/proposals/<int:proposal_id>/",
        proposal_views.workflow_proposal,
        name="workflow_proposal",
    ),
    path(
        "workflows/proposals/<int:proposal_id>/accept/",
        proposal_views.workflow_proposal_accept,
        name="workflow_proposal_accept",
    ),
    path(
        "workflows/proposals/<int:proposal_id>/reject/",
        proposal_views.workflow_proposal_reject,
        name="workflow_proposal_reject",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("t/<slug:tenant_slug>/", include(tenant_urlpatterns)),
    path("api/v1/", include(api_urls)),
]
