"""Seed 002's generation and testing API, on service generation's own services.

`POST /api/v1/generate/code` queues a generation as the portal's "Generate" does
(codegen.services.generation_create: the plan's monthly generations reserved, the same job,
the same modes) and answers at once; `GET /api/v1/generate/{id}` shows its state, files and
metadata; `POST /api/v1/testing/execute` runs a finished generation's tests again in the
sandbox, and `GET /api/v1/testing/{id}/results` reads them. Events stream on the socket
(api.generation.consumers). Every read goes through codegen's tenant-scoped selectors: another
tenant's generation is a 404, as is one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from api.authentication import caller_key, key_auth
from api.errors import ApiProblem
from api.generation import requirements, responses
from api.generation.schemas import (
    ErrorBody,
    ExecuteTestsRequest,
    ExecutionAccepted,
    ExecutionResults,
    GenerateCodeRequest,
    GenerationAccepted,
    GenerationStatus,
)
from api.models import Scope
from codegen import artifacts, modes, pages, selectors, services
from codegen.models import Generation
from codegen.services import GenerationRefused
from codegen.spec import Options, snake_case
from codegen.targets import target_choices
from conversations import selectors as conversation_selectors
from conversations.models import Conversation
from tenants.models import Tenant
from workflows import selectors as workflow_selectors
from workflows.models import WorkflowVersion

router = Router(tags=["generation"], auth=key_auth(Scope.GENERATIONS))

# The refusals every route may answer (a key missing or wrong, a scope not granted, an id
# that is not the tenant's), and those of some; all in seed 000's `{error, message, details}`.
REFUSALS: dict[int, Any] = {401: ErrorBody, 403: ErrorBody, 404: ErrorBody}
BAD_BODY: dict[int, Any] = {400: ErrorBody, 413: ErrorBody}


class ContentQuery(Schema):
    content: bool = Field(
        default=True, description="Include each file's content (false: paths, sizes and links only)."
    )


def generation_or_404(tenant: Tenant, generation_id: int, *, param: str | None = None) -> Generation:
    """The tenant's generation; 404 for one that is missing or another tenant's alike."""
    generation = selectors.generation_of_tenant(tenant, generation_id)
    if generation is None:
        raise ApiProblem(404, "generation_not_found", f"There is no generation {generation_id}.", param=param)
    return generation


def _conversation(tenant: Tenant, conversation_id: int) -> Conversation:
    conversation = (
        conversation_selectors.conversations_of_tenant(tenant=tenant).filter(pk=conversation_id).first()
    )
    if conversation is None:
        raise ApiProblem(
            404,
            "conversation_not_found",
            f"There is no interview {conversation_id}.",
            param="conversation_id",
        )
    if not conversation.is_complete:
        raise ApiProblem(
            409,
            "not_complete",
            "The interview is not complete yet: answer its remaining questions first.",
            param="conversation_id",
        )
    return conversation


def _workflow_version(tenant: Tenant, version_id: int) -> WorkflowVersion:
    version = workflow_selectors.published_versions_of_tenant(tenant).filter(pk=version_id).first()
    if version is None:
        raise ApiProblem(
            404,
            "workflow_version_not_found",
            f"There is no published workflow version {version_id}.",
            param="workflow_version_id",
        )
    return version


def _target(payload: GenerateCodeRequest) -> str:
    options = payload.options
    key = requirements.target_key(
        language=options.language, framework=options.framework, target=options.target
    )
    known = [choice for choice, _label in target_choices()]
    if key not in known:
        param = "options.target" if options.target else "options.framework"
        raise ApiProblem(
            400,
            "unknown_target",
            f"{param}: there is no target {key!r}; the targets are: {', '.join(known)}.",
            param=param,
            details={"targets": known},
        )
    return key


def _mode(tenant: Tenant, asked: str | None) -> str:
    if asked is None:
        return modes.default_mode(tenant)
    if asked == Generation.Mode.MODEL and not modes.capable_model_available(tenant):
        raise ApiProblem(
            409,
            "model_unavailable",
            "No AI model that can write code is set up for this organization: use mode 'template' "
            "(an admin can add a provider under Providers).",
            param="mode",
        )
    return asked


def refusal_problem(refusal: GenerationRefused, tenant: Tenant) -> ApiProblem:
    """A refusal of codegen's services as the API answers it."""
    if refusal.code == "quota_exceeded":
        quota = selectors.quota_status(tenant)
        return ApiProblem(
            429,
            "quota_exceeded",
            refusal.message,
            details={
                "plan": tenant.plan,
                "limit": quota.limit,
                "used": quota.used,
                "resets_on": quota.next_month.isoformat(),
            },
        )
    if refusal.code in ("not_complete", "not_allowed"):
        return ApiProblem(409, refusal.code, refusal.message)
    # The others are about the body, which this edge has checked already but for its size.
    param = {"bad_mode": "mode", "unknown_target": "options.target"}.get(refusal.code, "requirements")
    return ApiProblem(400, "invalid_request", f"{param}: {refusal.message}", param=param)


