from __future__ import annotations

from django.urls import path

from conversations import views

# Mounted under t/<slug:tenant_slug>/ by config.urls.
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
