"""WebSocket routes of workflow runs."""

from __future__ import annotations

from django.urls import path

from runs.consumers import RunConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/runs/<int:run_id>/", RunConsumer.as_asgi()),
]
