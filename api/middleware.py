"""Middleware of the public API: CORS for its routes, and what every answer of it carries.

`ApiCorsMiddleware` is django-cors-headers' middleware (configured in settings: the API's
routes only, API_CORS_ALLOWED_ORIGINS, no credentials) that also allows the official
clients' header families by prefix. `ApiResponseMiddleware` names the call's request id on
every API answer (api.request_ids), writes the `x-ratelimit-*` headers of key-authenticated
calls (from the standing api.authentication.admit kept on the request) and counts each API
call for /metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from corsheaders.middleware import ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN, CorsMiddleware
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from api import request_ids
from api.operations import metrics, rate_limits


class ApiCorsMiddleware(CorsMiddleware):
    """django-cors-headers, allowing on a preflight, besides CORS_ALLOW_HEADERS, the requested
    headers of API_CORS_ALLOWED_HEADER_PREFIXES (`x-stainless-*`, `openai-*`, `anthropic-*`).
    Sync-only, as the whole chain is (core.sync_middleware)."""

    async_capable = False

    def add_response_headers(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().add_response_headers(request, response)
        if request.method != "OPTIONS" or not response.has_header(ACCESS_CONTROL_ALLOW_ORIGIN):
            return response
        requested = request.headers.get("access-control-request-headers", "")
        names = [name.strip().lower() for name in requested.split(",") if name.strip()]
        prefixes = tuple(settings.API_CORS_ALLOWED_HEADER_PREFIXES)
        families = [name for name in names if name.startswith(prefixes)]
        allowed = dict.fromkeys([*settings.CORS_ALLOW_HEADERS, *families])
        response[ACCESS_CONTROL_ALLOW_HEADERS] = ", ".join(allowed)
        return response


class ApiResponseMiddleware:
    """Request ids and rate-limit headers on the API's answers, and its request metrics.

    Sync-only, as the whole chain is (core.sync_middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        return self._finish(request, self.get_response(request), started)

    def _finish(self, request: HttpRequest, response: HttpResponseBase, started: float) -> HttpResponseBase:
        if metrics.API_PATH.match(request.path):
            request_ids.stamp(request, response)
        standing = rate_limits.standing_of(request)
        if standing is not None:
            for name, value in rate_limits.headers(standing).items():
                # A route that knows better (the gateway's own figures) keeps its value.
                if not response.has_header(name):
                    response[name] = value
        metrics.observe_request(request, response, time.perf_counter() - started)
        return response
