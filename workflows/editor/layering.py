"""Which layer each node of the editor's graph goes in, and its place within the layer.

The graph may have cycles (drafts need not validate). Edges that close a cycle (back edges of
a depth-first search, in document order) are left out of the layering, so what remains is
acyclic and `networkx.topological_generations` gives the layers, top to bottom. Everything is
ordered by document position, so the same graph always gets the same layers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

ORDERING_SWEEPS = 4


@dataclass(frozen=True)
class GraphNode:
    """A node the drawing can place: it has an id, the first of that id in the document."""

    id: str
    label: str
    node_type: str
    index: int  # position in the document's nodes


@dataclass(frozen=True)
class GraphEdge:
    """An edge between two placeable nodes."""

    id: str
    index: int  # position in the document's edges: edge ids may repeat in a draft
    source: str
    target: str
    label: str


def back_edges(nodes: list[GraphNode], edges: list[GraphEdge]) -> set[int]:
    """Indexes of the edges a depth-first search finds going back to a node on its stack.

    Roots are taken in document order, entry candidates (no incoming edge) first, so the
    edge that closes a loop is the one drawn going back, as a reader would expect.
    """
    outgoing: dict[str, list[GraphEdge]] = defaultdict(list)
    has_incoming: set[str] = set()
    for edge in edges:
        outgoing[edge.source].append(edge)
        has_incoming.add(edge.target)
    roots = [node.id for node in nodes if node.id not in has_incoming]
    roots += [node.id for node in nodes if node.id in has_incoming]
    on_stack: set[str] = set()
    done: set[str] = set()
    back: set[int] = set()
    for root in roots:
        if root in done:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        on_stack.add(root)
        while stack:
            node_id, position = stack[-1]
            out = outgoing.get(node_id, [])
            if position == len(out):
                stack.pop()
                on_stack.discard(node_id)
                done.add(node_id)
                continue
            stack[-1] = (node_id, position + 1)
            edge = out[position]
            if edge.target in on_stack:
                back.add(edge.index)
            elif edge.target not in done:
                on_stack.add(edge.target)
                stack.append((edge.target, 0))
    return back


def ordered_layers(nodes: list[GraphNode], forward: list[GraphEdge]) -> list[list[str]]:
    """The node ids by layer, top to bottom, each layer in the order that untangles most
    crossings. `forward` are the edges without the back edges: they must not form a cycle."""
    index = {node.id: node.index for node in nodes}
    return _ordered(_layers(nodes, forward), forward, index)


def _layers(nodes: list[GraphNode], forward: list[GraphEdge]) -> list[list[str]]:
    """The nodes by layer (longest path from a start), each in document order."""
    digraph: nx.DiGraph[str] = nx.DiGraph()
    digraph.add_nodes_from(node.id for node in nodes)
    digraph.add_edges_from((edge.source, edge.target) for edge in forward)
    position = {node.id: node.index for node in nodes}
    return [
        sorted(generation, key=position.__getitem__) for generation in nx.topological_generations(digraph)
    ]


def _ordered(layers: list[list[str]], forward: list[GraphEdge], index: dict[str, int]) -> list[list[str]]:
    """Places within each layer by the barycentre of the neighbours' places, a few sweeps
    each way, to untangle crossings; ties keep document order."""
    predecessors: dict[str, list[str]] = defaultdict(list)
    successors: dict[str, list[str]] = defaultdict(list)
    for edge in forward:
        predecessors[edge.target].append(edge.source)
        successors[edge.source].append(edge.target)
    row = {node_id: float(number) for layer in layers for number, node_id in enumerate(layer)}

    def sweep(order: Iterable[int], neighbours: dict[str, list[str]]) -> None:
        for number in order:
            layer = layers[number]

            def key(node_id: str) -> tuple[float, int]:
                linked = neighbours.get(node_id)
                centre = sum(row[other] for other in linked) / len(linked) if linked else row[node_id]
                return centre, index[node_id]

            layer.sort(key=key)
            for place, node_id in enumerate(layer):
                row[node_id] = float(place)

    for _ in range(ORDERING_SWEEPS):
        sweep(range(1, len(layers)), predecessors)
        sweep(range(len(layers) - 2, -1, -1), successors)
    return layers
