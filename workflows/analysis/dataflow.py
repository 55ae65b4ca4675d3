"""Which variables are set on every path to each node (a must-be-defined dataflow analysis).

A value is available at a node when it is a declared variable, or when on every path from
an entry some earlier node stores it as its `output_variable`. "Some path" is not enough: a
variable set on one branch of a decision is undefined after the branches join.

The sets are bit masks (Python ints) and the nodes are visited once in topological order:
available(n) = AND over predecessors p of (available(p) | set by p), each read checked as
its node is reached. The work is linear in the edges times the number of names / 30 (a
Python int digit), with no enumeration of paths. One refinement: at the
join of a parallel block that waits for all its branches, an edge arriving from one branch
also carries what every other branch sets on all of its own paths, since they have finished.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from workflows.analysis.graph import WorkflowGraph
from workflows.analysis.node_inputs import ParsedInputs, Use
from workflows.analysis.regions import ParallelBlock, ParallelLayout
from workflows.dsl.findings import UNDEFINED_VARIABLE, Finding, error


def undefined_variable_findings(
    graph: WorkflowGraph,
    declared: list[str],
    outputs: Mapping[str, str],
    parsed: ParsedInputs,
    layout: ParallelLayout,
) -> list[Finding]:
    """Every read of a name that is not set on all paths to it; `outputs` maps node -> name set."""
    index_of: dict[str, int] = {}  # name -> its bit
    for name in [*declared, *outputs.values()]:
        index_of.setdefault(name, len(index_of))
    setters: dict[str, list[str]] = defaultdict(list)
    for node_id, name in outputs.items():
        setters[name].append(node_id)
    declared_mask = 0
    for name in declared:
        declared_mask |= 1 << index_of[name]

    joins = _blocks_by_join(layout)
    predecessor_ids, successor_ids = graph.predecessor_ids, graph.successor_ids
    node_uses, edge_uses, outgoing = parsed.node_uses, parsed.edge_uses, graph.outgoing
    # A node's mask is kept only until its last successor has read it: the live masks are
    # the frontier of the walk, not one per node. (Masks grow with the number of names, so
    # keeping them all would take memory quadratic in the size of the workflow.)
    after: dict[str, int] = {}
    unread: dict[str, int] = {}
    findings: list[Finding] = []
    for node_id in graph.order:  # one pass: masks and checks together
        predecessors = predecessor_ids.get(node_id, ())
        if not predecessors:  # an entry node: the workflow's inputs only
            mask = declared_mask
        elif len(predecessors) == 1 and node_id not in joins:  # most nodes: no merge
            mask = after[predecessors[0]]
        else:
            flow = {source: after[source] for source in predecessors if source in after}
            blocks = joins.get(node_id)
            mask = _all_of(flow.values()) if blocks is None else _at_join(flow, blocks, layout)
        for source in predecessors:
            left = unread.get(source, 0) - 1
            if left == 0:
                del after[source], unread[source]
            elif left > 0:
                unread[source] = left

        for use in node_uses.get(node_id, ()):
            index = index_of.get(use.reference.path[0])
            if index is None or not mask >> index & 1:
                findings.append(_finding(use, index_of, setters, node_id, None, f"node {node_id!r}"))
        output = outputs.get(node_id)
        if output is not None:
            mask |= 1 << index_of[output]
        for edge in outgoing.get(node_id, ()):
            for use in edge_uses.get(edge.id, ()):
                index = index_of.get(use.reference.path[0])
                if index is None or not mask >> index & 1:
                    findings.append(_finding(use, index_of, setters, None, edge.id, f"edge {edge.id!r}"))
        readers = len(successor_ids.get(node_id, ()))
        if readers:
            after[node_id] = mask
            unread[node_id] = readers
    return findings


def _all_of(masks: Iterable[int]) -> int:
    """The names set in every one of `masks` (none when there are no masks)."""
    result = -1  # all bits
    for mask in masks:
        result &= mask
    return result if result != -1 else 0


def _blocks_by_join(layout: ParallelLayout) -> dict[str, list[ParallelBlock]]:
    """The parallel blocks by the node that joins them, innermost first."""
    joins: dict[str, list[ParallelBlock]] = defaultdict(list)
    for block in reversed(list(layout.blocks.values())):  # topological order reversed: inner first
        if block.join is not None:
            joins[block.join].append(block)
    return joins


def _at_join(flow: dict[str, int], blocks: list[ParallelBlock], layout: ParallelLayout) -> int:
    """What is set on every path into a node that joins `blocks` (innermost first); `flow`
    holds what each incoming edge's source leaves set.

    Arriving at the join from one branch of a wait-for-all block, the other branches have
    finished too: what each of them sets on all its paths is available as well. The blocks
    are taken innermost first, and each becomes one value for the block around it (the AND
    over its edges of what they carry, which is all the outer block and the join need), so
    every edge and every branch is handled once, however many nested blocks end here: O(E).
    """
    ending = {block.node_id for block in blocks}
    # Per parallel node ending here: (branch, mask) of what arrives from inside its block.
    arriving: dict[str, list[tuple[int, int]]] = defaultdict(list)
    outside: list[int] = []

    def arrive(node_id: str, mask: int, empty_branch: int | None = None) -> None:
        # An edge into the join comes from inside the innermost block that holds its source
        # (a block's nodes lead only to its own nodes or its join): that block ends here too.
        place = (node_id, empty_branch) if empty_branch is not None else layout.owner.get(node_id)
        if place is not None and place[0] in ending:
            arriving[place[0]].append((place[1], mask))
        else:
            outside.append(mask)

    blocks_by_node = {block.node_id: block for block in blocks}
    for source, mask in flow.items():
        block = blocks_by_node.get(source)
        empty = (
            None
            if block is None
            else next((i for i, branch in enumerate(block.branches) if not branch), None)
        )
        arrive(source, mask, empty)  # a parallel node leads to its join only by an empty branch
    for block in blocks:
        parts = arriving.pop(block.node_id, None)
        if parts is not None:
            arrive(block.node_id, _block_value(block, parts))
    return _all_of(outside)


def _block_value(block: ParallelBlock, parts: list[tuple[int, int]]) -> int:
    """What every edge from inside a block carries into its join, as one mask: each edge's
    own, and (waiting for all) what every other branch sets on all its paths, which is the
    union of the branches before and after it (running unions from both ends)."""
    if not block.wait_for_all:
        return _all_of(mask for _, mask in parts)
    count = len(block.branches)
    must = [-1] * count  # all bits: nothing arrived from the branch yet
    for branch, mask in parts:
        must[branch] &= mask
    sets = [mask if mask != -1 else 0 for mask in must]
    before = [0] * (count + 1)  # before[i]: what branches 0 … i-1 set
    after = [0] * (count + 1)  # after[i]: what branches i … count-1 set
    for index in range(count):
        before[index + 1] = before[index] | sets[index]
        after[count - 1 - index] = after[count - index] | sets[count - 1 - index]
    return _all_of(
        must[branch] | before[branch] | after[branch + 1] for branch in range(count) if must[branch] != -1
    )


def _finding(
    use: Use,
    index_of: dict[str, int],
    setters: dict[str, list[str]],
    node_id: str | None,
    edge_id: str | None,
    where: str,
) -> Finding:
    name = use.reference.root
    if name not in index_of:
        reason = "is neither a declared variable nor any node's output_variable"
    else:
        by = ", ".join(repr(setter) for setter in setters[name][:3])
        reason = f"is not set on every path to it (it is set by node {by})"
    return error(
        UNDEFINED_VARIABLE,
        f"{where}: {{{{{'.'.join(use.reference.path)}}}}} {reason}",
        node_id=node_id,
        edge_id=edge_id,
        path=use.path,
        position=use.reference.position,
    )
