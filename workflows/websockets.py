"""WebSocket routes of the workflows app."""

from __future__ import annotations

from django.urls import path

from workflows.proposals.consumers import ProposalConsumer

websocket_urlpatterns = [
    path(
        "ws/t/<slug:tenant_slug>/workflows/proposals/<int:proposal_id>/",
        ProposalConsumer.as_asgi(),
    ),
]
