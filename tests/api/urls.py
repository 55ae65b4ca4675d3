"""Routes behind `key_auth`, for the tests of API keys and error shapes (the real API's
routes are tested with the features they serve). One route per error family: /api/v1/ is
SCE's own shape, /v1/ OpenAI's, /v1/messages Anthropic's."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI, Router

from api import errors
from api.authentication import caller_key, key_auth
from api.models import Scope

gateway = Router(auth=key_auth(Scope.GATEWAY))
runs = Router(auth=key_auth(Scope.RUNS))


@gateway.api_operation(["GET", "POST"], "/api/v1/whoami")
@gateway.get("/v1/whoami")
@gateway.get("/v1/messages/whoami")
def whoami(request: HttpRequest) -> dict[str, str]:
    key = caller_key(request)
    return {"tenant": key.tenant.slug, "key": key.prefix}


@gateway.get("/api/v1/whoami-async")
async def whoami_async(request: HttpRequest) -> dict[str, str]:
    key = caller_key(request)
    return {"tenant": key.tenant.slug, "key": key.prefix}  # the tenant came with the key


@runs.get("/api/v1/runs-only")
def runs_only(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


@gateway.get("/api/v1/broken")
def broken(request: HttpRequest) -> dict[str, bool]:
    raise RuntimeError("the view failed")


test_api = NinjaAPI(urls_namespace="key_auth_tests")
errors.install_handlers(test_api)
test_api.add_router("/", gateway)
test_api.add_router("/", runs)

urlpatterns = [path("", test_api.urls)]
