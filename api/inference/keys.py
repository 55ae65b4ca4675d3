"""The API key of a caller that cannot send headers: `?api_key=` on the stream and the socket.

A browser's EventSource sends no headers of its own, and a browser's WebSocket none at all,
so the SSE stream and `WS /api/v1/ws` also take the key as the `api_key` query parameter.
The headers (`Authorization: Bearer`, `x-api-key`) are read first and win when both come.
The same checks apply as for a header (api.authentication.identify): a revoked or expired
key, or a suspended tenant's, is refused at once. Query strings end up in access logs more
easily than headers do; clients that can send headers should.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.http import HttpRequest
from django.http.request import HttpHeaders
from ninja.security import APIKeyQuery

from api.authentication import ApiKeyRefused, admit, identify, presented_key
from api.errors import ApiProblem
from api.models import ApiKey, Scope
from api.operations import rate_limits

QUERY_PARAMETER = "api_key"


def admit_presented(
    headers: Mapping[str, str], query_key: str | None, scope: Scope, *, address: str
) -> ApiKey:
    """The key the headers present, else the query's, if it may act with `scope`;
    ApiKeyRefused otherwise."""
    if presented_key(headers) is None and query_key:
        headers = {"x-api-key": query_key}
    key = identify(headers, address=address)
    if not key.allows(scope):
        raise ApiKeyRefused(
            403, "scope_not_granted", f"The API key {key.prefix} does not have the {scope.value!r} scope."
        )
    return key


class QueryKey(APIKeyQuery):
    """`?api_key=<key>` (Ninja auth), tried after the header auths of `key_auth`."""

    param_name = QUERY_PARAMETER

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        # Reached only when neither header carried a key (those auths come first). The key is
        # then admitted exactly as if it had come as `x-api-key`, limits and all.
        request.headers = HttpHeaders({**request.META, "HTTP_X_API_KEY": key})
        return admit(request, self.scope)


def count_call(key: ApiKey) -> None:
    """Count a call that came without an HTTP request of its own (a request sent over the
    socket) against the key's own per-minute limit, as `admit` counts an HTTP call: 429 over
    the limit, 503 when the counters cannot be reached."""
    try:
        admission = rate_limits.admit_key_call(key)
    except rate_limits.RateLimitsUnavailable:
        message = "The usage counters are unavailable, so the call was refused to keep this key's limit."
        raise ApiProblem(503, "rate_limits_unavailable", message) from None
    if admission is not None and not admission.admitted:
        message = (
            f"The API key {key.prefix} is limited to {admission.window.limit} requests per minute; "
            f"try again in {math.ceil(admission.window.reset_seconds)} s."
        )
        raise ApiProblem(429, "rate_limited", message)
