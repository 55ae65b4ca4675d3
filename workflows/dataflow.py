"""Which variables are set on every path to each node (a must-be-defined dataflow analysis).

A value is available at a node when it is a declared variable, or when on every path from
the entry some earlier node stores it as its `output_variable`. "Some path" is not enough: a
variable set on one branch of a decision is undefined after the branches join.

The sets are bit masks (Python ints) and the nodes are visited once in topological order:
available(n) = AND over predecessors p of (available(p) | set by p). The work is linear in
the edges times the number of names / 64, with no enumeration of paths. One refinement: at the
join of a parallel block that waits for all its branches, an edge arriving from one branch
also carries what every other branch sets on all of its own paths, since they have finished.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from workflows.findings import UNDEFINED_VARIABLE, Finding, error
from workflows.graph import WorkflowGraph
from workflows.node_inputs import ParsedInputs, Use
from workflows.regions import ParallelBlock, ParallelLayout


def undefined_variable_findings(
    graph: WorkflowGraph,
    declared: list[str],
    outputs: Mapping[str, str],
    parsed: ParsedInputs,
    layout: ParallelLayout,
) -> list[Finding]:
    """Every read of a name that is not set on all paths to it; `outputs` maps node -> name set."""
    bit: dict[str, int] = {}
    for name in [*declared, *outputs.values()]:
        bit.setdefault(name, 1 << len(bit))
    setters: dict[str, list[str]] = defaultdict(list)
    for node_id, name in outputs.items():
        setters[name].append(node_id)
    declared_mask = 0
    for name in declared:
        declared_mask |= bit[name]

    joins = _waiting_blocks_by_join(graph, layout)
    available: dict[str, int] = {}
    after: dict[str, int] = {}
    for node_id in graph.order:
        predecessors = graph.predecessors(node_id)
        if node_id == graph.entry:
            mask = declared_mask
        elif len(predecessors) == 1 and node_id not in joins:  # most nodes: no merge
            mask = after[predecessors[0]]
        else:
            flow = {source: after[source] for source in predecessors if source in after}
            for block, branch_sets in joins.get(node_id, ()):
                _add_other_branches(flow, block.node_id, branch_sets)
            mask = _all_of(flow.values())
        available[node_id] = mask
        output = outputs.get(node_id)
        after[node_id] = mask | bit[output] if output is not None else mask

    findings: list[Finding] = []
    for node_id in graph.order:
        mask = available[node_id]
        for use in parsed.node_uses.get(node_id, ()):
            if not mask & bit.get(use.reference.root, 0):
                findings.append(_finding(use, bit, setters, node_id, None, f"node {node_id!r}"))
        for edge in graph.outgoing.get(node_id, ()):
            for use in parsed.edge_uses.get(edge.id, ()):
                if not after[node_id] & bit.get(use.reference.root, 0):
                    findings.append(_finding(use, bit, setters, None, edge.id, f"edge {edge.id!r}"))
    return findings


def _all_of(masks: Iterable[int]) -> int:
    """The names set in every one of `masks` (none when there are no masks)."""
    result = -1  # all bits
    for mask in masks:
        result &= mask
    return result if result != -1 else 0


def _waiting_blocks_by_join(
    graph: WorkflowGraph, layout: ParallelLayout
) -> dict[str, list[tuple[ParallelBlock, list[frozenset[str]]]]]:
    """Wait-for-all blocks by their join node, innermost first, with their branches' nodes."""
    joins: dict[str, list[tuple[ParallelBlock, list[frozenset[str]]]]] = defaultdict(list)
    for block in reversed(list(layout.blocks.values())):  # topological order reversed: inner first
        if block.wait_for_all and block.join is not None:
            joins[block.join].append((block, [frozenset(branch) for branch in block.branches]))
    return joins


def _add_other_branches(flow: dict[str, int], parallel: str, branch_sets: list[frozenset[str]]) -> None:
    """Arriving at the join from one branch of a wait-for-all block, the other branches have
    finished too: what each of them sets on all its paths to the join is available as well."""
    branch_of: dict[str, int] = {}
    for source in flow:
        for index, members in enumerate(branch_sets):
            if source in members or (source == parallel and not members):
                branch_of[source] = index
                break
    must = [
        _all_of(flow[source] for source, index in branch_of.items() if index == branch)
        for branch in range(len(branch_sets))
    ]
    for source, index in branch_of.items():
        for other, mask in enumerate(must):
            if other != index:
                flow[source] |= mask


def _finding(
    use: Use,
    bit: dict[str, int],
    setters: dict[str, list[str]],
    node_id: str | None,
    edge_id: str | None,
    where: str,
) -> Finding:
    name = use.reference.root
    if name not in bit:
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
