"""Who an API call acts for: the tenant API key it presents.

A key comes as `Authorization: Bearer <key>` (the OpenAI clients) or `x-api-key: <key>` (the
Anthropic clients). Its row is read on every call, so a revoked or expired key, or a
suspended tenant's, is refused at once in every process: there is no cache to outlive a
revocation. Headers are never logged; a key is named in logs by its prefix only.

Endpoints take a key through `api_key_required(scope)`. Refusals answer
`{"error": {"type", "message", "code"}}` by default; the OpenAI- and Anthropic-compatible
endpoints pass their own `error_response` to answer in their clients' shapes.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, Protocol

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api import selectors, services
from api.models import ApiKey, Scope
from tenants.models import Tenant
from tenants.throttles import client_address

# `sce_`, 8 characters of prefix, `_`, the secret (43 characters from token_urlsafe(32)).
# Anything else is refused before a query or a hash; the bound keeps huge headers cheap.
KEY_SHAPE = re.compile(r"sce_[a-z0-9]{8}_[A-Za-z0-9_-]{20,100}")
BEARER = re.compile(r"bearer\s+(\S+)\s*", re.IGNORECASE)


class ApiKeyRequest(HttpRequest):
    """What an endpoint behind `api_key_required` receives."""

    api_key: ApiKey
    tenant: Tenant


class ApiKeyRefused(Exception):
    """A call refused for its key: `status` 401 (no usable key) or 403 (not allowed)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def error_type(self) -> str:
        return "authentication_error" if self.status == 401 else "permission_error"


class ErrorResponse(Protocol):
    def __call__(self, status: int, error_type: str, message: str, *, code: str) -> HttpResponse: ...


def error_response(status: int, error_type: str, message: str, *, code: str) -> HttpResponse:
    """The API's own error body, `{"error": {"type", "message", "code"}}`."""
    return JsonResponse({"error": {"type": error_type, "message": message, "code": code}}, status=status)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a call presents, from `Authorization: Bearer` or `x-api-key`; None without one.

    Two different keys in the two headers are refused: which one acts would be a guess.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    bearer = BEARER.fullmatch(lowered.get("authorization", "").strip())
    from_bearer = bearer.group(1) if bearer else ""
    from_header = lowered.get("x-api-key", "").strip()
    if from_bearer and from_header and from_bearer != from_header:
        raise ApiKeyRefused(401, "conflicting_api_keys", "Authorization and x-api-key carry different keys.")
    return from_bearer or from_header or None


def identify(headers: Mapping[str, str], *, address: str = "") -> ApiKey:
    """The active key the headers present, with its tenant; ApiKeyRefused otherwise.

    The key's last use (time and `address`) is noted at most once a minute.
    """
    presented = presented_key(headers)
    if presented is None:
        raise ApiKeyRefused(
            401, "missing_api_key", "Send an API key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
        )
    invalid = ApiKeyRefused(401, "invalid_api_key", "The API key is not valid.")
    if not KEY_SHAPE.fullmatch(presented):
        raise invalid
    key = selectors.api_key_by_prefix(prefix=presented[: services.PREFIX_LENGTH])
    # The prefix only finds the row; the whole key is what proves the caller holds it.
    if key is None or not hmac.compare_digest(services.hash_api_key(presented), key.key_hash):
        raise invalid
    if key.revoked_at is not None:
        raise ApiKeyRefused(401, "revoked_api_key", f"The API key {key.prefix} was revoked.")
    if key.status == "expired":
        raise ApiKeyRefused(401, "expired_api_key", f"The API key {key.prefix} has expired.")
    if key.tenant.is_suspended:
        raise ApiKeyRefused(403, "tenant_suspended", f"The organization {key.tenant.slug!r} is suspended.")
    services.api_key_mark_used(key=key, address=address)
    return key


def authenticate(headers: Mapping[str, str], *, address: str = "") -> ApiKey | None:
    """The active key the headers present, or None for a missing, wrong, revoked or expired
    key or a suspended tenant's (for callers that need no reason, such as a socket)."""
    try:
        return identify(headers, address=address)
    except ApiKeyRefused:
        return None


def _admit(request: HttpRequest, scope: Scope) -> ApiKey:
    key = identify(request.headers, address=client_address(request))
    if not key.allows(scope):
        raise ApiKeyRefused(
            403, "scope_not_granted", f"The API key {key.prefix} does not have the {scope.value!r} scope."
        )
    return key


def _refusal(refused: ApiKeyRefused, respond: ErrorResponse) -> HttpResponse:
    response = respond(refused.status, refused.error_type, refused.message, code=refused.code)
    if refused.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="sce"'
    return response


View = Callable[..., Any]


def api_key_required(scope: Scope, *, respond: ErrorResponse = error_response) -> Callable[[View], View]:
    """Admit calls whose key is active and has `scope`; the view gets `request.api_key` and
    `request.tenant`. Sync and async views both.

    401 for a missing or unusable key, 403 for a missing scope or a suspended tenant, each
    answered by `respond`. No CSRF check: the key, not a cookie, is the credential.
    """

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                try:
                    key = await sync_to_async(_admit)(request, scope)
                except ApiKeyRefused as refused:
                    return _refusal(refused, respond)
                request.api_key = key  # type: ignore[attr-defined]
                request.tenant = key.tenant  # type: ignore[attr-defined]
                response: HttpResponse = await view(request, *args, **kwargs)
                return response

            return csrf_exempt(async_wrapper)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                key = _admit(request, scope)
            except ApiKeyRefused as refused:
                return _refusal(refused, respond)
            request.api_key = key  # type: ignore[attr-defined]
            request.tenant = key.tenant  # type: ignore[attr-defined]
            response: HttpResponse = view(request, *args, **kwargs)
            return response

        return csrf_exempt(wrapper)

    return decorator
