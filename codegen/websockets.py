"""WebSocket routes of service generation."""

from __future__ import annotations

from django.urls import path

from codegen.consumers import GenerationConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/generations/<int:generation_id>/", GenerationConsumer.as_asgi()),
]
