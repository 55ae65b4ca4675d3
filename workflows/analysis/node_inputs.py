"""The templates and conditions of each node and edge, parsed, with the variables they read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from workflows.analysis.graph import WorkflowGraph
from workflows.dsl.expressions import (
    Expression,
    ExpressionError,
    Reference,
    TemplatePart,
    parse_expression,
    parse_template,
    references,
)
from workflows.dsl.findings import INVALID_EDGE, INVALID_NODE, Finding, PathPart, error, format_path
from workflows.dsl.models import (
    ActivityConfig,
    AiActionConfig,
    DecisionConfig,
    HumanTaskConfig,
    N8nConfig,
    SubflowConfig,
    WaitConfig,
    WorkflowNode,
)

Path = tuple[PathPart, ...]
FieldKind = Literal["template", "expression"]


class Use(NamedTuple):
    """A variable read at `path` in the document."""

    reference: Reference
    path: Path


@dataclass
class ParsedInputs:
    """Parsed fields, keyed by their document path, and the variables each node and edge reads.

    A node reads its fields before it runs; an edge's condition is read after its source ran.
    """

    templates: dict[Path, tuple[TemplatePart, ...]] = field(default_factory=dict)
    expressions: dict[Path, Expression] = field(default_factory=dict)
    node_uses: dict[str, list[Use]] = field(default_factory=dict)
    edge_uses: dict[str, list[Use]] = field(default_factory=dict)


def node_fields(node: WorkflowNode) -> Iterator[tuple[FieldKind, Path, str]]:
    """The node's templates and conditions as (kind, path inside the node, text)."""
    config = node.config
    if isinstance(config, ActivityConfig | SubflowConfig | N8nConfig):
        for key in sorted(config.input_mapping):
            yield "template", ("config", "input_mapping", key), config.input_mapping[key]
    elif isinstance(config, AiActionConfig):
        yield "template", ("config", "prompt_template"), config.prompt_template
    elif isinstance(config, HumanTaskConfig):
        yield "template", ("config", "title"), config.title
        if config.description is not None:
            yield "template", ("config", "description"), config.description
        if config.assignee_expression is not None:
            yield "template", ("config", "assignee_expression"), config.assignee_expression
    elif isinstance(config, DecisionConfig):
        if config.condition_expression.strip():
            yield "expression", ("config", "condition_expression"), config.condition_expression
        for index, branch in enumerate(config.branches):
            yield "expression", ("config", "branches", index, "condition"), branch.condition
    elif isinstance(config, WaitConfig) and (condition := config.condition_expression or "").strip():
        # A missing or blank condition is reported by the node's own checks.
        yield "expression", ("config", "condition_expression"), condition


def parse_inputs(graph: WorkflowGraph) -> tuple[ParsedInputs, list[Finding]]:
    """Parse every node's and edge's templates and conditions; syntax errors become findings."""
    parsed = ParsedInputs()
    findings: list[Finding] = []
    for node_id, node in graph.nodes.items():
        base: Path = ("nodes", graph.position[node_id])
        uses: list[Use] = []
        for kind, relative, text in node_fields(node):
            path = base + relative
            try:
                if kind == "template":
                    parts = parse_template(text)
                    parsed.templates[path] = parts
                    uses += [Use(part, path) for part in parts if isinstance(part, Reference)]
                else:
                    expression = parse_expression(text)
                    parsed.expressions[path] = expression
                    uses += [Use(reference, path) for reference in references(expression)]
            except ExpressionError as problem:
                findings.append(
                    error(
                        INVALID_NODE,
                        f"node {node_id!r}: {format_path(relative[1:])}: {problem.reason}",
                        node_id=node_id,
                        path=path,
                        position=problem.position,
                    )
                )
        parsed.node_uses[node_id] = uses
    for edge in graph.edges:
        if edge.condition is None:
            continue
        path = ("edges", graph.edge_position[edge.id], "condition", "expression")
        try:
            expression = parse_expression(edge.condition.expression)
        except ExpressionError as problem:
            findings.append(
                error(
                    INVALID_EDGE,
                    f"edge {edge.id!r}: condition: {problem.reason}",
                    edge_id=edge.id,
                    path=path,
                    position=problem.position,
                )
            )
            continue
        parsed.expressions[path] = expression
        parsed.edge_uses[edge.id] = [Use(reference, path) for reference in references(expression)]
    return parsed, findings
