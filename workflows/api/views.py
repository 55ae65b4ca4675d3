"""The workflow HTTP API under /api/v1/workflows/: validate, compile, and the DSL's schema.

Bad input is answered with a 4xx JSON body `{error, message, details?}`, never a 500. The
checks run in this order: method, caller and tenant, content type, size, CSRF, document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, wraps

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from tenants.api_access import (
    ApiCaller,
    ApiError,
    api_caller,
    method_not_allowed,
)
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.documents import read_document
from workflows.dsl.findings import DSLValidationError, Finding
from workflows.dsl.models import workflow_json_schema
from workflows.selectors import compiled, validated
from workflows.services import MAX_IMPORT_BYTES

# The same limit as importing a file in the editor.
MAX_DOCUMENT_BYTES = MAX_IMPORT_BYTES
JSON_CONTENT_TYPE = "application/json"

DocumentView = Callable[[HttpRequest, ApiCaller, WorkflowDocument], HttpResponse]


def document_endpoint(view: DocumentView) -> Callable[[HttpRequest], HttpResponse]:
    """A POST endpoint that takes a workflow document as its JSON body.

    The view receives the caller and the document's JSON object. CSRF stays on for session
    callers, but runs here rather than in the middleware: after method, caller, content
    type and size are checked (so each gets its own answer, and a form body is never
    parsed), before the document is.
    """

    def answer(request: HttpRequest, caller: ApiCaller, body: bytes) -> HttpResponse:
        document = read_document(body)
        if isinstance(document, Finding):
            return _unreadable(document).response()
        return view(request, caller, document)

    answer_after_csrf_check = csrf_protect(answer)

    @csrf_exempt
    @wraps(view)
    def endpoint(request: HttpRequest) -> HttpResponse:
        try:
            if request.method != "POST":
                raise method_not_allowed(request, ["POST"])
            caller = api_caller(request)
            _check_content_type(request)
            body = _read_body(request)
        except ApiError as refusal:
            return refusal.response()
        if caller.by_session:
            return answer_after_csrf_check(request, caller, body)
        return answer(request, caller, body)

    return endpoint


def _check_content_type(request: HttpRequest) -> None:
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if request.content_type != JSON_CONTENT_TYPE or charset not in {"utf-8", "utf8"}:
        given = request.headers.get("Content-Type") or "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Send the workflow document as {JSON_CONTENT_TYPE} (UTF-8); the content type was {given}.",
        )


def _too_large() -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.",
        {"limit_bytes": MAX_DOCUMENT_BYTES},
    )


def _read_body(request: HttpRequest) -> bytes:
    declared = str(request.META.get("CONTENT_LENGTH") or "0")
    if not (declared.isascii() and declared.isdigit()):
        raise ApiError(400, "invalid_request", "The Content-Length header is not a number.")
    if int(declared) > MAX_DOCUMENT_BYTES:
        raise _too_large()
    try:
        body = request.body
    except RequestDataTooBig:  # DATA_UPLOAD_MAX_MEMORY_SIZE, if it is ever set below the cap
        raise _too_large() from None
    if len(body) > MAX_DOCUMENT_BYTES:  # a body that came without a Content-Length
        raise _too_large()
    return body


def _unreadable(finding: Finding) -> ApiError:
    """A body that holds no JSON object: 400 in the shape compile errors have."""
    failure = DSLValidationError([finding]).as_dict()
    return ApiError(400, failure["error"], failure["message"], failure["details"])


@document_endpoint
def workflow_validate(request: HttpRequest, caller: ApiCaller, document: WorkflowDocument) -> HttpResponse:
    """Every finding in the document: `{valid, findings}`, 200 whether it is valid or not."""
    analysis = validated(caller.tenant, document)
    return JsonResponse(
        {"valid": analysis.is_valid, "findings": [finding.as_dict() for finding in analysis.findings]}
    )


@document_endpoint
def workflow_compile(request: HttpRequest, caller: ApiCaller, document: WorkflowDocument) -> HttpResponse:
    """The Go file and what it needs; 400 with every finding when the workflow has errors."""
    try:
        result = compiled(caller.tenant, document)
    except DSLValidationError as invalid:
        return JsonResponse(invalid.as_dict(), status=400)
    return JsonResponse(
        {
            "code": result.code,
            "activity_stubs": result.activity_stubs,
            "required_workers": result.required_workers,
            "warnings": [finding.as_dict() for finding in result.warnings],
        }
    )


@csrf_exempt
def workflow_schema(request: HttpRequest) -> HttpResponse:
    """The JSON Schema of workflow documents. Public: it holds nothing of any tenant."""
    if request.method not in {"GET", "HEAD"}:
        return method_not_allowed(request, ["GET", "HEAD"]).response()
    return HttpResponse(_schema_json(), content_type="application/json")


@cache
def _schema_json() -> bytes:
    # The schema never changes while the process lives: serialized once, not per request.
    return json.dumps(workflow_json_schema()).encode()
