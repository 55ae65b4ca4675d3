"""Parallel blocks: which nodes each branch of a parallel node runs, and where they join.

A parallel node's branches run from its successors up to its immediate post-dominator (the
first node every path from it reaches: the join), or to the end of the workflow. For the
branches to run as separate goroutines, the block must be entered only through the parallel
node and its branches must not share nodes before the join.

Whatever the shape, this is O(V + E) after the post-dominators (`WorkflowGraph`, O(E log V)):
blocks are laid out innermost first, so the walk of an outer block steps over a nested block
(from its parallel node straight to its join) instead of walking through it again at each
level of nesting. (A block that is not well-formed is walked through by the block around it:
the work is then O(V + E) per level of such blocks, which WORKFLOW_MAX_DEPTH bounds.)

A workflow with several entry nodes starts them all at once: they are laid out as one more
block, under ENTRY_BLOCK, with a branch per entry, waiting for all, joined where every path
from every entry meets (`WorkflowGraph.entries_join`). When their branches share nodes before
that (entry `a` and entry `b` both lead to `x`, and then on to different places), there is
no such block, and the entries run one after the other in the workflow's own sequence, in
topological order, like the rest of it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from workflows.analysis.graph import WorkflowGraph
from workflows.dsl.findings import INVALID_NODE, Finding, error
from workflows.dsl.models import ParallelConfig

# The key of the entry nodes' block in `ParallelLayout.blocks` and `.owner`: it has no node
# of its own, and no node of a valid workflow has a blank id.
ENTRY_BLOCK = ""


@dataclass(frozen=True)
class ParallelBlock:
    """A parallel node's branches: for each configured branch, the nodes it runs itself, in
    topological order. A block nested in a branch is there by its parallel node (and its
    join); the nodes inside it are in the nested block's branches."""

    node_id: str
    join: str | None  # None: the branches run to the end of the workflow
    branches: tuple[tuple[str, ...], ...]
    wait_for_all: bool


@dataclass
class ParallelLayout:
    """Every well-formed parallel block, in topological order of their parallel nodes (the
    entry nodes' block, ENTRY_BLOCK, first when there is one), and the innermost branch each
    node belongs to."""

    blocks: dict[str, ParallelBlock] = field(default_factory=dict)
    owner: dict[str, tuple[str, int]] = field(default_factory=dict)


def parallel_layout(graph: WorkflowGraph, configured: set[str]) -> tuple[ParallelLayout, list[Finding]]:
    """Lay out the parallel nodes in `configured` (those whose branches match their edges),
    and the entry nodes when there are several.

    Needs an acyclic graph with an entry node.
    """
    layout = ParallelLayout()
    parallels = [node for node in graph.order if node in configured]
    several_entries = len(graph.entries) > 1
    if not parallels and not several_entries:
        return layout, []
    post_dominator = graph.post_dominators
    topological_index = {node: index for index, node in enumerate(graph.order)}
    laid_out: dict[str, ParallelBlock] = {}
    refused: dict[str, Finding] = {}
    stepped_over_by: dict[str, str] = {}  # a laid-out block -> the block whose walk stepped over it
    for node_id in reversed(parallels):  # innermost first
        config = graph.nodes[node_id].config
        if not isinstance(config, ParallelConfig):
            continue
        walk = _BlockWalk(graph, layout, laid_out, stepped_over_by)
        block = walk.run(node_id, config, post_dominator[node_id], topological_index)
        if isinstance(block, Finding):
            refused[node_id] = block
            continue
        laid_out[node_id] = block
        for inner in walk.stepped_over:
            stepped_over_by[inner] = node_id
        for index, branch in enumerate(block.branches):
            for member in branch:
                layout.owner[member] = (node_id, index)
    blocks = {node_id: laid_out[node_id] for node_id in parallels if node_id in laid_out}
    if several_entries:
        # Outermost of all, so laid out last; a refusal is no finding (see the module's doc).
        entries = ParallelConfig(type="parallel", branches=list(graph.entries), wait_for_all=True)
        walk = _BlockWalk(graph, layout, laid_out, stepped_over_by)
        block = walk.run(ENTRY_BLOCK, entries, graph.entries_join, topological_index)
        if isinstance(block, ParallelBlock):
            blocks = {ENTRY_BLOCK: block, **blocks}
            for index, branch in enumerate(block.branches):
                for member in branch:
                    layout.owner[member] = (ENTRY_BLOCK, index)
    layout.blocks = blocks
    return layout, [refused[node_id] for node_id in parallels if node_id in refused]


class _BlockWalk:
    """One parallel node's branches, walked from their starts to the join.

    A well-formed block nested in a branch is entered only through its parallel node and
    left only through its join, so the walk goes from that parallel node straight to its
    join, and a node inside it (or inside a block it stepped over in turn) counts as inside
    the walked block: `stepped_over_by` leads from a nested block to the outermost one
    laid out around it, shortened as it is followed (so each lookup costs O(1), amortized).
    """

    def __init__(
        self,
        graph: WorkflowGraph,
        layout: ParallelLayout,
        nested: dict[str, ParallelBlock],
        stepped_over_by: dict[str, str],
    ) -> None:
        self.graph = graph
        self.layout = layout
        self.nested = nested
        self.stepped_over_by = stepped_over_by
        self.branch_of: dict[str, int] = {}
        self.stepped_over: set[str] = set()

    def run(
        self, node_id: str, config: ParallelConfig, join: str | None, topological_index: dict[str, int]
    ) -> ParallelBlock | Finding:
        graph, branch_of = self.graph, self.branch_of
        where = {"node_id": node_id, "path": ("nodes", graph.position.get(node_id, 0))}
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
                    for successor in self._onward(current):
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
                                f"{node_id!r} both lead to node {successor!r}; branches may only meet "
                                f"{meeting}",
                                **where,
                            )
            branches.append(tuple(sorted(members, key=topological_index.__getitem__)))
        for member in branch_of:
            for predecessor in graph.predecessors(member):
                if predecessor != node_id and not self._inside(predecessor):
                    return error(
                        INVALID_NODE,
                        f"node {member!r} in a branch of parallel node {node_id!r} is also entered from "
                        f"node {predecessor!r} outside the parallel block",
                        **where,
                    )
        return ParallelBlock(node_id, join, tuple(branches), config.wait_for_all)

    def _onward(self, node_id: str) -> list[str] | tuple[str, ...]:
        """Where a branch goes on from the node: past a nested block, straight to its join."""
        inner = self.nested.get(node_id)
        if inner is None:
            return self.graph.successors(node_id)
        self.stepped_over.add(node_id)
        return () if inner.join is None else (inner.join,)

    def _inside(self, node_id: str) -> bool:
        """Whether the node is in the walked block: one of its own nodes, or inside a block
        it stepped over."""
        if node_id in self.branch_of:
            return True
        place = self.layout.owner.get(node_id)
        return place is not None and self._outermost(place[0]) in self.stepped_over

    def _outermost(self, parallel: str) -> str:
        """The outermost block laid out so far around a laid-out block."""
        stepped_over_by = self.stepped_over_by
        outermost = parallel
        while outermost in stepped_over_by:
            outermost = stepped_over_by[outermost]
        while parallel != outermost:  # shorten the way for the next lookup
            further = stepped_over_by[parallel]
            stepped_over_by[parallel] = outermost
            parallel = further
        return outermost
