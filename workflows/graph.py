"""The workflow as a directed graph: usable edges, the entry node, reachability, cycles, order.

Each check here is linear in the size of the graph: a heap-based topological sort that also
detects cycles, a traversal for reachability, and networkx's strongly and weakly connected
components and cycle search for the reports. The networkx graph is built on first use (a
valid workflow needs none of those reports); the editor's layout will use it too.
"""

from __future__ import annotations

import functools
import heapq
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx  # type: ignore[import-untyped]  # networkx ships no type information

from workflows.dsl import WorkflowDSL, WorkflowEdge, WorkflowNode
from workflows.findings import (
    CYCLIC_GRAPH,
    DUPLICATE_ID,
    INVALID_EDGE,
    INVALID_NODE,
    NO_ENTRY_NODE,
    UNREACHABLE_NODE,
    Finding,
    error,
)


@dataclass
class WorkflowGraph:
    """The usable part of a workflow's graph.

    `nodes` keeps the first node of each id and `edges` the edges whose ends exist; the rest
    is reported as findings. `order` is a topological order of the nodes reachable from the
    entry (document order breaks ties), empty when the graph has a cycle.
    """

    nodes: dict[str, WorkflowNode]
    position: dict[str, int]
    edges: list[WorkflowEdge]
    edge_position: dict[str, int]
    outgoing: dict[str, list[WorkflowEdge]]
    incoming: dict[str, list[WorkflowEdge]]
    successor_ids: dict[str, list[str]]
    predecessor_ids: dict[str, list[str]]
    entry: str | None = None
    reachable: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)
    acyclic: bool = True

    @functools.cached_property
    def digraph(self) -> nx.DiGraph:
        """The usable nodes and edges as a networkx graph (parallel edges merged)."""
        digraph = nx.DiGraph()
        digraph.add_nodes_from(self.nodes)
        digraph.add_edges_from((edge.source, edge.target) for edge in self.edges)
        return digraph

    @property
    def analysable(self) -> bool:
        """Whether path-based checks can run: an entry node and no cycle."""
        return self.entry is not None and self.acyclic

    def successors(self, node_id: str) -> list[str]:
        """Distinct targets of the node's edges, in edge order."""
        return self.successor_ids.get(node_id, [])

    def predecessors(self, node_id: str) -> list[str]:
        """Distinct sources of the node's incoming edges, in edge order."""
        return self.predecessor_ids.get(node_id, [])


def build_graph(workflow: WorkflowDSL) -> tuple[WorkflowGraph, list[Finding]]:
    """The workflow's graph and the structural findings: ids, edges, entry, reachability, cycles."""
    findings: list[Finding] = []
    nodes: dict[str, WorkflowNode] = {}
    position: dict[str, int] = {}
    for index, node in enumerate(workflow.nodes):
        where = {"node_id": node.id, "path": ("nodes", index)}
        if not node.id.strip():
            findings.append(error(INVALID_NODE, "a node needs a non-blank id", **where))
        if node.id in nodes:
            findings.append(error(DUPLICATE_ID, f"node id {node.id!r} is used more than once", **where))
            continue
        nodes[node.id] = node
        position[node.id] = index

    edges, edge_position = _usable_edges(workflow, nodes, findings)
    outgoing: dict[str, list[WorkflowEdge]] = defaultdict(list)
    incoming: dict[str, list[WorkflowEdge]] = defaultdict(list)
    for edge in edges:
        outgoing[edge.source].append(edge)
        incoming[edge.target].append(edge)
    successor_ids = {node: _distinct([edge.target for edge in out]) for node, out in outgoing.items()}
    predecessor_ids = {node: _distinct([edge.source for edge in into]) for node, into in incoming.items()}
    graph = WorkflowGraph(
        nodes,
        position,
        edges,
        edge_position,
        dict(outgoing),
        dict(incoming),
        successor_ids,
        predecessor_ids,
    )

    order = _topological_order(graph)
    if len(order) < len(nodes):
        graph.acyclic = False
        findings += _cycles(graph)
    findings += _entry_and_reachability(graph)
    if graph.entry is not None and graph.acyclic:
        graph.order = [node for node in order if node in graph.reachable]
    return graph, findings


def _distinct(ids: list[str]) -> list[str]:
    return ids if len(ids) < 2 else list(dict.fromkeys(ids))


