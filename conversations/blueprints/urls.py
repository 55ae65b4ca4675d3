from __future__ import annotations

from django.urls import path

from conversations.blueprints import views as blueprint_views
from conversations.blueprints.builtin import BUILTIN

# Under t/<slug:tenant_slug>/, in the conversations' namespace (conversations.urls).
tenant_urlpatterns = [
    path("blueprints/", blueprint_views.blueprint_list, name="blueprint_list"),
    path("blueprints/copy/", blueprint_views.blueprint_copy, name="blueprint_copy"),
    # One route per built-in blueprint, so an unknown key is not a route at all (404 before
    # any view) and reverse("conversations:blueprint_builtin", kwargs={..., "key": key}) picks the right one.
    *[
        path(
            f"blueprints/builtin/{key}/",
            blueprint_views.blueprint_builtin,
            {"key": key},
            name="blueprint_builtin",
        )
        for key in BUILTIN
    ],
    path("blueprints/<int:blueprint_id>/", blueprint_views.blueprint_edit, name="blueprint_edit"),
    path("blueprints/<int:blueprint_id>/delete/", blueprint_views.blueprint_delete, name="blueprint_delete"),
]
