"""Who an API call acts for: the tenant API key it presents.

A key comes as `Authorization: Bearer <key>` (the OpenAI clients) or `x-api-key: <key>` (the
Anthropic clients). Its row is read on every call, so a revoked or expired key, or a
suspended tenant's, is refused at once in every process: there is no cache to outlive a
revocation. Headers are never logged; a key is named in logs by its prefix only.

Route families take a key through `key_auth(scope)` (Ninja auth); refusals raise
`ApiKeyRefused`, which api.errors answers in the caller's own error shape. A key with its
own per-minute limit is counted there too (api.operations.rate_limits): past it, a 429.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Mapping

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer
from ninja.security.base import AuthBase

from api import selectors, services
from api.models import ApiKey, Scope
from api.operations import rate_limits
from tenants.throttles import client_address

# `sce_`, 8 characters of prefix, `_`, the secret (43 characters from token_urlsafe(32)).
# Anything else is refused before a query or a hash; the bound keeps huge headers cheap.
KEY_SHAPE = re.compile(r"sce_[a-z0-9]{8}_[A-Za-z0-9_-]{20,100}")
BEARER = re.compile(r"bearer\s+(\S+)\s*", re.IGNORECASE)


class ApiKeyRefused(Exception):
    """A call refused for its key: `status` 401 (no usable key) or 403 (not allowed)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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


def admit(request: HttpRequest, scope: Scope) -> ApiKey:
    """The key `request` presents, if it may act with `scope` and is within its own
    per-minute limit; ApiKeyRefused or a 429/503 ApiProblem otherwise.

    The call's standing against the key's and the tenant's limits is kept on the request
    for the answer's `x-ratelimit-*` headers (api.middleware).
    """
    # api.errors imports this module for ApiKeyRefused, so its ApiProblem is imported here,
    # when both modules are loaded.
    from api.errors import ApiProblem

    key = identify(request.headers, address=client_address(request))
    if not key.allows(scope):
        raise ApiKeyRefused(
            403, "scope_not_granted", f"The API key {key.prefix} does not have the {scope.value!r} scope."
        )
    try:
        admission = rate_limits.admit_key_call(key)
    except rate_limits.RateLimitsUnavailable:
        message = "The usage counters are unavailable, so the call was refused to keep this key's limit."
        raise ApiProblem(503, "rate_limits_unavailable", message, headers={"retry-after": "5"}) from None
    rate_limits.remember(request, rate_limits.standing(key, scope, admission))
    if admission is not None and not admission.admitted:
        retry_after = str(math.ceil(admission.window.reset_seconds))
        message = (
            f"The API key {key.prefix} is limited to {admission.window.limit} requests per minute; "
            f"try again in {retry_after} s."
        )
        raise ApiProblem(429, "rate_limited", message, headers={"retry-after": retry_after})
    return key


class _ScopedKey:
    """A key from one header, admitted when active and granted `scope` (Ninja auth)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        # Both headers are read whichever carried the key, so two different keys are refused.
        return admit(request, self.scope) if key else None


class BearerKey(_ScopedKey, HttpBearer):
    """`Authorization: Bearer <key>`, as the OpenAI clients send it."""


class HeaderKey(_ScopedKey, APIKeyHeader):
    """`x-api-key: <key>`, as the Anthropic clients send it."""

    param_name = "x-api-key"


def key_auth(scope: Scope) -> list[AuthBase]:
    """The auth of a route family needing `scope`: the caller's key in either header.

    A missing key ends in Ninja's AuthenticationError, an unusable one in `ApiKeyRefused`;
    api.errors answers both in the caller's shape. Endpoints read the key with `caller_key`.
    No CSRF check: the key, not a cookie, is the credential.
    """
    return [BearerKey(scope), HeaderKey(scope)]


def caller_key(request: HttpRequest) -> ApiKey:
    """The key an endpoint behind `key_auth` was called with (its tenant is `.tenant`)."""
    key = getattr(request, "auth", None)
    if not isinstance(key, ApiKey):
        raise ApiKeyRefused(401, "missing_api_key", "This endpoint needs an API key.")
    return key
