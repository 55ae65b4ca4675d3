"""The public API: one Ninja API for every route a program calls, and its OpenAPI 3.1.

Each family of routes is a Router in its own package; they are mounted here, beside the
handlers that answer every failure in the caller's own error shape (api.errors). The
document is served at /api/v1/openapi.json and read at /api/v1/docs.
"""

from __future__ import annotations

from ninja import NinjaAPI

from api import errors
from api.anthropic_compatible.routes import router as anthropic_router
from api.compiler.routes import router as compiler_router
from api.generation.routes import router as generation_router
from api.inference.routes import router as inference_router
from api.openai_compatible.routes import router as openai_router
from api.operations.routes import router as operations_router

DESCRIPTION = """\
Programs use SCE's gateway, workflow compiler and service generation with a tenant API key,
sent as `Authorization: Bearer <key>` or `x-api-key: <key>` (create one on the API keys
page, or with `manage.py apikey create`). The `/v1/` routes speak the OpenAI and Anthropic
protocols, so their official clients work unchanged with SCE's base URL and key.
"""

public_api = NinjaAPI(
    title="SCE API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="public_api",
    openapi_url="/api/v1/openapi.json",
    docs_url="/api/v1/docs",
)
errors.install_handlers(public_api)

public_api.add_router("/v1/", openai_router)
public_api.add_router("/v1/", anthropic_router)
public_api.add_router("/api/v1/", inference_router)
public_api.add_router("/api/v1/", compiler_router)
public_api.add_router("/api/v1/", generation_router)
public_api.add_router("/", operations_router)
