"""WebSocket routes of the tenants app (mounted by config.routing)."""

from __future__ import annotations

from django.urls import path

from tenants.consumers import TenantEventsConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/events/", TenantEventsConsumer.as_asgi()),
]
