"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Run with `daphne config.asgi:application`.
"""

from __future__ import annotations

import gc
import importlib
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.template.loader import get_template

from config.routing import websocket_urlpatterns
from core.origins import SiteOriginValidator

# What the first conversation turn would otherwise import and compile on the event loop, in
# front of every socket of the process (1-2 s under load): the provider kinds with their SDKs
# (the OpenAI SDK loads its resources on first use) and the frame templates.
for _module in (
    "providers.kinds.anthropic",
    "providers.kinds.embedded",
    "providers.kinds.openai",
    "openai.resources.chat.completions",
):
    importlib.import_module(_module)
for _template in ("flash", "message_added", "message_replaced", "reload", "state", "tokens"):
    get_template(f"conversations/frames/{_template}.html")

# Everything imported so far lives as long as the process: keep the cyclic garbage
# collector from re-scanning it on every full collection (pauses of 100-350 ms measured
# under load without this).
gc.collect()
gc.freeze()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Only the site's own pages (scheme, host and port: see core.origins) open sockets.
        "websocket": SiteOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
