"""Turn the official SDKs' exceptions into the gateway's ProviderError.

The anthropic, openai and groq SDKs are generated from one template and raise parallel
exception classes (APITimeoutError, RateLimitError, …), so one mapping serves them all; the
module is passed in. A kind that makes its HTTP calls itself (Voyage) maps the status it got
(`http_status_error`, `normalize_plain`); Google's SDK has its own mapping on the same helpers
(google_errors.py). Failures below the SDK (a connection dropped mid-stream surfaces as an
httpx error) and malformed data are mapped too, so nothing unnormalized escapes a kind. A
connection the egress guard refused (core/egress; the SDKs wrap it as a connection error) is
egress_refused.

A refusal that names an optional parameter the request carried (`sent`: response_format,
stream_options) is a bad_request naming it in `unsupported_parameter`, whatever the status:
llama-cpp-python's server answers a json_schema response_format with HTTP 500, and it must
not count against the breaker as a server failure. The kind then sends the request without it.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Collection
from types import ModuleType
from typing import Any

# The SDKs' HTTP clients: httpx2 (openai's, anthropic's), httpx (groq's).
import httpx
import httpx2

from core.egress import refusal_in
from providers.errors import UPSTREAM_DETAIL_CHARS, ErrorCode, ProviderError

# The error "type" in a provider's error body, when the HTTP status does not tell enough
# (an error event inside a 200 stream has no status of its own).
BODY_TYPES = {
    "overloaded_error": ErrorCode.OVERLOADED,
    "rate_limit_error": ErrorCode.RATE_LIMITED,
    "rate_limit_exceeded": ErrorCode.RATE_LIMITED,
    "insufficient_quota": ErrorCode.RATE_LIMITED,
    "api_error": ErrorCode.SERVER_ERROR,
    "server_error": ErrorCode.SERVER_ERROR,
    "authentication_error": ErrorCode.AUTH,
    "invalid_api_key": ErrorCode.AUTH,
    "permission_error": ErrorCode.PERMISSION,
    "invalid_request_error": ErrorCode.BAD_REQUEST,
    "not_found_error": ErrorCode.BAD_REQUEST,
    "request_too_large": ErrorCode.CONTEXT_LENGTH,
    "context_length_exceeded": ErrorCode.CONTEXT_LENGTH,
    "content_filter": ErrorCode.CONTENT_FILTER,
    "content_policy_violation": ErrorCode.CONTENT_FILTER,
}

CONTEXT_PHRASES = (
    "prompt is too long",
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "exceeds the maximum number of tokens",  # Gemini: "The input token count (…) exceeds …"
)


# The words a server's refusal names each optional parameter by (its own name first), and the
# words that make a mention of it a refusal: OpenAI's "'response_format' of type 'json_schema'
# is not supported with this model", llama-cpp-python's pydantic "Input should be 'text' or
# 'json_object'", LM Studio's "'response_format.type' must be 'json_schema' or 'text'",
# "Unrecognized request argument supplied: stream_options", pydantic's "Extra inputs are not
# permitted".
PARAMETER_WORDS: dict[str, tuple[str, ...]] = {
    "response_format": ("response_format", "input should be 'text' or 'json_object'"),
    "stream_options": ("stream_options", "include_usage"),
}
REFUSAL_WORDS = (
    "unsupported",
    "not supported",
    "does not support",
    "doesn't support",
    "unrecognized",
    "unknown",
    "not permitted",
    "not allowed",
    "input should be",
    "must be",
    "invalid",
)


def unsupported_parameter(message: str, param: str, sent: Collection[str]) -> str:
    """Which of the optional parameters `sent` a server's refusal names, or "".

    `param` is the body's own `param` field (OpenAI's error shape names the culprit there).
    """
    lowered = message.lower()
    refusal = any(word in lowered for word in REFUSAL_WORDS)
    for name in sent:
        if param and param.split(".")[0].split("[")[0] == name:
            return name
        if refusal and any(word in lowered for word in PARAMETER_WORDS.get(name, (name,))):
            return name
    return ""


def retry_after_seconds(headers: httpx2.Headers | httpx.Headers | None) -> float | None:
    """Seconds the provider asked us to wait: retry-after-ms, or retry-after as seconds or a date."""
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value: str | None = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _body_error(body: object) -> tuple[str, str]:
    """(type or code, message) from a provider's error body, whichever shape it has."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            kind = str(inner.get("type") or "")
            code = str(inner.get("code") or "")
            message = str(inner.get("message") or "")
            # OpenAI puts the precise reason in `code` (context_length_exceeded).
            return (code if code in BODY_TYPES else kind), message
    return "", ""


