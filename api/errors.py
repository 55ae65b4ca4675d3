"""Errors of the public API, each in the shape its client expects.

Three families share one server: the OpenAI-compatible routes (`/v1/chat/completions`,
`/v1/models`, `/v1/embeddings`) answer `{"error": {"message", "type", "param", "code"}}`;
the Anthropic-compatible ones (`/v1/messages…`) answer `{"type": "error", "error": {"type",
"message"}}`; SCE's own routes under `/api/v1/` answer seed 000's `{error, message, details}`.
An endpoint raises `ApiProblem` (or lets a `ProviderError` or a refused key escape) and the
handlers installed on the API write the body its family's clients parse; the official SDKs
choose their exception class from the status, so statuses follow the providers' own.
"""

from __future__ import annotations

import logging
import math
from enum import StrEnum
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.authentication import ApiKeyRefused
from providers.errors import ErrorCode, ProviderError
from tenants import api_access

logger = logging.getLogger(__name__)


class Shape(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    SCE = "sce"


def shape_of(path: str) -> Shape:
    """Which family of clients calls `path`, by its route."""
    if path.startswith("/v1/messages"):
        return Shape.ANTHROPIC
    if path.startswith("/v1/"):
        return Shape.OPENAI
    return Shape.SCE


class ApiProblem(Exception):
    """A call the API refuses or could not serve.

    `code` is stable and machine-readable; `param` names the request field at fault;
    `details` goes into SCE-shaped bodies only; `error_type` overrides the family's type for
    the status (e.g. OpenAI's `insufficient_quota` on a 429).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        details: Any = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.details = details
        self.error_type = error_type
        self.headers = headers or {}


OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def problem_response(shape: Shape, problem: ApiProblem) -> HttpResponse:
    """`problem` as a response in `shape`, with its headers."""
    body: dict[str, Any]
    if shape is Shape.OPENAI:
        body = {
            "error": {
                "message": problem.message,
                "type": problem.error_type or OPENAI_TYPES.get(problem.status, "api_error"),
                "param": problem.param,
                "code": problem.code,
            }
        }
    elif shape is Shape.ANTHROPIC:
        error_type = problem.error_type or ANTHROPIC_TYPES.get(problem.status, "api_error")
        body = {"type": "error", "error": {"type": error_type, "message": problem.message}}
    else:
        body = {"error": problem.code, "message": problem.message}
        if problem.details is not None:
            body["details"] = problem.details
    response = JsonResponse(body, status=problem.status)
    for name, value in problem.headers.items():
        response[name] = value
    return response


# What a gateway failure means to the API's caller. The upstream provider's own credential
# problems are SCE's, not the caller's: they answer 502, never 401/403 (which would tell the
# client its own key is wrong).
PROVIDER_STATUS: dict[ErrorCode, int] = {
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.BUDGET_EXCEEDED: 429,
    ErrorCode.OVERLOADED: 529,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.CONNECTION: 502,
    ErrorCode.SERVER_ERROR: 502,
    ErrorCode.AUTH: 502,
    ErrorCode.PERMISSION: 502,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.CONTEXT_LENGTH: 400,
    ErrorCode.CONTENT_FILTER: 400,
    ErrorCode.CIRCUIT_OPEN: 503,
    ErrorCode.CANCELLED: 499,
    ErrorCode.EGRESS_REFUSED: 502,
    ErrorCode.NOT_CAPABLE: 400,
    ErrorCode.INVALID_OUTPUT: 502,
}


def provider_problem(error: ProviderError, shape: Shape) -> ApiProblem:
    """A gateway failure as the API answers it: the status its clients retry on, and a
    `retry-after` when the gateway knows one."""
    status = PROVIDER_STATUS.get(error.code, 502)
    if status == 529 and shape is not Shape.ANTHROPIC:
        status = 503  # 529 is Anthropic's own; the OpenAI clients know 503
    headers = {}
    if error.retry_after is not None and status in {429, 503, 529}:
        headers["retry-after"] = str(max(1, math.ceil(error.retry_after)))
    over_quota = error.code is ErrorCode.BUDGET_EXCEEDED and shape is Shape.OPENAI
    error_type = "insufficient_quota" if over_quota else None
    code = {ErrorCode.CONTEXT_LENGTH: "context_length_exceeded"}.get(error.code, error.code.value)
    return ApiProblem(status, code, error.message, error_type=error_type, headers=headers)


def validation_problem(errors: list[dict[str, Any]]) -> ApiProblem:
    """A request body or query of the wrong shape: 400, naming the first field at fault."""
    described = []
    for error in errors:
        # Ninja's locations start with where the value came from and the argument's name
        # ("body", "payload", …); the caller knows its fields by their own path.
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in {"body", "query", "path", "header", "form"}:
            location = location[2:] if len(location) > 1 and location[1] == "payload" else location[1:]
        described.append({"field": ".".join(location), "message": str(error.get("msg", "is not valid"))})
    first = described[0] if described else {"field": "", "message": "is not valid"}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return ApiProblem(400, "invalid_request", message, param=first["field"] or None, details=described)


HTTP_ERROR_CODES = {
    400: "invalid_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}


def problem_for(exc: BaseException, shape: Shape) -> ApiProblem:
    """What the caller is told about `exc`, raised by a route or by Ninja around it."""
    if isinstance(exc, ApiProblem):
        return exc
    if isinstance(exc, ProviderError):
        return provider_problem(exc, shape)
    if isinstance(exc, ApiKeyRefused):
        headers = {"WWW-Authenticate": 'Bearer realm="sce"'} if exc.status == 401 else None
        return ApiProblem(exc.status, exc.code, exc.message, headers=headers)
    if isinstance(exc, AuthenticationError):
        message = "Send an API key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
        return ApiProblem(401, "missing_api_key", message, headers={"WWW-Authenticate": 'Bearer realm="sce"'})
    if isinstance(exc, ValidationError):
        return validation_problem(list(exc.errors))
    # Ninja reports a body it could not read as a 400, whatever the cause.
    too_big = exc if isinstance(exc, RequestDataTooBig) else exc.__cause__
    if isinstance(too_big, RequestDataTooBig):
        return ApiProblem(413, "request_too_large", "The request body is over the size limit.")
    if isinstance(exc, HttpError):
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return ApiProblem(400, "invalid_json", "The request body is not valid JSON.")
        return ApiProblem(exc.status_code, HTTP_ERROR_CODES.get(exc.status_code, "error"), str(exc))
    return ApiProblem(500, "internal_error", "Something went wrong on our side.")


HANDLED = (ApiProblem, ProviderError, ApiKeyRefused, AuthenticationError, ValidationError, HttpError)


def install_handlers(api: NinjaAPI) -> None:
    """Every failure under `api` answers in its caller's shape; nothing answers a bare 500."""

    def handle(request: HttpRequest, exc: BaseException | type[BaseException]) -> HttpResponse:
        error = exc if isinstance(exc, BaseException) else exc()
        if not isinstance(error, (*HANDLED, RequestDataTooBig)):
            logger.exception("API call %s %s failed", request.method, request.path, exc_info=error)
        shape = shape_of(request.path)
        return problem_response(shape, problem_for(error, shape))

    for exception in (*HANDLED, RequestDataTooBig, Exception):
        api.add_exception_handler(exception, handle)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 404: a JSON 404 in the client's shape for an unknown `/v1/` route (an
    OpenAI or Anthropic client with a wrong base URL), the API's under /api/, else the page."""
    shape = shape_of(request.path)
    if shape is Shape.SCE:
        return api_access.page_not_found(request, exception)
    message = f"There is no endpoint at {request.method} {request.path}."
    return problem_response(shape, ApiProblem(404, "not_found", message))
