"""The workflow as a directed graph: usable edges, the entry nodes, reachability, cycles, order.

Every node without an incoming edge is an entry node: all of them start when the workflow
does (as the branches of one implicit parallel block where they can be laid out as one:
workflows.analysis.regions), as seed 000's compiler allows. A node is reachable when a path
leads to it from some entry; in an acyclic graph every node is, so a node nothing reaches is
one entered only through a loop (or through nodes themselves never reached).

Each check here is linear in the size of the graph: a heap-based topological sort that also
detects cycles, a traversal for reachability, and networkx's strongly and weakly connected
components and cycle search for the reports; the post-dominators take O(E log V). The
networkx graph is built on first use (a valid workflow needs none of those reports).
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass, field

import networkx as nx

from workflows.dsl.findings import (
    CYCLIC_GRAPH,
    DUPLICATE_ID,
    INVALID_EDGE,
    INVALID_NODE,
    ISOLATED_NODE,
    NO_ENTRY_NODE,
    UNREACHABLE_NODE,
    Finding,
    error,
    warning,
)
from workflows.dsl.models import WorkflowDSL, WorkflowEdge, WorkflowNode


@dataclass
class WorkflowGraph:
    """The usable part of a workflow's graph.

    `nodes` keeps the first node of each id and `edges` the edges whose ends exist; the rest
    is reported as findings. `entries` are the nodes without incoming edges, in document
    order. `order` is a topological order of the nodes reachable from them (document order
    breaks ties), empty when the graph has a cycle.
    """

    nodes: dict[str, WorkflowNode]
    position: dict[str, int]
    edges: list[WorkflowEdge]
    edge_position: dict[str, int]
    outgoing: dict[str, list[WorkflowEdge]]
    incoming: dict[str, list[WorkflowEdge]]
    successor_ids: dict[str, list[str]]
    predecessor_ids: dict[str, list[str]]
    entries: list[str] = field(default_factory=list)
    reachable: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)
    acyclic: bool = True

    @functools.cached_property
    def digraph(self) -> nx.DiGraph[str]:
        """The usable nodes and edges as a networkx graph (parallel edges merged)."""
        digraph: nx.DiGraph[str] = nx.DiGraph()
        digraph.add_nodes_from(self.nodes)
        digraph.add_edges_from((edge.source, edge.target) for edge in self.edges)
        return digraph

    @property
    def entry(self) -> str | None:
        """The first entry node in document order (None without any)."""
        return self.entries[0] if self.entries else None

    @functools.cached_property
    def _post_dominance(self) -> tuple[dict[str | None, str | None], str | None]:
        return _immediate_post_dominators(self)

    @property
    def post_dominators(self) -> dict[str | None, str | None]:
        """Each reachable node's immediate post-dominator (the first node every path from it
        reaches); None stands for the end of the workflow. Needs an analysable graph."""
        return self._post_dominance[0]

    @property
    def entries_join(self) -> str | None:
        """The first node every path from every entry reaches (where the entries' branches
        all meet); None: the end of the workflow. Needs an analysable graph."""
        return self._post_dominance[1]

    @property
    def analysable(self) -> bool:
        """Whether path-based checks can run: an entry node and no cycle."""
        return bool(self.entries) and self.acyclic

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
        node_id = node.id
        # Findings (and their `where`) are built only on the rare path: this loop and the
        # edges' run once per element of documents with tens of thousands of them.
        if not node_id.strip():
            findings.append(
                error(INVALID_NODE, "a node needs a non-blank id", node_id=node_id, path=("nodes", index))
            )
        if node_id in nodes:
            findings.append(
                error(
                    DUPLICATE_ID,
                    f"node id {node_id!r} is used more than once",
                    node_id=node_id,
                    path=("nodes", index),
                )
            )
            continue
        nodes[node_id] = node
        position[node_id] = index

    graph = _graph_of_edges(workflow, nodes, position, findings)
    order = _topological_order(graph, len(workflow.nodes))
    if len(order) < len(nodes):
        graph.acyclic = False
        findings += _cycles(graph)
    findings += _entries_and_reachability(graph)
    if graph.analysable:
        reachable = graph.reachable
        graph.order = order if len(reachable) == len(order) else [n for n in order if n in reachable]
    return graph, findings


def _graph_of_edges(
    workflow: WorkflowDSL,
    nodes: dict[str, WorkflowNode],
    position: dict[str, int],
    findings: list[Finding],
) -> WorkflowGraph:
    """Check the edges and build every adjacency map in one pass over them.

    `outgoing`/`incoming` keep every usable edge per node; `successor_ids`/`predecessor_ids`
    the distinct neighbours in the order of their first edge (parallel edges, e.g. two
    decision branches to one node, count once). Nodes without edges have no entry.
    """
    edges: list[WorkflowEdge] = []
    edge_position: dict[str, int] = {}
    outgoing: dict[str, list[WorkflowEdge]] = {}
    incoming: dict[str, list[WorkflowEdge]] = {}
    successor_ids: dict[str, list[str]] = {}
    predecessor_ids: dict[str, list[str]] = {}
    seen_ids: set[str] = set()
    seen_links: dict[tuple[str, str, str | None], str] = {}
    linked: set[tuple[str, str]] = set()  # (source, target) pairs already in successor_ids
    for index, edge in enumerate(workflow.edges):
        edge_id, source, target = edge.id, edge.source, edge.target
        if not edge_id.strip():
            findings.append(
                error(INVALID_EDGE, "an edge needs a non-blank id", edge_id=edge_id, path=("edges", index))
            )
        if edge_id in seen_ids:
            findings.append(
                error(
                    DUPLICATE_ID,
                    f"edge id {edge_id!r} is used more than once",
                    edge_id=edge_id,
                    path=("edges", index),
                )
            )
            continue
        seen_ids.add(edge_id)
        if source not in nodes or target not in nodes or source == target:
            findings += _unusable_edge_findings(edge, index, nodes)
            continue
        link = (source, target, edge.source_handle)
        if link in seen_links:
            findings.append(
                error(
                    INVALID_EDGE,
                    f"edge {edge_id!r} duplicates edge {seen_links[link]!r} ({source!r} -> {target!r})",
                    edge_id=edge_id,
                    path=("edges", index),
                )
            )
            continue
        seen_links[link] = edge_id
        edges.append(edge)
        edge_position[edge_id] = index
        if source in outgoing:
            outgoing[source].append(edge)
        else:
            outgoing[source] = [edge]
            successor_ids[source] = []
        if target in incoming:
            incoming[target].append(edge)
        else:
            incoming[target] = [edge]
            predecessor_ids[target] = []
        pair = (source, target)
        if pair not in linked:
            linked.add(pair)
            successor_ids[source].append(target)
            predecessor_ids[target].append(source)
    return WorkflowGraph(
        nodes, position, edges, edge_position, outgoing, incoming, successor_ids, predecessor_ids
    )


def _unusable_edge_findings(edge: WorkflowEdge, index: int, nodes: dict[str, WorkflowNode]) -> list[Finding]:
    """An edge with a missing end, or one that connects a node to itself."""
    where = {"edge_id": edge.id, "path": ("edges", index)}
    missing = [end for end in (edge.source, edge.target) if end not in nodes]
    if not missing:
        return [error(INVALID_EDGE, f"edge {edge.id!r} connects node {edge.source!r} to itself", **where)]
    findings = []
    for end in dict.fromkeys(missing):
        role = "source" if end == edge.source else "target"
        findings.append(error(INVALID_EDGE, f"edge {edge.id!r}: {role} node {end!r} does not exist", **where))
    return findings


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


def _entries_and_reachability(graph: WorkflowGraph) -> list[Finding]:
    if not graph.nodes:
        return [error(NO_ENTRY_NODE, "the workflow has no nodes", path=("nodes",))]
    has_predecessors = graph.predecessor_ids
    entries = [node for node in graph.nodes if node not in has_predecessors]
    if not entries:
        return [error(NO_ENTRY_NODE, "every node has an incoming edge, so the workflow has no entry node")]
    graph.entries = entries
    graph.reachable = _reachable_from(graph, entries)
    # The start of the main flow (the first entry with edges) is the one to connect from.
    start = next((node for node in entries if node in graph.outgoing), entries[0])
    findings = [
        error(
            UNREACHABLE_NODE,
            f"node {node!r} cannot be reached from any entry node (a node without incoming edges, "
            "where the workflow starts): it is entered only from a loop or from nodes never reached; "
            f"connect it from {start!r} or a node after it, or remove it",
            node_id=node,
            path=("nodes", graph.position[node]),
        )
        for node in graph.nodes
        if node not in graph.reachable
    ]
    if len(graph.nodes) > 1:
        # Not an error (it runs, beside the others), but rarely what was meant: a node added
        # and not yet connected.
        findings += [
            warning(
                ISOLATED_NODE,
                f"node {node!r} has no edges: it runs on its own when the workflow starts, beside "
                f"the other entry nodes; connect it from {start!r} or a node after it if it belongs "
                "in that flow",
                node_id=node,
                path=("nodes", graph.position[node]),
            )
            for node in entries
            if node not in graph.outgoing and node != start
        ]
    return findings


def _topological_order(graph: WorkflowGraph, document_length: int) -> list[str]:
    """Kahn's algorithm, the lowest document position first; shorter than the node count
    exactly when the graph has a cycle (the nodes on and after cycles never become ready).

    The heap holds document positions (ints compare fastest) of the ready nodes only, so
    this is O(E + V log width); the adjacency maps are read directly in the loop.
    """
    successor_ids, position = graph.successor_ids, graph.position
    remaining = {node: len(sources) for node, sources in graph.predecessor_ids.items()}
    ready = [position[node] for node in graph.nodes if node not in remaining]  # ascending
    node_at = [""] * document_length
    for node, index in position.items():
        node_at[index] = node
    order: list[str] = []
    pop, push = heapq.heappop, heapq.heappush
    while ready:
        node = node_at[pop(ready)]
        order.append(node)
        for successor in successor_ids.get(node, ()):
            count = remaining[successor] - 1
            remaining[successor] = count
            if count == 0:
                push(ready, position[successor])
    return order


def _reachable_from(graph: WorkflowGraph, entries: list[str]) -> set[str]:
    """The entries and their descendants (a plain traversal: networkx's costs more per node)."""
    successor_ids = graph.successor_ids
    reached = set(entries)
    pending = list(entries)
    while pending:
        for successor in successor_ids.get(pending.pop(), ()):
            if successor not in reached:
                reached.add(successor)
                pending.append(successor)
    return reached


def _immediate_post_dominators(graph: WorkflowGraph) -> tuple[dict[str | None, str | None], str | None]:
    """Each node's immediate post-dominator, and the entries' (the post-dominator of a start
    before them all); None stands for the end of the workflow.

    On a DAG one pass in reverse topological order is enough: a node's post-dominator is the
    nearest common ancestor, in the post-dominator tree, of its successors. Walking up one
    level at a time would make that O(V) per merge (a long chain with many shortcuts to its
    end: O(V * E)); each node instead keeps one jump pointer further up (skew-binary jumps,
    Myers 1983), which finds the ancestor in O(log V) steps and costs O(1) per node to set.
    """
    parent: dict[str | None, str | None] = {None: None}
    depth: dict[str | None, int] = {None: 0}
    jump: dict[str | None, str | None] = {None: None}

    def common_ancestor(first: str | None, second: str | None) -> str | None:
        if depth[first] < depth[second]:
            first, second = second, first
        target = depth[second]
        while depth[first] > target:
            first = jump[first] if depth[jump[first]] >= target else parent[first]
        while first != second:
            if jump[first] != jump[second]:
                first, second = jump[first], jump[second]
            else:
                first, second = parent[first], parent[second]
        return first

    for node in reversed(graph.order):
        successors = graph.successors(node)
        ancestor: str | None = successors[0] if successors else None
        for successor in successors[1:]:
            ancestor = common_ancestor(ancestor, successor)
        parent[node] = ancestor
        depth[node] = depth[ancestor] + 1
        above = jump[ancestor]
        if ancestor is not None and depth[ancestor] - depth[above] == depth[above] - depth[jump[above]]:
            jump[node] = jump[above]
        else:
            jump[node] = ancestor
    entries = [node for node in graph.entries if node in parent]
    joined: str | None = entries[0] if entries else None
    for entry in entries[1:]:
        joined = common_ancestor(joined, entry)
    return parent, joined