def _body_param(body: object) -> str:
    """The `param` field of an OpenAI-shaped error body, or ""."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("param") or "")
    return ""


def _body_text(body: object) -> str:
    """An error body as text, whatever its shape (the SDKs parse JSON and keep other text)."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    try:
        return json.dumps(body)[:UPSTREAM_DETAIL_CHARS]
    except (TypeError, ValueError):
        return str(body)[:UPSTREAM_DETAIL_CHARS]


def code_for_status(status: int) -> ErrorCode:
    """The gateway's code for an HTTP error status."""
    if status == 401:
        return ErrorCode.AUTH
    if status == 403:
        return ErrorCode.PERMISSION
    if status == 413:
        return ErrorCode.CONTEXT_LENGTH
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status in (503, 529):
        return ErrorCode.OVERLOADED
    if status == 408:
        return ErrorCode.TIMEOUT
    if status >= 500:
        return ErrorCode.SERVER_ERROR
    return ErrorCode.BAD_REQUEST


def normalize(
    error: BaseException, *, sdk: ModuleType, provider: str, sent: Collection[str] = ()
) -> ProviderError:
    """The ProviderError for anything a call through `sdk` (anthropic, openai or groq) raised.

    The message is the gateway's own words; whatever the upstream said (an error body, an
    exception's text) goes to `detail`, cut short, for the log row only. `sent` names the
    optional parameters the request carried (see the module's docstring).
    """
    if isinstance(error, ProviderError):
        return error
    transport = _transport_error(
        error, provider, timeouts=(sdk.APITimeoutError,), connections=(sdk.APIConnectionError,)
    )
    if transport is not None:
        return transport
    if isinstance(error, sdk.APIStatusError):
        return _status_error(error, provider, sent)
    if isinstance(error, sdk.APIResponseValidationError | json.JSONDecodeError | ValueError | KeyError):
        return ProviderError(
            ErrorCode.SERVER_ERROR, f"{provider} sent a malformed response", provider=provider, detail=error
        )
    if isinstance(error, sdk.APIError):
        # An error reported inside a 200 stream: only its body says what it is.
        body = getattr(error, "body", None)
        kind, message = _body_error(body)
        code = BODY_TYPES.get(kind, ErrorCode.SERVER_ERROR)
        refused = _refused_parameter(code, message or str(error), _body_param(body), sent, provider, None)
        if refused is not None:
            return refused
        return ProviderError(
            code, f"{provider} reported an error: {code.summary}", provider=provider, detail=message or error
        )
    return ProviderError(
        ErrorCode.SERVER_ERROR,
        f"{provider} failed: {type(error).__name__}",
        provider=provider,
        detail=error,
    )


def _transport_error(
    error: BaseException,
    provider: str,
    *,
    timeouts: tuple[type[BaseException], ...] = (),
    connections: tuple[type[BaseException], ...] = (),
) -> ProviderError | None:
    """The ProviderError for a failure below the API: an address the egress guard refused, a
    timeout, a connection refused or dropped (`timeouts` and `connections`: an SDK's own
    wrappers of them); None for anything else."""
    refusal = refusal_in(error)
    if refusal is not None:
        return ProviderError(ErrorCode.EGRESS_REFUSED, f"{provider}: {refusal.reason}", provider=provider)
    if isinstance(error, (*timeouts, httpx2.TimeoutException, httpx.TimeoutException)):
        return ProviderError(ErrorCode.TIMEOUT, f"{provider} did not answer in time", provider=provider)
    if isinstance(error, (*connections, httpx2.TransportError, httpx.TransportError)):
        return ProviderError(
            ErrorCode.CONNECTION, f"could not reach {provider}", provider=provider, detail=_cause(error)
        )
    return None


