"""Seed 000's compiler and AI gateway routes, on the workflows app's own services.

`POST /api/v1/validate` and `/api/v1/compile` take seed 000's `{"workflow": {…}}` and answer
in its shapes: `{valid, warnings}`, `{code, activity_stubs, required_workers}`, and a
workflow with errors as 400 `{error, message, details}` with the first error's code
(`cyclic_graph`, `invalid_node`, `invalid_edge`, … the validator's codes) and every finding.
They run the validator and the Go compiler the portal and the session API run (workflows
.selectors), subflows checked against the key's organization's workflows.

`POST /api/v1/generate/workflow`, `/enhance/workflow` and `/generate/service` queue a job
and answer 202 at once; `GET /api/v1/jobs/{job_id}` follows it. A job is the portal's AI
proposal (workflows.proposals: the same Celery task, leases, heartbeat, sweeper and reaper),
made for the key's organization; another organization's job, or one the portal made, is 404.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from api.authentication import caller_key, key_auth
from api.compiler import jobs
from api.compiler.schemas import (
    AiJobAccepted,
    AiJobStatus,
    CompileResult,
    CompilerProblem,
    EnhanceWorkflowRequest,
    GenerateServiceRequest,
    GenerateWorkflowRequest,
    ValidationResult,
    WorkflowRequest,
)
from api.errors import ApiProblem
from api.models import Scope
from conversations import selectors as conversation_selectors
from tenants.models import Tenant
from workflows import selectors as workflow_selectors
from workflows.dsl.findings import DSLValidationError, Finding
from workflows.proposals import selectors as proposal_selectors
from workflows.proposals import services as proposal_services
from workflows.proposals.services import ProposalRefused
from workflows.services import MAX_IMPORT_BYTES

router = Router(tags=["compiler"], auth=key_auth(Scope.WORKFLOWS))

# The refusals every route may answer (a key missing or wrong, a scope not granted), and
# those of some; all in seed 000's `{error, message, details}`.
REFUSALS: dict[int, Any] = {401: CompilerProblem, 403: CompilerProblem}
BAD_BODY: dict[int, Any] = {400: CompilerProblem, 413: CompilerProblem}
# The most JSON of `context` a job keeps and shows the model.
MAX_CONTEXT_CHARS = 20_000


def _check_size(request: HttpRequest) -> None:
    # The limit of a workflow file imported in the editor, for documents sent here too.
    if len(request.body) > MAX_IMPORT_BYTES:
        raise ApiProblem(
            413,
            "request_too_large",
            f"The request is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
            details={"limit_bytes": MAX_IMPORT_BYTES},
        )


def invalid_workflow(findings: list[Finding], *, param: str = "workflow") -> ApiProblem:
    """A workflow with errors, as seed 000 answers it: 400, the first error's code and
    message, its `node_id`/`edge_id`/`path` in `details`, and every finding there too."""
    failure = DSLValidationError(findings)
    first = next((finding for finding in findings if finding.severity == "error"), None)
    details: dict[str, Any] = {}
    if first is not None:
        details = {
            name: value
            for name, value in (
                ("node_id", first.node_id),
                ("edge_id", first.edge_id),
                ("path", list(first.path) if first.path is not None else None),
            )
            if value is not None
        }
    details["findings"] = [finding.as_dict() for finding in findings]
    return ApiProblem(400, failure.code, failure.message, param=param, details=details)


@router.post(
    "/validate",
    response={200: ValidationResult, **BAD_BODY, **REFUSALS},
    summary="Validate a workflow document (seed 000)",
    description="200 `{valid: true, warnings}` when the workflow compiles; 400 with the first "
    "error's code and every finding when it does not.",
    operation_id="compiler_validate",
)
def validate(request: HttpRequest, payload: WorkflowRequest) -> dict[str, Any]:
    key = caller_key(request)
    _check_size(request)
    analysis = workflow_selectors.validated(key.tenant, payload.workflow)
    if not analysis.is_valid:
        raise invalid_workflow(analysis.findings)
    return {"valid": True, "warnings": [finding.as_dict() for finding in analysis.warnings]}


@router.post(
    "/compile",
    response={200: CompileResult, **BAD_BODY, **REFUSALS},
    summary="Compile a workflow document to a Temporal Go workflow (seed 000)",
    description="The Go file, the activities to implement and the workers to run; 400 with the "
    "first error's code and every finding when the workflow has errors.",
    operation_id="compiler_compile",
)
def compile_workflow(request: HttpRequest, payload: WorkflowRequest) -> dict[str, Any]:
    key = caller_key(request)
    _check_size(request)
    try:
        result = workflow_selectors.compiled(key.tenant, payload.workflow)
    except DSLValidationError as invalid:
        raise invalid_workflow(invalid.findings) from None
    return {
        "code": result.code,
        "activity_stubs": result.activity_stubs,
        "required_workers": result.required_workers,
        "warnings": [finding.as_dict() for finding in result.warnings],
    }


def _context(context: dict[str, Any] | None) -> dict[str, Any]:
    if not context:
        return {}
    if len(json.dumps(context, ensure_ascii=False)) > MAX_CONTEXT_CHARS:
        raise ApiProblem(
            400,
            "context_too_large",
            f"context: at most {MAX_CONTEXT_CHARS:,} characters of JSON.",
            param="context",
            details={"limit_chars": MAX_CONTEXT_CHARS},
        )
    return context


def _refused(refusal: ProposalRefused) -> ApiProblem:
    return ApiProblem(409, refusal.code, refusal.message)


ACCEPTED: dict[int, Any] = {202: AiJobAccepted, 409: CompilerProblem, **BAD_BODY, **REFUSALS}


@router.post(
    "/generate/workflow",
    response=ACCEPTED,
    summary="Generate a workflow from a description (a background job)",
    description="Queues the job and answers 202 at once; GET the `status_url` for its result: a "
    "validated workflow document, an explanation and suggestions. 409 `model_unavailable` when no "
    "model of the organization can write a workflow.",
    operation_id="compiler_generate_workflow",
)
def generate_workflow(request: HttpRequest, payload: GenerateWorkflowRequest) -> Status[dict[str, Any]]:
    key = caller_key(request)
    try:
        proposal = proposal_services.proposal_create_described(
            tenant=key.tenant,
            api_key=key.prefix,
            prompt=payload.prompt,
            context=_context(payload.context),
            name=payload.name or "",
        )
    except ProposalRefused as refusal:
        raise _refused(refusal) from None
    return Status(202, jobs.accepted(proposal))


@router.post(
    "/enhance/workflow",
    response=ACCEPTED,
    summary="Enhance a workflow document as asked in words (a background job)",
    description="Queues the job and answers 202 at once; its result is the whole changed document, "
    "validated, with what changed. The document must be a workflow in shape (400 otherwise); its "
    "other errors may be left for the model to fix.",
    operation_id="compiler_enhance_workflow",
)
def enhance_workflow(request: HttpRequest, payload: EnhanceWorkflowRequest) -> Status[dict[str, Any]]:
    key = caller_key(request)
    _check_size(request)
    analysis = workflow_selectors.validated(key.tenant, payload.workflow_dsl)
    if analysis.workflow is None:  # not a workflow at all: nothing to enhance
        raise invalid_workflow(analysis.findings, param="workflow_dsl")
    try:
        proposal = proposal_services.proposal_create_enhance_document(
            tenant=key.tenant,
            api_key=key.prefix,
            document=payload.workflow_dsl,
            instruction=payload.enhancement_prompt,
        )
    except ProposalRefused as refusal:
        raise _refused(refusal) from None
    return Status(202, jobs.accepted(proposal))


def _blueprint_ref(tenant: Tenant, ref: str) -> str:
    if conversation_selectors.blueprint_choice(tenant=tenant, ref=ref) is None:
        known = [choice.ref for choice in conversation_selectors.blueprints_of_tenant(tenant=tenant)]
        raise ApiProblem(
            404,
            "blueprint_not_found",
            f"blueprint: there is no blueprint {ref!r}; the blueprints are: {', '.join(known)}.",
            param="blueprint",
            details={"blueprints": known},
        )
    return ref


@router.post(
    "/generate/service",
    response={**ACCEPTED, 404: CompilerProblem},
    summary="Generate a service definition from a description (a background job)",
    description="Queues the job and answers 202 at once; its result's `service_definition` holds "
    "the blueprint's requirements as the description gives them, in the interview's JSON download "
    "format (what POST /api/v1/generate/code takes), and the suggestions name what it leaves out.",
    operation_id="compiler_generate_service",
)
def generate_service(request: HttpRequest, payload: GenerateServiceRequest) -> Status[dict[str, Any]]:
    key = caller_key(request)
    blueprint = _blueprint_ref(key.tenant, payload.blueprint)
    try:
        proposal = proposal_services.proposal_create_service(
            tenant=key.tenant,
            api_key=key.prefix,
            blueprint=blueprint,
            prompt=payload.prompt,
            context=_context(payload.context),
        )
    except ProposalRefused as refusal:
        raise _refused(refusal) from None
    return Status(202, jobs.accepted(proposal))


@router.get(
    "/jobs/{job_id}",
    response={200: AiJobStatus, 400: CompilerProblem, 404: CompilerProblem, **REFUSALS},
    summary="A generate or enhance job: its state, then its result or error",
    operation_id="compiler_job",
)
def job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    key = caller_key(request)
    proposal = proposal_selectors.api_proposal_of_tenant(key.tenant, job_id)
    if proposal is None:
        raise ApiProblem(404, "job_not_found", f"There is no job {job_id}.", param="job_id")
    return jobs.job_status(proposal)
