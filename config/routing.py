"""WebSocket routes of every app, in one list for the ASGI router."""

from __future__ import annotations

from api.generation import websockets as generation_websockets
from api.inference import websockets as inference_websockets
from codegen import websockets as codegen_websockets
from conversations import websockets as conversation_websockets
from providers import websockets as provider_websockets
from runs import websockets as run_websockets
from tenants import websockets as tenant_websockets
from workflows import websockets as workflow_websockets

websocket_urlpatterns = [
    *tenant_websockets.websocket_urlpatterns,
    *provider_websockets.websocket_urlpatterns,
    *conversation_websockets.websocket_urlpatterns,
    *workflow_websockets.websocket_urlpatterns,
    *codegen_websockets.websocket_urlpatterns,
    *run_websockets.websocket_urlpatterns,
    # The public API's (under /api/: an API key, any Origin, no cookie; see core.origins).
    *inference_websockets.websocket_urlpatterns,
    *generation_websockets.websocket_urlpatterns,
]
