"""WebSocket routes of the conversations app (mounted by config.routing)."""

from __future__ import annotations

from django.urls import path

from conversations.consumers import ConversationConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/conversations/<int:conversation_id>/", ConversationConsumer.as_asgi()),
]
