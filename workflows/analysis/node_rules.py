"""Checks of each node's own configuration: required settings, ranges, names."""

from __future__ import annotations

from workflows.analysis.graph import WorkflowGraph
from workflows.dsl.expressions import is_identifier
from workflows.dsl.findings import (
    INVALID_EDGE,
    INVALID_NODE,
    MISSING_TIMEOUT,
    SINGLE_BRANCH_PARALLEL,
    UNLIMITED_RETRIES,
    Finding,
    PathPart,
    error,
    warning,
)
from workflows.dsl.models import (
    ActivityConfig,
    AiActionConfig,
    HumanTaskConfig,
    N8nConfig,
    ParallelConfig,
    RetryPolicy,
    SubflowConfig,
    WaitConfig,
    WorkflowNode,
)

# Go's time.Duration is an int64 of nanoseconds; longer durations do not compile.
MAX_SECONDS = (2**63 - 1) // 10**9
MAX_MILLISECONDS = (2**63 - 1) // 10**6
# temporal.RetryPolicy.MaximumAttempts is an int32.
MAX_ATTEMPTS = 2**31 - 1
MAX_TEMPERATURE = 2.0
# Limit of the AI worker's token counter (an int32 in the generated request).
MAX_TOKENS = 2**31 - 1


class _NodeChecker:
    def __init__(self, graph: WorkflowGraph, node: WorkflowNode) -> None:
        self.graph = graph
        self.node = node
        self.base: tuple[PathPart, ...] = ("nodes", graph.position[node.id])
        self.findings: list[Finding] = []

    def fail(self, message: str, *field: PathPart) -> None:
        """Report an invalid_node error at `field` inside the node."""
        self.findings.append(
            error(
                INVALID_NODE,
                f"node {self.node.id!r}: {message}",
                node_id=self.node.id,
                path=self.base + field,
            )
        )

    def warn(self, code: str, message: str, *field: PathPart) -> None:
        """Report a warning at `field` inside the node."""
        self.findings.append(
            warning(code, f"node {self.node.id!r}: {message}", node_id=self.node.id, path=self.base + field)
        )

    def require_text(self, value: str | None, name: str) -> None:
        """The config field `name` must hold some non-blank text."""
        if value is None or not value.strip():
            self.fail(f"{name} is required", "config", name)

    def seconds(self, value: int | None, *field: PathPart) -> None:
        """A duration, if given, must be positive and fit a Go time.Duration."""
        if value is not None and not 1 <= value <= MAX_SECONDS:
            self.fail(f"{field[-1]} must be between 1 and {MAX_SECONDS} seconds", *field)

    def output_variable(self, name: str | None) -> None:
        """An output variable is read like a variable, so it must be a plain name."""
        if name is not None and not is_identifier(name):
            self.fail(
                f"output_variable {name!r} must be a name of letters, digits and _ not starting with a digit",
                "config",
                "output_variable",
            )

    def retry_policy(self, policy: RetryPolicy) -> None:
        """Values Temporal accepts: intervals of at least 1 ms, backoff of at least 1."""
        field = ("retry_policy",)
        if policy.max_attempts > MAX_ATTEMPTS:
            self.fail(f"retry_policy.max_attempts must be at most {MAX_ATTEMPTS}", *field, "max_attempts")
        if policy.max_attempts == 0:
            self.warn(
                UNLIMITED_RETRIES,
                "retry_policy.max_attempts is 0: retries never stop",
                *field,
                "max_attempts",
            )
        for name in ("initial_interval_ms", "max_interval_ms"):
            value = getattr(policy, name)
            if not 1 <= value <= MAX_MILLISECONDS:
                self.fail(f"retry_policy.{name} must be between 1 and {MAX_MILLISECONDS}", *field, name)
        if policy.max_interval_ms < policy.initial_interval_ms:
            self.fail(
                "retry_policy.max_interval_ms must not be below initial_interval_ms",
                *field,
                "max_interval_ms",
            )
        if policy.backoff_coefficient < 1:
            self.fail("retry_policy.backoff_coefficient must be at least 1", *field, "backoff_coefficient")


