"""Request and response bodies of seed 000's compiler and AI gateway routes.

The names follow seed 000 (`workflow`, `workflow_dsl`, `enhancement_prompt`, `GenerationResult`'s
fields); what the seed sends that SCE decides itself (`tenant_id`: the key's tenant acts;
`use_local_model`, `temperature`, `max_tokens`: the tenant's routing and the job's own
settings choose) is accepted, checked for type and range, and not used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

WORKFLOW_EXAMPLE: dict[str, Any] = {
    "id": "5b0f3c2e-8d4a-4f7e-9c1b-2a6d8e4f1c30",
    "name": "Order intake",
    "tenant_id": "0e6a1f4c-3b2d-4c5e-8f9a-7b1c2d3e4f50",
    "version": 1,
    "nodes": [
        {
            "id": "receive",
            "node_type": "activity",
            "label": "Receive order",
            "position": {"x": 100, "y": 100},
            "config": {
                "type": "activity",
                "activity_name": "ReceiveOrder",
                "input_mapping": {"order": "{{order_id}}"},
                "output_variable": "order",
            },
            "timeout_seconds": 30,
        },
        {
            "id": "check_stock",
            "node_type": "activity",
            "label": "Check stock",
            "position": {"x": 300, "y": 100},
            "config": {
                "type": "activity",
                "activity_name": "CheckStock",
                "input_mapping": {"order": "{{order_id}}"},
                "output_variable": "stock",
            },
            "timeout_seconds": 30,
        },
        {
            "id": "ship",
            "node_type": "activity",
            "label": "Ship",
            "position": {"x": 200, "y": 220},
            "config": {
                "type": "activity",
                "activity_name": "Ship",
                "input_mapping": {"order": "{{order.id}}", "where": "{{stock.location}}"},
            },
            "timeout_seconds": 60,
        },
    ],
    "edges": [
        {"id": "e1", "source": "receive", "target": "ship"},
        {"id": "e2", "source": "check_stock", "target": "ship"},
    ],
    "variables": [{"name": "order_id", "variable_type": "string", "required": True}],
    "triggers": [{"trigger_type": "manual", "config": {}}],
    "error_policy": {"on_error": "fail"},
}

WORKFLOW_DESCRIPTION = (
    "A workflow document in seed 000's DSL (its JSON Schema: GET /api/v1/workflows/schema). "
    "Nodes without incoming edges are entry nodes: all of them start when the workflow does."
)

NOT_USED = "Accepted for seed 000's clients and checked; not used: {why}."


class CompilerProblem(Schema):
    """Every refusal, in seed 000's shape: a stable code, a sentence, and the particulars."""

    error: str = Field(examples=["cyclic_graph"])
    message: str = Field(examples=["the workflow loops: 'a' -> 'b' -> 'a'"])
    details: Any = Field(
        None,
        description="For a workflow with errors: the first error's `node_id`/`edge_id`/`path` as the "
        "seed gives them, and every finding (errors and warnings) under `findings`.",
        examples=[
            {
                "node_id": "a",
                "path": ["a", "b", "a"],
                "findings": [
                    {
                        "severity": "error",
                        "code": "cyclic_graph",
                        "message": "the workflow loops: 'a' -> 'b' -> 'a'",
                        "node_id": "a",
                        "path": ["a", "b", "a"],
                    }
                ],
            }
        ],
    )


class WorkflowFinding(Schema):
    """One problem in a workflow document."""

    severity: Literal["error", "warning"]
    code: str = Field(examples=["missing_timeout"])
    message: str = Field(examples=["node 'ship' has no timeout"])
    node_id: str | None = None
    edge_id: str | None = None
    path: list[str | int] | None = Field(
        None, description="Where in the document (keys and indexes); for cyclic_graph, the loop's node ids."
    )
    position: int | None = Field(None, description="Character offset inside the expression or template.")


class WorkflowRequest(Schema):
    """Seed 000's CompileRequest: the document to validate or compile."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"workflow": WORKFLOW_EXAMPLE}]})

    workflow: dict[str, Any] = Field(description=WORKFLOW_DESCRIPTION)


class ValidationResult(Schema):
    """A document without errors (one with errors is answered 400, as seed 000 does)."""

    valid: bool = Field(examples=[True])
    warnings: list[WorkflowFinding] = Field(
        description="What compiles but is probably not what was meant.", examples=[[]]
    )


class CompileResult(Schema):
    """Seed 000's CompileResponse: the Temporal Go workflow and what it needs."""

    code: str = Field(description="The Go file (gofmt-clean).", examples=["// Code generated by the SCE …"])
    activity_stubs: list[str] = Field(
        description="Activities to implement.", examples=[["CheckStock", "Ship"]]
    )
    required_workers: list[str] = Field(
        description="Task queues whose workers must run.", examples=[["sce-core"]]
    )
    warnings: list[WorkflowFinding] = Field(examples=[[]])


