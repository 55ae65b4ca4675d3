"""Turn google-genai's exceptions into the gateway's ProviderError.

The SDK raises one APIError (ClientError for 4xx, ServerError for 5xx) carrying Google's
error body: {"error": {"code", "message", "status", "details": [ErrorInfo, RetryInfo, …]}},
also for an error sent inside a 200 stream. Whatever it does not wrap (httpx errors, a reply
it could not parse) is mapped as for any kind (providers/kinds/sdk_errors.py).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
import httpx2

from providers.errors import ErrorCode, ProviderError
from providers.kinds.sdk_errors import answered_error, code_for_status, normalize_plain

# Google's canonical error codes (google.rpc.Code). Where the HTTP status already says it
# (RESOURCE_EXHAUSTED is a 429), it decides; these two say more than theirs: a deadline is a
# timeout (504 alone reads as a server failure), and a failed precondition (400: the API is
# not offered in the caller's region, billing is not enabled) is the key's problem, which
# another credential may not have, not the request's.
GOOGLE_STATUSES = {
    "DEADLINE_EXCEEDED": ErrorCode.TIMEOUT,
    "FAILED_PRECONDITION": ErrorCode.PERMISSION,
    "UNAUTHENTICATED": ErrorCode.AUTH,
    "PERMISSION_DENIED": ErrorCode.PERMISSION,
    "RESOURCE_EXHAUSTED": ErrorCode.RATE_LIMITED,
    "UNAVAILABLE": ErrorCode.OVERLOADED,
    "INTERNAL": ErrorCode.SERVER_ERROR,
    "INVALID_ARGUMENT": ErrorCode.BAD_REQUEST,
    "NOT_FOUND": ErrorCode.BAD_REQUEST,
}
GOOGLE_OVERRIDING_STATUSES = frozenset({"DEADLINE_EXCEEDED", "FAILED_PRECONDITION"})
# ErrorInfo reasons: Google answers a wrong or expired API key with 400 INVALID_ARGUMENT.
GOOGLE_REASONS = {
    "API_KEY_INVALID": ErrorCode.AUTH,
    "API_KEY_EXPIRED": ErrorCode.AUTH,
    "API_KEY_SERVICE_BLOCKED": ErrorCode.PERMISSION,
}


def _google_details(body: object) -> list[dict[str, Any]]:
    """The `details` of a Google error body ({"error": {"details": […]}}), dicts only."""
    inner = body.get("error", body) if isinstance(body, dict) else None
    details = inner.get("details") if isinstance(inner, dict) else None
    return [item for item in details if isinstance(item, dict)] if isinstance(details, list) else []


def google_retry_delay(body: object) -> float | None:
    """Seconds a Google error body's RetryInfo asks to wait ("37s", "0.250s"), or None."""
    for item in _google_details(body):
        if str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            try:
                return max(0.0, float(str(item.get("retryDelay", "")).removesuffix("s")))
            except ValueError:
                return None
    return None


def normalize_google(error: BaseException, *, errors: ModuleType, provider: str) -> ProviderError:
    """The ProviderError for anything a call through google-genai raised; `errors` is the
    SDK's errors module. Its APIError carries Google's body: the HTTP status (or, for an
    error inside a 200 stream, the body's own code) decides, refined by the canonical status
    and the ErrorInfo reason; RetryInfo's delay is the wait, else a retry-after header."""
    if not isinstance(error, errors.APIError):
        return normalize_plain(error, provider=provider)
    response = getattr(error, "response", None)
    http_status = getattr(response, "status_code", None)
    in_stream = not isinstance(http_status, int) or http_status == 200
    number = int(error.code or 0) if in_stream else int(http_status or 0)
    canonical = str(error.status or "")
    code = code_for_status(number) if number else GOOGLE_STATUSES.get(canonical, ErrorCode.SERVER_ERROR)
    if canonical in GOOGLE_OVERRIDING_STATUSES:
        code = GOOGLE_STATUSES[canonical]
    for item in _google_details(error.details):
        code = GOOGLE_REASONS.get(str(item.get("reason", "")), code)
    headers = getattr(response, "headers", None)
    return answered_error(
        code,
        status=None if in_stream else number,
        message=str(error.message or error.details),
        headers=headers if isinstance(headers, httpx2.Headers | httpx.Headers) else None,
        provider=provider,
        retry_after=google_retry_delay(error.details),
    )
