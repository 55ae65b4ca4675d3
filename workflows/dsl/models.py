"""The workflow DSL: pydantic models whose JSON form is the original Rust compiler's.

The field names, enum spellings and the `type`-tagged node config follow the serde
attributes of the original `dsl/types.rs` (snake_case fields, `#[serde(tag = "type")]` on
`NodeConfig`, lowercase / snake_case enums), so documents written for that compiler import
unchanged. As with serde, every non-optional field is required and optional fields may be
omitted or null. Unlike serde, unknown fields are refused by the models (the JSON Schema says
`additionalProperties: false`, which structured LLM output needs); `workflows.dsl.documents`
turns them into warnings and drops them, so old documents still import.

Values are checked strictly ("3" is not a number, 1.0 is not an integer), as serde does.
Semantic rules (graph shape, ranges, references) are `workflows.analysis.validation`'s job, so that a
document that is merely wrong still parses and every problem can be reported at once.
"""

from __future__ import annotations

import copy
import functools
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

U32 = Annotated[int, Field(ge=0, le=U32_MAX)]
U64 = Annotated[int, Field(ge=0, le=U64_MAX)]
# UUIDs arrive as JSON strings; strict mode would only take uuid.UUID objects from Python.
LaxUUID = Annotated[UUID, Field(strict=False)]

NodeType = Literal["activity", "subflow", "ai_action", "n8n", "decision", "parallel", "wait", "human_task"]
NODE_TYPES: tuple[NodeType, ...] = (
    "activity",
    "subflow",
    "ai_action",
    "n8n",
    "decision",
    "parallel",
    "wait",
    "human_task",
)
AiProvider = Literal["anthropic", "openai", "google", "local"]
WaitType = Literal["timer", "signal", "condition"]
VariableType = Literal["string", "number", "boolean", "object", "array"]
TriggerType = Literal["manual", "schedule", "webhook", "event"]
ErrorAction = Literal["fail", "compensate", "ignore", "retry"]


class DSLModel(BaseModel):
    """Shared configuration: strict values, no unknown fields, finite numbers, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class Position(DSLModel):
    """Where the editor draws the node; no effect on execution."""

    x: float
    y: float


class RetryPolicy(DSLModel):
    """Temporal retry policy for the node's activity or child workflow."""

    max_attempts: U32 = Field(description="Attempts in total; 0 retries without limit.")
    initial_interval_ms: U64
    backoff_coefficient: float = Field(description="Multiplier between attempts; at least 1.")
    max_interval_ms: U64


class ActivityConfig(DSLModel):
    """Run a Temporal activity registered under `activity_name`."""

    type: Literal["activity"]
    activity_name: str
    input_mapping: dict[str, str] = Field(
        description="Activity input field -> text; `{{name}}` or `{{name.field}}` inserts a value."
    )
    output_variable: str | None = None


class SubflowConfig(DSLModel):
    """Run another workflow of the same tenant as a child workflow."""

    type: Literal["subflow"]
    workflow_id: str
    input_mapping: dict[str, str]
    output_variable: str | None = None


class AiActionConfig(DSLModel):
    """Ask a language model; the prompt is a template with `{{name}}` placeholders."""

    type: Literal["ai_action"]
    provider: AiProvider
    model: str
    prompt_template: str
    temperature: float
    max_tokens: U32
    use_local_model: bool
    output_schema: Any = Field(default=None, description="JSON Schema of the expected answer.")
    output_variable: str | None = None


class N8nConfig(DSLModel):
    """Run an n8n workflow through the integration worker."""

    type: Literal["n8n"]
    workflow_id: str
    webhook_path: str | None = None
    input_mapping: dict[str, str]
    wait_for_completion: bool
    timeout_seconds: U64 | None = None
    output_variable: str | None = None


class DecisionBranch(DSLModel):
    """One way out of a decision: taken when `condition` holds (see `workflows.dsl.expressions`)."""

    id: str
    condition: str
    label: str


