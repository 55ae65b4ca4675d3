"""Each node's method, described for the templates: options, inputs, request, outputs.

Every value here is already Go: string literals from go_string, expressions from
go_expressions, durations and retry policies laid out as gofmt lays them out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from workflows.analysis.graph import WorkflowGraph
from workflows.analysis.validation import WorkflowAnalysis
from workflows.compiler.go_expressions import go_condition, go_input_value, go_text
from workflows.compiler.go_literals import comment_text, go_float, go_string, milliseconds, seconds
from workflows.compiler.layout import key_values
from workflows.dsl.expressions import TemplatePart
from workflows.dsl.models import (
    ActivityConfig,
    AiActionConfig,
    DecisionConfig,
    HumanTaskConfig,
    N8nConfig,
    RetryPolicy,
    SubflowConfig,
    WaitConfig,
    WorkflowNode,
)

CORE_WORKER = "omniroute-core"
AI_WORKER = "omniroute-ai"
INTEGRATION_WORKER = "omniroute-integration"

DEFAULT_ACTIVITY_TIMEOUT = 300
DEFAULT_AI_TIMEOUT = 120
DEFAULT_N8N_TIMEOUT = 300
DEFAULT_HUMAN_TASK_TIMEOUT = 86400
HUMAN_TASK_CREATE_TIMEOUT = 60
DEFAULT_RETRY = RetryPolicy(
    max_attempts=3, initial_interval_ms=1000, backoff_coefficient=2.0, max_interval_ms=30000
)


@dataclass(frozen=True)
class Activation:
    """Mark `target` (a Go string literal) to run, when `condition` (Go) holds if given."""

    target: str
    condition: str | None = None


@dataclass
class Route:
    """A decision's way out: its condition (Go; None for the default) and what it activates."""

    comment: str
    condition: str | None
    activations: list[Activation]


@dataclass
class Step:
    """A node's method; which attributes matter depends on `kind` (the node type)."""

    kind: str
    method: str
    comment: str
    node: str  # Go literal of the node id
    options: Sequence[str] = ()
    inputs: list[tuple[str, str]] = field(default_factory=list)
    request: list[tuple[str, str]] = field(default_factory=list)
    target: str = ""  # activity name or child workflow id (Go literal)
    output: str | None = None  # Go literal of the output variable
    signal: str = '""'
    timeout: str = "0"
    duration: str = ""
    condition: str = ""
    routes: list[Route] = field(default_factory=list)
    default: Route | None = None


