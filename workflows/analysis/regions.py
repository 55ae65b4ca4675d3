"""Parallel blocks: which nodes each branch of a parallel node runs, and where they join.

A parallel node's branches run from its successors up to its immediate post-dominator (the
first node every path from it reaches: the join), or to the end of the workflow. For the
branches to run as separate goroutines, the block must be entered only through the parallel
node and its branches must not share nodes before the join.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from workflows.analysis.graph import WorkflowGraph
from workflows.dsl.findings import INVALID_NODE, Finding, error
from workflows.dsl.models import ParallelConfig


@dataclass(frozen=True)
class ParallelBlock:
    """A parallel node's branches (node ids in topological order, per configured branch)."""

    node_id: str
    join: str | None  # None: the branches run to the end of the workflow
    branches: tuple[tuple[str, ...], ...]
    wait_for_all: bool
    nodes: frozenset[str]  # every node of every branch


@dataclass
class ParallelLayout:
    """Every well-formed parallel block, and the innermost branch each node belongs to."""

    blocks: dict[str, ParallelBlock] = field(default_factory=dict)
    owner: dict[str, tuple[str, int]] = field(default_factory=dict)


def parallel_layout(graph: WorkflowGraph, configured: set[str]) -> tuple[ParallelLayout, list[Finding]]:
    """Lay out the parallel nodes in `configured` (those whose branches match their edges).

    Needs an acyclic graph with an entry node.
    """
    layout = ParallelLayout()
    parallels = [node for node in graph.order if node in configured]
    if not parallels:
        return layout, []
    post_dominator = _immediate_post_dominators(graph)
    topological_index = {node: index for index, node in enumerate(graph.order)}
    findings: list[Finding] = []
    for node_id in parallels:
        join = post_dominator[node_id]
        config = graph.nodes[node_id].config
        if not isinstance(config, ParallelConfig):
            continue
        block = _block(graph, node_id, config, join, topological_index)
        if isinstance(block, Finding):
            findings.append(block)
            continue
        layout.blocks[node_id] = block
        # Parallels come in topological order, so an inner block overwrites its outer one.
        for index, branch in enumerate(block.branches):
            for member in branch:
                layout.owner[member] = (node_id, index)
    return layout, findings


def _immediate_post_dominators(graph: WorkflowGraph) -> dict[str | None, str | None]:
    """Each node's immediate post-dominator; None stands for the end of the workflow.

    networkx's `immediate_dominators` (on the reversed graph) iterates to a fixed point and
    suits any graph; on a DAG, one pass in reverse topological order is enough: a node's
    post-dominator is the nearest common ancestor, in the post-dominator tree, of its
    successors. Several times faster on large workflows.
    """
    parent: dict[str | None, str | None] = {None: None}
    depth: dict[str | None, int] = {None: 0}

    def common_ancestor(first: str | None, second: str | None) -> str | None:
        while first != second:
            if depth[first] >= depth[second]:
                first = parent[first]
            else:
                second = parent[second]
        return first

    for node in reversed(graph.order):
        successors = graph.successors(node)
        ancestor: str | None = successors[0] if successors else None
        for successor in successors[1:]:
            ancestor = common_ancestor(ancestor, successor)
        parent[node] = ancestor
        depth[node] = depth[ancestor] + 1
    return parent


def _block(
    graph: WorkflowGraph,
    node_id: str,
    config: ParallelConfig,
    join: str | None,
    topological_index: dict[str, int],
) -> ParallelBlock | Finding:
    where = {"node_id": node_id, "path": ("nodes", graph.position[node_id])}
    branch_of: dict[str, int] = {}
    branches: list[tuple[str, ...]] = []
    meeting = "at the join node " + repr(join) if join else "at the end of the workflow"
    for index, start in enumerate(config.branches):
        members: list[str] = []
        if start in branch_of:
            return error(
                INVALID_NODE,
                f"branch {config.branches[branch_of[start]]!r} of parallel node {node_id!r} leads to "
                f"{start!r}, the start of another branch; branches may only meet {meeting}",
                **where,
            )
        if start != join:
            queue = deque([start])
            branch_of[start] = index
            while queue:
                current = queue.popleft()
                members.append(current)
                for successor in graph.successors(current):
                    if successor == join:
                        continue
                    owner = branch_of.get(successor)
                    if owner is None:
                        branch_of[successor] = index
                        queue.append(successor)
                    elif owner != index:
                        return error(
                            INVALID_NODE,
                            f"branches {config.branches[owner]!r} and {start!r} of parallel node "
                            f"{node_id!r} both lead to node {successor!r}; branches may only meet {meeting}",
                            **where,
                        )
        branches.append(tuple(sorted(members, key=topological_index.__getitem__)))
    for member in branch_of:
        for predecessor in graph.predecessors(member):
            if predecessor != node_id and predecessor not in branch_of:
                return error(
                    INVALID_NODE,
                    f"node {member!r} in a branch of parallel node {node_id!r} is also entered from "
                    f"node {predecessor!r} outside the parallel block",
                    **where,
                )
    return ParallelBlock(node_id, join, tuple(branches), config.wait_for_all, frozenset(branch_of))
