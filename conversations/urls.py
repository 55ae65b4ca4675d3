from __future__ import annotations

from django.urls import include, path

from conversations import views
from conversations.blueprints import urls as blueprint_urls

app_name = "conversations"

# Under t/<slug:tenant_slug>/: the tenant's own pages.
tenant_urlpatterns = [
    path("services/", views.conversation_list, name="conversation_list"),
    path("services/new/", views.conversation_new, name="conversation_new"),
    path("services/<int:conversation_id>/", views.conversation_detail, name="conversation_detail"),
    path(
        "services/<int:conversation_id>/answers/<slug:key>/",
        views.answer_edit,
        name="answer_edit",
    ),
    path(
        "services/<int:conversation_id>/requirements.json",
        views.conversation_requirements,
        name="conversation_requirements",
    ),
]

urlpatterns = [
    path(
        "t/<slug:tenant_slug>/",
        include(
            [
                *tenant_urlpatterns,
                *blueprint_urls.tenant_urlpatterns,
            ]
        ),
    )
]
