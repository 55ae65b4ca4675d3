"""Where a decision node goes: its branches matched to its outgoing edges, and its default.

A declared branch owns the outgoing edges whose `source_handle` is the branch id or, failing
that, whose condition is the branch's condition (the original compiler's rule). Without
declared branches, each conditional outgoing edge is a branch, in edge order. The default is
`default_branch` (a branch id, edge id or target node id) or else the unconditional edges
that no branch owns.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.analysis.graph import WorkflowGraph
from workflows.analysis.node_inputs import ParsedInputs
from workflows.dsl.expressions import Comparison, Expression, Literal
from workflows.dsl.findings import INVALID_EDGE, INVALID_NODE, NO_DEFAULT_BRANCH, Finding, error, warning
from workflows.dsl.models import DecisionConfig, WorkflowEdge


@dataclass(frozen=True)
class Route:
    """One way out of a decision; `condition` is None for the default."""

    name: str
    label: str
    condition: Expression | None
    targets: tuple[str, ...]


@dataclass(frozen=True)
class DecisionRoutes:
    """The branches in the order they are tried, then the default (if any)."""

    branches: tuple[Route, ...]
    default: Route | None


def decision_routes(
    graph: WorkflowGraph, node_id: str, config: DecisionConfig, parsed: ParsedInputs
) -> tuple[DecisionRoutes | None, list[Finding]]:
    """Match the decision's branches to its edges; None when some cannot be matched."""
    node_path = ("nodes", graph.position[node_id])
    where = {"node_id": node_id, "path": node_path}
    outgoing = graph.outgoing.get(node_id, [])
    findings: list[Finding] = []
    if len(outgoing) < 2:
        findings.append(
            error(INVALID_NODE, f"decision node {node_id!r} needs at least 2 outgoing edges", **where)
        )
    subject = parsed.expressions.get((*node_path, "config", "condition_expression"))
    claimed: set[str] = set()
    branches: list[Route] = []
    complete = True
    seen_branch_ids: set[str] = set()
    # The edges by handle and by condition, looked up per branch: a decision with many
    # branches would otherwise scan all its edges once per branch.
    by_handle: dict[str, list[WorkflowEdge]] = {}
    by_condition: dict[str, list[WorkflowEdge]] = {}
    for edge in outgoing:
        if edge.source_handle is not None:
            by_handle.setdefault(edge.source_handle, []).append(edge)
        elif edge.condition is not None:
            by_condition.setdefault(edge.condition.expression.strip(), []).append(edge)
    for index, branch in enumerate(config.branches):
        branch_path = (*node_path, "config", "branches", index)
        if branch.id in seen_branch_ids:
            findings.append(
                error(
                    INVALID_NODE,
                    f"decision node {node_id!r}: branch id {branch.id!r} is used twice",
                    node_id=node_id,
                    path=branch_path,
                )
            )
        seen_branch_ids.add(branch.id)
        edges = by_handle.get(branch.id) or by_condition.get(branch.condition.strip(), [])
        if not edges:
            findings.append(
                error(
                    INVALID_NODE,
                    f"decision node {node_id!r}: branch {branch.id!r} ({branch.condition!r}) "
                    "matches no outgoing edge (by source_handle or condition)",
                    node_id=node_id,
                    path=(*branch_path, "condition"),
                )
            )
            complete = False
            continue
        claimed.update(edge.id for edge in edges)
        condition = parsed.expressions.get((*branch_path, "condition"))
        if condition is None:  # a syntax error, already reported
            complete = False
            continue
        if subject is not None and isinstance(condition, Literal):
            condition = Comparison("==", subject, condition, condition.position)
        branches.append(Route(branch.id, branch.label, condition, _targets(edges)))

    if not config.branches:
        for edge in outgoing:
            if edge.condition is None:
                continue
            claimed.add(edge.id)
            condition = parsed.expressions.get(
                ("edges", graph.edge_position[edge.id], "condition", "expression")
            )
            if condition is None:
                complete = False
                continue
            branches.append(Route(edge.id, edge.condition.label or "", condition, (edge.target,)))

    default_edges = _default_edges(config, outgoing, claimed, by_handle)
    if config.default_branch is not None and not default_edges:
        findings.append(
            error(
                INVALID_NODE,
                f"decision node {node_id!r}: default_branch {config.default_branch!r} leads nowhere: "
                "no edge out of the node has it as its branch, its id or its target",
                node_id=node_id,
                path=(*node_path, "config", "default_branch"),
            )
        )
        complete = False
    claimed.update(edge.id for edge in default_edges)
    for edge in outgoing:
        if edge.id in claimed:
            continue
        reason = (
            "its condition matches none of the decision's branches"
            if edge.condition is not None
            else "it is neither a branch of the decision nor its default"
        )
        findings.append(
            error(
                INVALID_EDGE,
                f"edge {edge.id!r} from decision node {node_id!r}: {reason}",
                edge_id=edge.id,
                path=("edges", graph.edge_position[edge.id]),
            )
        )
        complete = False

    default = None
    if default_edges:
        name = config.default_branch or default_edges[0].id
        default = Route(name, "default", None, _targets(default_edges))
    else:
        findings.append(
            warning(
                NO_DEFAULT_BRANCH,
                f"decision node {node_id!r} has no default branch: the node fails when no condition holds",
                **where,
            )
        )
    if not complete or len(outgoing) < 2:
        return None, findings
    return DecisionRoutes(tuple(branches), default), findings


def _default_edges(
    config: DecisionConfig,
    outgoing: list[WorkflowEdge],
    claimed: set[str],
    by_handle: dict[str, list[WorkflowEdge]],
) -> list[WorkflowEdge]:
    chosen = config.default_branch
    if chosen is None:
        return [edge for edge in outgoing if edge.condition is None and edge.id not in claimed]
    return (
        by_handle.get(chosen, [])
        or [edge for edge in outgoing if edge.id == chosen]
        or [edge for edge in outgoing if edge.target == chosen]
    )


def _targets(edges: list[WorkflowEdge]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(edge.target for edge in edges))