def _usable_edges(
    workflow: WorkflowDSL, nodes: dict[str, WorkflowNode], findings: list[Finding]
) -> tuple[list[WorkflowEdge], dict[str, int]]:
    edges: list[WorkflowEdge] = []
    edge_position: dict[str, int] = {}
    seen_ids: set[str] = set()
    seen_links: dict[tuple[str, str, str | None], str] = {}
    for index, edge in enumerate(workflow.edges):
        where = {"edge_id": edge.id, "path": ("edges", index)}
        if not edge.id.strip():
            findings.append(error(INVALID_EDGE, "an edge needs a non-blank id", **where))
        if edge.id in seen_ids:
            findings.append(error(DUPLICATE_ID, f"edge id {edge.id!r} is used more than once", **where))
            continue
        seen_ids.add(edge.id)
        missing = [end for end in (edge.source, edge.target) if end not in nodes]
        if missing:
            for end in dict.fromkeys(missing):
                role = "source" if end == edge.source else "target"
                findings.append(
                    error(INVALID_EDGE, f"edge {edge.id!r}: {role} node {end!r} does not exist", **where)
                )
            continue
        if edge.source == edge.target:
            findings.append(
                error(INVALID_EDGE, f"edge {edge.id!r} connects node {edge.source!r} to itself", **where)
            )
            continue
        link = (edge.source, edge.target, edge.source_handle)
        if link in seen_links:
            findings.append(
                error(
                    INVALID_EDGE,
                    f"edge {edge.id!r} duplicates edge {seen_links[link]!r} "
                    f"({edge.source!r} -> {edge.target!r})",
                    **where,
                )
            )
            continue
        seen_links[link] = edge.id
        edges.append(edge)
        edge_position[edge.id] = index
    return edges, edge_position


def _cycles(graph: WorkflowGraph) -> list[Finding]:
    findings: list[Finding] = []
    components = [c for c in nx.strongly_connected_components(graph.digraph) if len(c) > 1]
    for component in sorted(components, key=lambda c: min(graph.position[n] for n in c)):
        start = min(component, key=graph.position.__getitem__)
        cycle_edges = nx.find_cycle(graph.digraph.subgraph(component), source=start)
        path = [cycle_edges[0][0], *(target for _, target, *_ in cycle_edges)]
        findings.append(
            error(
                CYCLIC_GRAPH,
                "the workflow loops: " + " -> ".join(repr(node) for node in path),
                node_id=path[0],
                path=tuple(path),
            )
        )
    return findings


def _entry_and_reachability(graph: WorkflowGraph) -> list[Finding]:
    if not graph.nodes:
        return [error(NO_ENTRY_NODE, "the workflow has no nodes", path=("nodes",))]
    candidates = [node for node in graph.nodes if node not in graph.predecessor_ids]
    if not candidates:
        return [error(NO_ENTRY_NODE, "every node has an incoming edge, so the workflow has no entry node")]
    entry = candidates[0]
    if len(candidates) > 1:
        component_size: dict[str, int] = {}
        for component in nx.weakly_connected_components(graph.digraph):
            for node in component:
                component_size[node] = len(component)
        # The entry is the start of the largest connected part; stray nodes are then what is
        # reported, not the bulk of the workflow.
        entry = min(candidates, key=lambda node: (-component_size[node], graph.position[node]))
    graph.entry = entry
    graph.reachable = _reachable_from(graph, entry)
    return [
        error(
            UNREACHABLE_NODE,
            f"node {node!r} cannot be reached from the entry node {entry!r}",
            node_id=node,
            path=("nodes", graph.position[node]),
        )
        for node in graph.nodes
        if node not in graph.reachable
    ]


def _topological_order(graph: WorkflowGraph) -> list[str]:
    """Kahn's algorithm, the lowest document position first; shorter than the node count
    exactly when the graph has a cycle (the nodes on and after cycles never become ready)."""
    remaining = {node: len(graph.predecessors(node)) for node in graph.nodes}
    ready = [graph.position[node] for node, count in remaining.items() if count == 0]
    heapq.heapify(ready)
    by_position = {index: node for node, index in graph.position.items()}
    order: list[str] = []
    while ready:
        node = by_position[heapq.heappop(ready)]
        order.append(node)
        for successor in graph.successors(node):
            remaining[successor] -= 1
            if remaining[successor] == 0:
                heapq.heappush(ready, graph.position[successor])
    return order


def _reachable_from(graph: WorkflowGraph, entry: str) -> set[str]:
    """The entry and its descendants (a plain traversal: networkx's costs more per node)."""
    reached = {entry}
    pending = [entry]
    while pending:
        for successor in graph.successors(pending.pop()):
            if successor not in reached:
                reached.add(successor)
                pending.append(successor)
    return reached