class DecisionConfig(DSLModel):
    """Choose one outgoing edge: the first branch whose condition holds, else the default.

    A branch's edge is the outgoing edge whose `source_handle` is the branch id, or else whose
    condition expression is the branch condition. With no branches, the conditional outgoing
    edges are the branches and the unconditional one is the default.
    """

    type: Literal["decision"]
    condition_expression: str = Field(
        description="Optional subject: a branch condition that is a bare literal means `subject == literal`."
    )
    branches: list[DecisionBranch]
    default_branch: str | None = Field(
        default=None, description="Branch id, edge id or target node id taken when no branch matches."
    )


class ParallelConfig(DSLModel):
    """Run the listed successor nodes' branches concurrently until they join again."""

    type: Literal["parallel"]
    branches: list[str] = Field(description="Ids of the nodes that start each branch.")
    wait_for_all: bool = Field(description="False: continue after the first branch, cancel the others.")


class WaitConfig(DSLModel):
    """Wait for a timer, a signal, or a condition over the variables."""

    type: Literal["wait"]
    wait_type: WaitType
    duration_seconds: U64 | None = None
    signal_name: str | None = None
    timeout_seconds: U64 | None = None
    # Not in the original, which had nowhere to state the condition of a `condition` wait.
    condition_expression: str | None = Field(
        default=None, description="For wait_type `condition`: wait until this expression holds."
    )


class HumanTaskConfig(DSLModel):
    """Create a task for a person and wait for its completion signal."""

    type: Literal["human_task"]
    task_type: str
    title: str
    description: str | None = None
    assignee_expression: str | None = Field(
        default=None, description="Template for the assignee, e.g. `{{order.owner_email}}`."
    )
    form_schema: Any = None
    timeout_seconds: U64 | None = None
    output_variable: str | None = None


NodeConfig = Annotated[
    ActivityConfig
    | SubflowConfig
    | AiActionConfig
    | N8nConfig
    | DecisionConfig
    | ParallelConfig
    | WaitConfig
    | HumanTaskConfig,
    Field(discriminator="type"),
]


class WorkflowNode(DSLModel):
    """A step of the workflow; `config.type` must equal `node_type`."""

    id: str
    node_type: NodeType
    label: str
    position: Position
    config: NodeConfig
    retry_policy: RetryPolicy | None = None
    timeout_seconds: U64 | None = None


class EdgeCondition(DSLModel):
    """An expression (see `workflows.dsl.expressions`) that must hold for the edge to be taken."""

    expression: str
    label: str | None = None


class WorkflowEdge(DSLModel):
    """A transition from `source` to `target`."""

    id: str
    source: str
    target: str
    source_handle: str | None = None
    target_handle: str | None = None
    condition: EdgeCondition | None = None
    label: str | None = Field(
        default=None, description="Words the editor shows on an edge without a condition; no effect on runs."
    )


class WorkflowVariable(DSLModel):
    """A workflow input; its name is how templates and conditions refer to it."""

    name: str
    variable_type: VariableType
    default_value: Any = None
    required: bool
    description: str | None = None


class WorkflowTrigger(DSLModel):
    """How executions start; the config is free-form and read by the scheduler, not the compiler."""

    trigger_type: TriggerType
    config: Any


class ErrorHandlingPolicy(DSLModel):
    """What a failed node does to the workflow."""

    on_error: ErrorAction = Field(
        description="fail: stop, not retried; retry: stop, retryable by the workflow's retry policy; "
        "compensate: run the compensation workflow, then stop; ignore: record the error and go on."
    )
    compensation_workflow_id: str | None = None
    notification_channel: str | None = None


class WorkflowDSL(DSLModel):
    """A complete workflow document."""

    id: LaxUUID
    name: str
    tenant_id: LaxUUID
    version: U32
    nodes: list[WorkflowNode]
    edges: list[WorkflowEdge]
    variables: list[WorkflowVariable]
    triggers: list[WorkflowTrigger]
    error_policy: ErrorHandlingPolicy


@functools.cache
def _schema() -> dict[str, Any]:
    return WorkflowDSL.model_json_schema()


def workflow_json_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_schema())
