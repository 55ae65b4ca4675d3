"""Endpoints behind `api_key_required`, for the tests of the decorator (the real API's
endpoints come with the features that need them)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from api.authentication import ApiKeyRequest, api_key_required
from api.models import Scope


@api_key_required(Scope.GATEWAY)
def whoami(request: ApiKeyRequest) -> JsonResponse:
    return JsonResponse({"tenant": request.tenant.slug, "key": request.api_key.prefix})


@api_key_required(Scope.GATEWAY)
async def whoami_async(request: ApiKeyRequest) -> JsonResponse:
    return JsonResponse({"tenant": request.tenant.slug, "key": request.api_key.prefix})


@api_key_required(Scope.RUNS)
def runs_only(request: ApiKeyRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def _plain_error(status: int, error_type: str, message: str, *, code: str) -> HttpResponse:
    return HttpResponse(f"{error_type}: {message}", status=status, content_type="text/plain")


@api_key_required(Scope.GATEWAY, respond=_plain_error)
def own_errors(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@api_key_required(Scope.GATEWAY)
def broken(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("the view failed")


urlpatterns = [
    path("whoami", whoami),
    path("whoami-async", whoami_async),
    path("runs-only", runs_only),
    path("own-errors", own_errors),
    path("broken", broken),
]