@router.post(
    "/generate/code",
    response={202: GenerationAccepted, **REFUSALS, **BAD_BODY, 409: ErrorBody, 429: ErrorBody},
    summary="Generate a service's code",
    description="Queue a generation from requirements (seed 002's flat object or an interview's "
    "JSON download) or from a finished interview, and answer at once. It counts against the "
    "plan's generations a month (429 `quota_exceeded` once they are used). Follow it with "
    "`GET /api/v1/generate/{id}` or on the socket at `events_url`.",
    url_name="generate_code",
)
def generate_code(request: HttpRequest, payload: GenerateCodeRequest) -> Status[dict[str, Any]]:
    tenant = caller_key(request).tenant
    conversation = None
    document = None
    if payload.conversation_id is not None:
        conversation = _conversation(tenant, payload.conversation_id)
    elif payload.requirements is None:
        raise ApiProblem(
            400,
            "invalid_request",
            "requirements: send the service's requirements (or the conversation_id of a finished interview).",
            param="requirements",
        )
    elif not payload.requirements:
        raise ApiProblem(400, "invalid_request", "requirements: must not be empty.", param="requirements")
    else:
        document = requirements.requirements_document(payload.requirements, title=payload.title)
    if payload.workflow_version_id is not None and payload.workflow is not None:
        raise ApiProblem(
            400,
            "invalid_request",
            "workflow: send a workflow or a workflow_version_id, not both.",
            param="workflow",
        )
    version = (
        _workflow_version(tenant, payload.workflow_version_id)
        if payload.workflow_version_id is not None
        else None
    )
    target = _target(payload)
    mode = _mode(tenant, payload.mode)
    options = payload.options
    try:
        generation = services.generation_create(
            tenant=tenant,
            actor=None,
            options=Options(
                target=target,
                include_tests=options.include_tests,
                include_docs=options.include_docs,
                include_deployment=options.include_deployment,
            ),
            mode=mode,
            conversation=conversation,
            requirements=document,
            workflow_version=version,
            workflow_document=payload.workflow,
        )
    except GenerationRefused as refusal:
        raise refusal_problem(refusal, tenant) from None
    quota = selectors.quota_status(tenant)
    return Status(
        202,
        {
            "generation_id": generation.pk,
            "status": generation.state,
            "mode": generation.mode,
            "target": generation.target,
            "status_url": responses.status_url(generation.pk),
            "events_url": responses.events_url(generation.pk),
            "quota": {"limit": quota.limit, "used": quota.used, "left": quota.left},
        },
    )


@router.get(
    "/generate/{int:generation_id}",
    response={200: GenerationStatus, **REFUSALS, 400: ErrorBody},
    summary="A generation's status, files and metadata",
    url_name="generation_detail",
)
def generation_detail(request: HttpRequest, generation_id: int, query: Query[ContentQuery]) -> dict[str, Any]:
    generation = generation_or_404(caller_key(request).tenant, generation_id)
    return responses.generation_status(generation, with_content=query.content)


@router.get(
    "/generate/{int:generation_id}/files/{path:file_path}",
    response=REFUSALS,
    summary="One generated file's content",
    description="The latest version of the file, as text.",
    url_name="generation_file",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file's content.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    },
)
def generation_file(request: HttpRequest, generation_id: int, file_path: str) -> HttpResponse:
    generation = generation_or_404(caller_key(request).tenant, generation_id)
    file = selectors.file_of(generation, file_path)
    version = selectors.versions_of(file).order_by("-number").first() if file is not None else None
    if version is None:
        raise ApiProblem(404, "file_not_found", f"The generation has no file {file_path!r} (yet).")
    return HttpResponse(artifacts.read_version(version), content_type="text/plain; charset=utf-8")


@router.get(
    "/generate/{int:generation_id}/archive",
    response={**REFUSALS, 409: ErrorBody},
    summary="Every generated file, as a zip",
    url_name="generation_archive",
    openapi_extra={
        "responses": {
            200: {
                "description": "A zip of the latest version of every file, under the service's folder.",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def generation_archive(request: HttpRequest, generation_id: int) -> HttpResponse:
    generation = generation_or_404(caller_key(request).tenant, generation_id)
    if not pages.has_files(generation):
        raise ApiProblem(409, "no_files", "The generation has no files yet.")
    response = HttpResponse(artifacts.zip_generation(generation), content_type="application/zip")
    name = f"{snake_case(generation.title)}-{generation.pk}.zip"  # ASCII letters, digits, _ and -
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.post(
    "/testing/execute",
    response={202: ExecutionAccepted, **REFUSALS, **BAD_BODY, 409: ErrorBody},
    summary="Run a generation's tests in the sandbox",
    description="Queue another run of a finished generation's tests, on its files as they are, "
    "in the sandbox (no network, a read-only system, time and memory limits). 409 while the "
    "generation is still running, or when it was generated without tests.",
    tags=["testing"],
    url_name="testing_execute",
)
def testing_execute(request: HttpRequest, payload: ExecuteTestsRequest) -> Status[dict[str, Any]]:
    generation = generation_or_404(caller_key(request).tenant, payload.generation_id, param="generation_id")
    # Read before queueing: once queued, a worker may create the run at any moment.
    number = responses.next_run_number(generation)
    try:
        queued = services.generation_rerun_tests(generation=generation, actor=None)
    except GenerationRefused as refusal:
        raise refusal_problem(refusal, generation.tenant) from None
    return Status(202, responses.execution_accepted(queued, number))


@router.get(
    "/testing/{execution_id}/results",
    response={200: ExecutionResults, **REFUSALS},
    summary="A test execution's results",
    description="Where the run stands, the counts (passed, failed, errors, skipped) and each test's "
    "result. Its id is `<generation id>-<run number>`; a generation's own first run is `<id>-1`.",
    tags=["testing"],
    url_name="testing_results",
)
def testing_results(request: HttpRequest, execution_id: str) -> dict[str, Any]:
    missing = ApiProblem(404, "execution_not_found", f"There is no test execution {execution_id[:40]!r}.")
    parsed = responses.parse_execution_id(execution_id)
    if parsed is None:
        raise missing
    generation = selectors.generation_of_tenant(caller_key(request).tenant, parsed[0])
    results = responses.execution_results(generation, parsed[1]) if generation is not None else None
    if results is None:
        raise missing
    return results
