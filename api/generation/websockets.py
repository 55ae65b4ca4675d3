"""WebSocket routes of the generation API, for config.routing to include (behind the
origin check the API's sockets pass; see core.origins)."""

from __future__ import annotations

from django.urls import path

from api.generation.consumers import GenerationEventsSocket

# The path api.generation.responses.events_url names.
websocket_urlpatterns = [
    path("api/v1/generate/<int:generation_id>/ws", GenerationEventsSocket.as_asgi()),
]