class StepPlanner:
    """Describes node methods, collecting the activities and task queues they need."""

    def __init__(self, analysis: WorkflowAnalysis, graph: WorkflowGraph, certain: set[str]) -> None:
        self.analysis = analysis
        self.graph = graph
        self.certain = certain  # nodes that need no activation flag
        self.activity_stubs: set[str] = set()
        self.workers = {CORE_WORKER}

    def _template(self, node: WorkflowNode, *relative: str) -> tuple[TemplatePart, ...]:
        return self.analysis.inputs.templates[("nodes", self.graph.position[node.id], *relative)]

    def _inputs(self, node: WorkflowNode, mapping: dict[str, str]) -> list[tuple[str, str]]:
        return [
            (go_string(key), go_input_value(self._template(node, "config", "input_mapping", key)))
            for key in sorted(mapping)
        ]

    def step(self, node: WorkflowNode, method: str) -> Step:
        """The method of a node that is not a parallel node."""
        config = node.config
        step = Step(
            kind=node.node_type,
            method=method,
            comment=f"runs {node.node_type} node {comment_text(node.id)}: {comment_text(node.label)}.",
            node=go_string(node.id),
        )
        if isinstance(config, ActivityConfig | SubflowConfig | AiActionConfig | N8nConfig | HumanTaskConfig):
            step.output = go_string(config.output_variable) if config.output_variable is not None else None
        if isinstance(config, ActivityConfig):
            self._activity(step, node, config)
        elif isinstance(config, AiActionConfig):
            self._ai_action(step, node, config)
        elif isinstance(config, N8nConfig):
            self._n8n(step, node, config)
        elif isinstance(config, SubflowConfig):
            self._subflow(step, node, config)
        elif isinstance(config, HumanTaskConfig):
            self._human_task(step, node, config)
        elif isinstance(config, WaitConfig):
            self._wait(step, node, config)
        elif isinstance(config, DecisionConfig):
            self._decision(step, node)
        return step

    def _activity(self, step: Step, node: WorkflowNode, config: ActivityConfig) -> None:
        self.activity_stubs.add(config.activity_name)
        step.target = go_string(config.activity_name)
        timeout = node.timeout_seconds or DEFAULT_ACTIVITY_TIMEOUT
        step.options = _activity_options(None, timeout, node.retry_policy or DEFAULT_RETRY)
        step.inputs = self._inputs(node, config.input_mapping)

    def _ai_action(self, step: Step, node: WorkflowNode, config: AiActionConfig) -> None:
        self.workers.add(AI_WORKER)
        step.target = go_string("ExecuteAIAction")
        timeout = node.timeout_seconds or DEFAULT_AI_TIMEOUT
        step.options = _activity_options(AI_WORKER, timeout, node.retry_policy or DEFAULT_RETRY)
        step.request = [
            ('"provider"', go_string(config.provider)),
            ('"model"', go_string(config.model)),
            ('"prompt"', go_text(self._template(node, "config", "prompt_template"))),
            ('"temperature"', go_float(config.temperature)),
            ('"max_tokens"', str(config.max_tokens)),
            ('"use_local_model"', "true" if config.use_local_model else "false"),
        ]
        if config.output_schema is not None:
            step.request.append(('"output_schema"', go_string(_json(config.output_schema))))

    def _n8n(self, step: Step, node: WorkflowNode, config: N8nConfig) -> None:
        self.workers.add(INTEGRATION_WORKER)
        step.target = go_string("ExecuteN8nWorkflow")
        timeout = config.timeout_seconds or node.timeout_seconds or DEFAULT_N8N_TIMEOUT
        step.options = _activity_options(INTEGRATION_WORKER, timeout, node.retry_policy or DEFAULT_RETRY)
        step.inputs = self._inputs(node, config.input_mapping)
        step.request = [('"workflow_id"', go_string(config.workflow_id))]
        if config.webhook_path is not None:
            step.request.append(('"webhook_path"', go_string(config.webhook_path)))
        step.request += [
            ('"wait_for_completion"', "true" if config.wait_for_completion else "false"),
            ('"input"', "input"),
        ]

    def _subflow(self, step: Step, node: WorkflowNode, config: SubflowConfig) -> None:
        step.target = go_string(config.workflow_id)
        # The child's id extends the parent's: unique per run and node, and stable on replay.
        pairs = [("WorkflowID", "workflow.GetInfo(ctx).WorkflowExecution.ID + " + go_string("/" + node.id))]
        if node.timeout_seconds is not None:
            pairs.append(("WorkflowExecutionTimeout", seconds(node.timeout_seconds)))
        if node.retry_policy is not None:  # child workflows are not retried by default
            pairs.append(("RetryPolicy", _retry_policy(node.retry_policy)))
        step.options = tuple(key_values(pairs))
        step.inputs = self._inputs(node, config.input_mapping)

    def _human_task(self, step: Step, node: WorkflowNode, config: HumanTaskConfig) -> None:
        timeout = config.timeout_seconds or DEFAULT_HUMAN_TASK_TIMEOUT
        step.target = go_string("CreateHumanTask")
        step.signal = go_string("human-task/" + node.id)
        step.timeout = seconds(timeout, argument=True)
        create_timeout = node.timeout_seconds or HUMAN_TASK_CREATE_TIMEOUT
        step.options = _activity_options(None, create_timeout, node.retry_policy or DEFAULT_RETRY)
        step.request = [
            ('"node_id"', step.node),
            ('"signal_name"', step.signal),
            ('"task_type"', go_string(config.task_type)),
            ('"title"', go_text(self._template(node, "config", "title"))),
        ]
        if config.description is not None:
            step.request.append(('"description"', go_text(self._template(node, "config", "description"))))
        if config.assignee_expression is not None:
            step.request.append(
                ('"assignee"', go_text(self._template(node, "config", "assignee_expression")))
            )
        if config.form_schema is not None:
            step.request.append(('"form_schema"', go_string(_json(config.form_schema))))
        step.request.append(('"timeout_seconds"', str(timeout)))

    def _wait(self, step: Step, node: WorkflowNode, config: WaitConfig) -> None:
        step.kind = f"wait_{config.wait_type}"
        step.timeout = seconds(config.timeout_seconds, argument=True) if config.timeout_seconds else "0"
        step.signal = go_string(config.signal_name or "")
        if config.wait_type == "timer":
            step.duration = seconds(config.duration_seconds or 0, argument=True)
        elif config.wait_type == "condition":
            path = ("nodes", self.graph.position[node.id], "config", "condition_expression")
            step.condition = go_condition(self.analysis.inputs.expressions[path])

    def _decision(self, step: Step, node: WorkflowNode) -> None:
        routes = self.analysis.decisions[node.id]
        step.routes = [
            Route(
                f"Branch {comment_text(route.name)}: {comment_text(route.label)}",
                go_condition(route.condition) if route.condition is not None else None,
                self._activations(route.targets),
            )
            for route in routes.branches
        ]
        if routes.default is not None:
            step.default = Route(
                f"Default {comment_text(routes.default.name)}",
                None,
                self._activations(routes.default.targets),
            )

    def _activations(self, targets: tuple[str, ...]) -> list[Activation]:
        return [Activation(go_string(target)) for target in targets if target not in self.certain]


def _retry_policy(policy: RetryPolicy) -> str:
    return _retry_policy_literal(
        policy.initial_interval_ms, policy.backoff_coefficient, policy.max_interval_ms, policy.max_attempts
    )


# Most nodes share a few retry policies and timeouts: their Go text is made once.
@functools.lru_cache(maxsize=256)
def _retry_policy_literal(initial_ms: int, coefficient: float, maximum_ms: int, attempts: int) -> str:
    lines = key_values(
        [
            ("InitialInterval", milliseconds(initial_ms)),
            ("BackoffCoefficient", go_float(coefficient)),
            ("MaximumInterval", milliseconds(maximum_ms)),
            ("MaximumAttempts", str(attempts)),
        ]
    )
    return "&temporal.RetryPolicy{\n" + "\n".join("\t" + line for line in lines) + "\n}"


def _activity_options(task_queue: str | None, timeout: int, retry: RetryPolicy) -> tuple[str, ...]:
    return _activity_options_lines(task_queue, timeout, _retry_policy(retry))


@functools.lru_cache(maxsize=256)
def _activity_options_lines(task_queue: str | None, timeout: int, retry: str) -> tuple[str, ...]:
    pairs = []
    if task_queue is not None:
        pairs.append(("TaskQueue", go_string(task_queue)))
    pairs += [("StartToCloseTimeout", seconds(timeout)), ("RetryPolicy", retry)]
    return tuple(key_values(pairs))


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