def normalize_plain(error: BaseException, *, provider: str) -> ProviderError:
    """The ProviderError for what a call without an SDK wrapper raised: httpx's own errors and
    a reply that could not be read (Voyage's calls; what google-genai lets through)."""
    if isinstance(error, ProviderError):
        return error
    transport = _transport_error(error, provider)
    if transport is not None:
        return transport
    if isinstance(error, ValueError | KeyError | TypeError):
        return ProviderError(
            ErrorCode.SERVER_ERROR, f"{provider} sent a malformed response", provider=provider, detail=error
        )
    return ProviderError(
        ErrorCode.SERVER_ERROR, f"{provider} failed: {type(error).__name__}", provider=provider, detail=error
    )


def _cause(error: BaseException) -> str:
    """The text of the exception below an SDK's wrapper ("Connection error." says little)."""
    cause = error.__cause__ or error.__context__ or error
    return f"{type(cause).__name__}: {cause}"


def _refused_parameter(
    code: ErrorCode, message: str, param: str, sent: Collection[str], provider: str, status: int | None
) -> ProviderError | None:
    """The bad_request for a refusal of an optional parameter, if that is what it is.

    Only a failure that could be one is looked at: a 429, an auth error or a timeout that
    happens to quote the request is still what its status says.
    """
    if code not in (ErrorCode.BAD_REQUEST, ErrorCode.SERVER_ERROR):
        return None
    name = unsupported_parameter(message, param, sent)
    if not name:
        return None
    return ProviderError(
        ErrorCode.BAD_REQUEST,
        f"{provider} does not take the request's {name}",
        status=status,
        provider=provider,
        detail=message,
        unsupported_parameter=name,
    )


def _status_error(error: Any, provider: str, sent: Collection[str]) -> ProviderError:
    status = int(getattr(error, "status_code", 0) or 0)
    body = getattr(error, "body", None)
    kind, message = _body_error(body)
    # No `message` field: the body itself (a proxy's HTML page, a bare JSON object) says it.
    message = message or _body_text(body) or str(getattr(error, "message", "")) or f"HTTP {status}"
    code = (
        code_for_status(status) if status and status != 200 else BODY_TYPES.get(kind, ErrorCode.SERVER_ERROR)
    )
    if status == 200 and kind in BODY_TYPES:
        code = BODY_TYPES[kind]
    refused = _refused_parameter(code, message, _body_param(body), sent, provider, status or None)
    if refused is not None:
        return refused
    if code is ErrorCode.BAD_REQUEST:
        if kind in ("context_length_exceeded", "request_too_large") or any(
            phrase in message.lower() for phrase in CONTEXT_PHRASES
        ):
            code = ErrorCode.CONTEXT_LENGTH
        elif kind in ("content_filter", "content_policy_violation"):
            code = ErrorCode.CONTENT_FILTER
    response = getattr(error, "response", None)
    headers = response.headers if response is not None else None
    return answered_error(code, status=status, message=message, headers=headers, provider=provider)


def answered_error(
    code: ErrorCode,
    *,
    status: int | None,
    message: str,
    headers: httpx2.Headers | httpx.Headers | None,
    provider: str,
    retry_after: float | None = None,
) -> ProviderError:
    """The ProviderError for an error an upstream answered: a bad request that is about the
    prompt's length is context_length; a wait is kept for rate limits and overload only
    (`retry_after`, else the headers')."""
    if code is ErrorCode.BAD_REQUEST and any(phrase in message.lower() for phrase in CONTEXT_PHRASES):
        code = ErrorCode.CONTEXT_LENGTH
    if retry_after is None:
        retry_after = retry_after_seconds(headers)
    answered = (
        f"{provider} answered HTTP {status}" if status and status != 200 else f"{provider} reported an error"
    )
    return ProviderError(
        code,
        f"{answered}: {code.summary}",
        status=status or None,
        retry_after=retry_after if code in (ErrorCode.RATE_LIMITED, ErrorCode.OVERLOADED) else None,
        provider=provider,
        detail=message,
    )


def http_status_error(
    *, status: int, body: object, headers: httpx2.Headers | None, provider: str
) -> ProviderError:
    """The ProviderError for an HTTP error status a kind received itself (Voyage's calls).
    `body` is the parsed JSON or the text; FastAPI-style {"detail": …} bodies are read too."""
    detail = body.get("detail") if isinstance(body, dict) else None
    _kind, message = _body_error(body)
    message = message or (detail if isinstance(detail, str) else "") or _body_text(body) or f"HTTP {status}"
    return answered_error(
        code_for_status(status), status=status, message=message, headers=headers, provider=provider
    )