def node_findings(graph: WorkflowGraph, node: WorkflowNode) -> list[Finding]:
    """Problems with the node's configuration and its parallel branches' edges."""
    check = _NodeChecker(graph, node)
    config = node.config
    if node.node_type != config.type:
        check.fail(f"node_type {node.node_type!r} does not match config type {config.type!r}", "node_type")
    check.seconds(node.timeout_seconds, "timeout_seconds")
    if node.retry_policy is not None:
        check.retry_policy(node.retry_policy)
    if isinstance(config, ActivityConfig | SubflowConfig | AiActionConfig | N8nConfig | HumanTaskConfig):
        check.output_variable(config.output_variable)
    # Decisions' branches are checked against their edges in `workflows.analysis.decisions`.
    if isinstance(config, ActivityConfig):
        _activity(check, config)
    elif isinstance(config, SubflowConfig):
        _subflow(check, config)
    elif isinstance(config, AiActionConfig):
        _ai_action(check, config)
    elif isinstance(config, N8nConfig):
        _n8n(check, config)
    elif isinstance(config, ParallelConfig):
        _parallel(check, config)
    elif isinstance(config, WaitConfig):
        _wait(check, config)
    elif isinstance(config, HumanTaskConfig):
        _human_task(check, config)
    return check.findings


def _activity(check: _NodeChecker, config: ActivityConfig) -> None:
    check.require_text(config.activity_name, "activity_name")
    if check.node.timeout_seconds is None:
        check.warn(
            MISSING_TIMEOUT, "the activity has no timeout_seconds; it gets 5 minutes", "timeout_seconds"
        )


def _subflow(check: _NodeChecker, config: SubflowConfig) -> None:
    check.require_text(config.workflow_id, "workflow_id")


def _ai_action(check: _NodeChecker, config: AiActionConfig) -> None:
    check.require_text(config.model, "model")
    check.require_text(config.prompt_template, "prompt_template")
    if not 0 <= config.temperature <= MAX_TEMPERATURE:
        check.fail(f"temperature must be between 0 and {MAX_TEMPERATURE}", "config", "temperature")
    if not 1 <= config.max_tokens <= MAX_TOKENS:
        check.fail(f"max_tokens must be between 1 and {MAX_TOKENS}", "config", "max_tokens")


def _n8n(check: _NodeChecker, config: N8nConfig) -> None:
    check.require_text(config.workflow_id, "workflow_id")
    check.seconds(config.timeout_seconds, "config", "timeout_seconds")


def _parallel(check: _NodeChecker, config: ParallelConfig) -> None:
    graph, node_id = check.graph, check.node.id
    branches = config.branches
    if not branches:
        check.fail("a parallel node needs at least one branch", "config", "branches")
    elif len(branches) == 1:
        check.warn(SINGLE_BRANCH_PARALLEL, "a single branch runs nothing in parallel", "config", "branches")
    successors = set(graph.successors(node_id))
    seen: set[str] = set()
    for index, start in enumerate(branches):
        if start in seen:
            check.fail(f"branch {start!r} is listed twice", "config", "branches", index)
        elif start not in successors:
            check.fail(f"branch {start!r} is not the target of one of its edges", "config", "branches", index)
        seen.add(start)
    for edge in graph.outgoing.get(node_id, []):
        # The node id too: a parallel node with a bad edge cannot be laid out.
        where = {"node_id": node_id, "edge_id": edge.id, "path": ("edges", graph.edge_position[edge.id])}
        if edge.target not in seen:
            check.findings.append(
                error(
                    INVALID_EDGE,
                    f"edge {edge.id!r} leads from parallel node {node_id!r} to {edge.target!r}, "
                    "which is not one of its branches",
                    **where,
                )
            )
        if edge.condition is not None:
            check.findings.append(
                error(
                    INVALID_EDGE,
                    f"edge {edge.id!r} from parallel node {node_id!r} cannot have a condition",
                    **where,
                )
            )


def _wait(check: _NodeChecker, config: WaitConfig) -> None:
    check.seconds(config.duration_seconds, "config", "duration_seconds")
    check.seconds(config.timeout_seconds, "config", "timeout_seconds")
    if config.wait_type == "timer" and config.duration_seconds is None:
        check.fail("a timer wait needs duration_seconds", "config", "duration_seconds")
    elif config.wait_type == "signal":
        check.require_text(config.signal_name, "signal_name")
    elif config.wait_type == "condition":
        check.require_text(config.condition_expression, "condition_expression")


def _human_task(check: _NodeChecker, config: HumanTaskConfig) -> None:
    check.require_text(config.task_type, "task_type")
    check.require_text(config.title, "title")
    check.seconds(config.timeout_seconds, "config", "timeout_seconds")