class _SeedOptions(Schema):
    tenant_id: str | None = Field(None, description=NOT_USED.format(why="the API key's organization acts"))
    use_local_model: bool = Field(
        False, description=NOT_USED.format(why="the organization's routing chooses")
    )
    temperature: float = Field(
        0.7, ge=0, le=2, description=NOT_USED.format(why="the job sets its own for structured output")
    )
    max_tokens: int = Field(4000, ge=100, le=32000, description=NOT_USED.format(why="the job sets its own"))


class GenerateRequest(_SeedOptions):
    """Seed 000's CreateServiceRequest: what to make, in words."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prompt": "When an order arrives, check stock and charge the card at once, then ship it.",
                    "context": {"channel": "web shop", "currency": "EUR"},
                }
            ]
        }
    )

    prompt: str = Field(min_length=1, max_length=8000, description="What to make, in words.")
    context: dict[str, Any] | None = Field(None, description="More about it, as JSON the model reads too.")


class GenerateWorkflowRequest(GenerateRequest):
    """A workflow from a description."""

    name: str | None = Field(None, max_length=200, description="The workflow's name (else from the prompt).")


class GenerateServiceRequest(GenerateRequest):
    """A service definition from a description."""

    blueprint: str = Field(
        "builtin:business-process",
        max_length=40,
        description="The blueprint whose requirements the definition fills: `builtin:business-process`, "
        "`builtin:network-service`, or one of the organization's own, `tenant:<id>`.",
        examples=["builtin:network-service"],
    )


class EnhanceWorkflowRequest(Schema):
    """Seed 000's EnhanceWorkflowRequest: a document and the change to make to it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "workflow_dsl": WORKFLOW_EXAMPLE,
                    "enhancement_prompt": "Ask a manager to approve orders over 1000 before shipping.",
                }
            ]
        }
    )

    tenant_id: str | None = Field(None, description=NOT_USED.format(why="the API key's organization acts"))
    workflow_dsl: dict[str, Any] = Field(description=WORKFLOW_DESCRIPTION + " Its errors may be left to fix.")
    enhancement_prompt: str = Field(
        min_length=1, max_length=4000, description="The change to make, in words."
    )
    temperature: float = Field(
        0.3, ge=0, le=2, description=NOT_USED.format(why="the job sets its own for structured output")
    )


JobKind = Literal["generate_workflow", "enhance_workflow", "generate_service"]
JobState = Literal["queued", "running", "completed", "failed"]


class AiJobAccepted(Schema):
    """A job queued: follow it at `status_url`."""

    job_id: int = Field(examples=[42])
    kind: JobKind
    status: JobState = Field(examples=["queued"])
    status_url: str = Field(examples=["/api/v1/jobs/42"])


class GenerationResult(Schema):
    """Seed 000's GenerationResult."""

    status: Literal["success", "invalid"] = Field(
        description="`invalid`: the model's last workflow still has errors (listed in `findings`)."
    )
    service_definition: dict[str, Any] | None = Field(
        None,
        description="generate_service: the requirements in the interview's JSON download format, "
        "which POST /api/v1/generate/code takes as `requirements`.",
        examples=[
            {
                "title": "Order intake",
                "blueprint": "Business process",
                "requirements": {"trigger": {"label": "Trigger", "value": "A webhook call"}},
            }
        ],
    )
    workflow_dsl: dict[str, Any] | None = Field(None, description="The workflow document made.")
    generated_code: str | None = Field(None, description="Never set here: compile the workflow for its Go.")
    explanation: str = Field(examples=["A workflow of 3 steps. Its 2 entry nodes start together: …"])
    suggestions: list[str] = Field(examples=[["node 'ship' has no retry policy"]])
    findings: list[WorkflowFinding] = Field(description="Everything validation found in the workflow.")
    tokens_used: int = Field(examples=[1830])
    model_used: str = Field(examples=["anthropic/claude-sonnet-4"])


class AiJobError(Schema):
    error: str = Field(examples=["rate_limited"])
    message: str = Field(examples=["the provider is rate limiting requests"])


class AiJobStatus(Schema):
    """A job: where it is, then its result or why it failed."""

    job_id: int = Field(examples=[42])
    kind: JobKind
    status: JobState
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = Field(description="Model calls made so far.", examples=[1])
    result: GenerationResult | None = None
    error: AiJobError | None = None
