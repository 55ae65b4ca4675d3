"""WebSocket routes of every app, in one list for the ASGI router."""

from __future__ import annotations

from tenants.routing import websocket_urlpatterns as tenant_websockets

websocket_urlpatterns = [*tenant_websockets]
