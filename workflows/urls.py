from __future__ import annotations

from django.urls import URLPattern

# Mounted under t/<slug:tenant_slug>/ by config.urls.
tenant_urlpatterns: list[URLPattern] = [
    # Editor: the list, drafts, nodes, edges, variables, triggers, policy, undo.
    # Versions: publish, versions, diff, restore, export/import, compiled code.
    # AI: generate from requirements, enhance, proposals.
]
