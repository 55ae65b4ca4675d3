"""WebSocket routes of seed 004's inference API (mounted by config.routing; as every socket
under /api/, it takes an API key, any Origin and no cookie: core.origins)."""

from __future__ import annotations

from django.urls import path

from api.inference.socket import InferenceSocket

websocket_urlpatterns = [
    path("api/v1/ws", InferenceSocket.as_asgi()),
]
