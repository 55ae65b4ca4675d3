"""WebSocket routes of the providers app (mounted by config.routing)."""

from __future__ import annotations

from django.urls import path

from providers.consumers import TryConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/providers/try/", TryConsumer.as_asgi()),
]
