"""The editor's picture of a workflow: a layered layout drawn as inline SVG, server-side.

The layout reads the draft as stored, so it draws documents that do not validate too: it
skips what it cannot place (nodes without an id, edges to nodes that do not exist) and
still draws a graph with cycles. Edges that close a cycle (back edges of a depth-first
search, in document order) are left out of the layering, so what remains is acyclic and
`networkx.topological_generations` gives the layers (top to bottom); the back edges are then
drawn too, each in its own lane right of the graph. Everything is ordered by document position, so the
same document always gives the same bytes. Every string from the document is escaped.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from workflows.dsl.findings import CYCLIC_GRAPH, Finding
from workflows.dsl.models import NODE_TYPES

NODE_WIDTH = 176
NODE_HEIGHT = 56
LAYER_GAP = 64  # room for an edge's label between two layers
NODE_GAP = 32  # between the nodes of a layer
MARGIN = 24
LANE_GAP = 26  # distance between the lanes of back edges right of the graph
LABEL_CHARS = 24
EDGE_LABEL_CHARS = 26
ORDERING_SWEEPS = 4


@dataclass(frozen=True)
class NodeBox:
    """A node as drawn: its box and what its findings say about it."""

    id: str
    label: str
    node_type: str
    x: float
    y: float
    state: str  # "error", "warning" or "ok"
    in_cycle: bool
    messages: tuple[str, ...]


@dataclass(frozen=True)
class EdgeLine:
    """An edge as drawn: an SVG path and where its label sits."""

    id: str
    index: int  # position in the document: edge ids may repeat in a draft
    source: str
    target: str
    path: str
    label: str
    label_x: float
    label_y: float
    back: bool
    state: str
    in_cycle: bool


@dataclass
class Drawing:
    """The laid-out graph; `back_edges` are the edges that close cycles."""

    width: float
    height: float
    nodes: list[NodeBox] = field(default_factory=list)
    edges: list[EdgeLine] = field(default_factory=list)

    @property
    def back_edges(self) -> list[EdgeLine]:
        return [edge for edge in self.edges if edge.back]


@dataclass(frozen=True)
class _Node:
    id: str
    label: str
    node_type: str
    index: int


@dataclass(frozen=True)
class _Edge:
    id: str
    index: int
    source: str
    target: str
    label: str


def _items(document: object, key: str) -> list[Mapping[str, Any]]:
    items = document.get(key) if isinstance(document, Mapping) else None
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _read_nodes(document: object) -> list[_Node]:
    nodes: list[_Node] = []
    seen: set[str] = set()
    for index, item in enumerate(_items(document, "nodes")):
        node_id = item.get("id")
        if not isinstance(node_id, str) or node_id in seen:
            continue  # reported by validation; a duplicate id cannot be told apart
        seen.add(node_id)
        nodes.append(_Node(node_id, _text(item.get("label")), _text(item.get("node_type")), index))
    return nodes


def _branch_labels(document: object) -> dict[tuple[str, str], str]:
    """(decision node id, branch id) -> the branch's label, for edges that name a branch."""
    labels: dict[tuple[str, str], str] = {}
    for item in _items(document, "nodes"):
        config = item.get("config")
        node_id = item.get("id")
        if not isinstance(node_id, str) or not isinstance(config, Mapping):
            continue
        for branch in _items(config, "branches"):
            branch_id, label = branch.get("id"), branch.get("label")
            if isinstance(branch_id, str):
                labels.setdefault((node_id, branch_id), _text(label) or _text(branch.get("condition")))
    return labels


def _edge_label(item: Mapping[str, Any], branch_labels: dict[tuple[str, str], str]) -> str:
    condition = item.get("condition")
    if isinstance(condition, Mapping):
        label = _text(condition.get("label")) or _text(condition.get("expression"))
        if label:
            return label
    handle = item.get("source_handle")
    if isinstance(handle, str) and handle:
        return branch_labels.get((_text(item.get("source")), handle), handle)
    return ""


def _read_edges(document: object, node_ids: set[str]) -> list[_Edge]:
    branch_labels = _branch_labels(document)
    edges: list[_Edge] = []
    for index, item in enumerate(_items(document, "edges")):
        source, target = item.get("source"), item.get("target")
        if not (isinstance(source, str) and isinstance(target, str)):
            continue
        if source not in node_ids or target not in node_ids:
            continue
        edges.append(_Edge(_text(item.get("id")), index, source, target, _edge_label(item, branch_labels)))
    return edges


def _back_edges(nodes: list[_Node], edges: list[_Edge]) -> set[int]:
    """Indexes of the edges a depth-first search finds going back to a node on its stack.

    Roots are taken in document order, entry candidates (no incoming edge) first, so the
    edge that closes a loop is the one drawn going back, as a reader would expect.
    """
    outgoing: dict[str, list[_Edge]] = defaultdict(list)
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


def _layers(nodes: list[_Node], forward: list[_Edge]) -> list[list[str]]:
    """The nodes by layer (longest path from a start), each in document order."""
    digraph: nx.DiGraph[str] = nx.DiGraph()
    digraph.add_nodes_from(node.id for node in nodes)
    digraph.add_edges_from((edge.source, edge.target) for edge in forward)
    position = {node.id: node.index for node in nodes}
    return [
        sorted(generation, key=position.__getitem__) for generation in nx.topological_generations(digraph)
    ]


def _ordered(layers: list[list[str]], forward: list[_Edge], index: dict[str, int]) -> list[list[str]]:
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


def _finding_marks(
    findings: Iterable[Finding],
) -> tuple[dict[str, list[Finding]], dict[str, list[Finding]], set[str], set[tuple[str, str]]]:
    by_node: dict[str, list[Finding]] = defaultdict(list)
    by_edge: dict[str, list[Finding]] = defaultdict(list)
    cycle_nodes: set[str] = set()
    cycle_links: set[tuple[str, str]] = set()
    for finding in findings:
        if finding.code == CYCLIC_GRAPH and finding.path:
            path = [str(part) for part in finding.path]
            cycle_nodes.update(path)
            cycle_links.update(itertools.pairwise(path))
            for node_id in dict.fromkeys(path):
                by_node[node_id].append(finding)
            continue
        if finding.node_id is not None:
            by_node[finding.node_id].append(finding)
        if finding.edge_id is not None:
            by_edge[finding.edge_id].append(finding)
    return by_node, by_edge, cycle_nodes, cycle_links


def _state(findings: list[Finding]) -> str:
    if any(finding.severity == "error" for finding in findings):
        return "error"
    return "warning" if findings else "ok"


def layout(document: object, findings: Iterable[Finding] = ()) -> Drawing:
    """Place the document's nodes and edges; `findings` mark what is in error."""
    nodes = _read_nodes(document)
    index = {node.id: node.index for node in nodes}
    edges = _read_edges(document, set(index))
    back = _back_edges(nodes, edges)
    forward = [edge for edge in edges if edge.index not in back]
    layers = _ordered(_layers(nodes, forward), forward, index)
    by_node, by_edge, cycle_nodes, cycle_links = _finding_marks(findings)

    # Layers run top to bottom; a layer's nodes sit side by side, centred on the widest layer.
    widest = max((len(layer) for layer in layers), default=0)
    layer_width = widest * NODE_WIDTH + max(widest - 1, 0) * NODE_GAP
    places: dict[str, tuple[float, float]] = {}
    for number, layer in enumerate(layers):
        offset = (layer_width - (len(layer) * NODE_WIDTH + (len(layer) - 1) * NODE_GAP)) / 2
        for place, node_id in enumerate(layer):
            places[node_id] = (
                MARGIN + offset + place * (NODE_WIDTH + NODE_GAP),
                MARGIN + number * (NODE_HEIGHT + LAYER_GAP),
            )

    boxes = []
    for node in nodes:
        x, y = places[node.id]
        marks = by_node.get(node.id, [])
        boxes.append(
            NodeBox(
                node.id,
                node.label,
                node.node_type,
                x,
                y,
                _state(marks),
                node.id in cycle_nodes,
                tuple(dict.fromkeys(finding.message for finding in marks)),
            )
        )

    lines: list[EdgeLine] = []
    right = MARGIN + layer_width
    lane = right + LANE_GAP
    seen_pairs: dict[tuple[str, str], int] = defaultdict(int)
    for edge in edges:
        state = _state(by_edge.get(edge.id, []))
        in_cycle = (edge.source, edge.target) in cycle_links
        if in_cycle:
            state = "error"
        pair = (edge.source, edge.target)
        repeat = seen_pairs[pair]
        seen_pairs[pair] += 1
        if edge.index in back:
            path, label_x, label_y = _back_path(places[edge.source], places[edge.target], lane)
            lane += LANE_GAP
        else:
            path, label_x, label_y = _forward_path(places[edge.source], places[edge.target])
            label_y += repeat * 14  # edges between the same two nodes: labels one under the other
        lines.append(
            EdgeLine(
                edge.id,
                edge.index,
                edge.source,
                edge.target,
                path,
                edge.label,
                label_x,
                label_y,
                edge.index in back,
                state,
                in_cycle,
            )
        )

    height = MARGIN * 2 + max(len(layers), 1) * NODE_HEIGHT + max(len(layers) - 1, 0) * LAYER_GAP
    width = max(lane - LANE_GAP + MARGIN, right + MARGIN, MARGIN * 2 + NODE_WIDTH)
    return Drawing(width, height, boxes, lines)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _forward_path(source: tuple[float, float], target: tuple[float, float]) -> tuple[str, float, float]:
    """From the bottom of the source to the top of the target."""
    start_x, start_y = source[0] + NODE_WIDTH / 2, source[1] + NODE_HEIGHT
    end_x, end_y = target[0] + NODE_WIDTH / 2, target[1]
    bend = max((end_y - start_y) / 2, 24)
    # An edge that skips layers bulges sideways, so it does not run through the nodes between.
    aside = NODE_WIDTH * 0.9 if end_y - start_y > LAYER_GAP + 1 else 0.0
    path = (
        f"M{_number(start_x)},{_number(start_y)} "
        f"C{_number(start_x + aside)},{_number(start_y + bend)} "
        f"{_number(end_x + aside)},{_number(end_y - bend)} "
        f"{_number(end_x)},{_number(end_y)}"
    )
    # The curve's midpoint (t = 1/2 of the cubic Bézier).
    return path, (start_x + end_x) / 2 + aside * 0.75, (start_y + end_y) / 2 + 4


def _back_path(
    source: tuple[float, float], target: tuple[float, float], lane: float
) -> tuple[str, float, float]:
    """Out of the source's right side, up a lane right of the graph, into the target's."""
    start_x, start_y = source[0] + NODE_WIDTH, source[1] + NODE_HEIGHT * 0.65
    end_x, end_y = target[0] + NODE_WIDTH, target[1] + NODE_HEIGHT * 0.35
    if source == target:  # a self-loop: a small lane of its own beside the node
        lane = start_x + LANE_GAP
    path = (
        f"M{_number(start_x)},{_number(start_y)} L{_number(lane)},{_number(start_y)} "
        f"L{_number(lane)},{_number(end_y)} L{_number(end_x)},{_number(end_y)}"
    )
    return path, lane, (start_y + end_y) / 2 + 4


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_svg(
    drawing: Drawing,
    *,
    node_url: Callable[[str], str] | None = None,
    edge_url: Callable[[str], str] | None = None,
    selected: str | None = None,
    target: str = "#side-panel",
) -> SafeString:
    """The drawing as an `<svg>` element. With `node_url`/`edge_url`, clicking a node or an
    edge loads that URL into `target` (htmx); `selected` marks a node id or `edge:<id>`."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-graph" data-testid="workflow-graph" '
        f'width="{_number(drawing.width)}" height="{_number(drawing.height)}" '
        f'viewBox="0 0 {_number(drawing.width)} {_number(drawing.height)}" role="group" '
        f'aria-label="Workflow graph">',
        "<defs>",
        *(
            f'<marker id="arrow-{state}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse" class="arrow arrow-{state}">'
            f'<path d="M0,0 L10,5 L0,10 z"/></marker>'
            for state in ("ok", "warning", "error")
        ),
        "</defs>",
        '<g class="wf-edges">',
    ]
    for edge in drawing.edges:
        parts.append(_edge_svg(edge, edge_url, selected, target))
    parts.append('</g><g class="wf-nodes">')
    for node in drawing.nodes:
        parts.append(_node_svg(node, node_url, selected, target))
    parts.append("</g></svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every document string above went through escape()


def _link(url: str | None, target: str, label: str) -> str:
    if url is None:
        return ""
    return (
        f' hx-get="{escape(url)}" hx-target="{escape(target)}" hx-push-url="false" tabindex="0" '
        f'role="button" aria-label="{escape(label)}"'
    )


def _edge_svg(
    edge: EdgeLine, edge_url: Callable[[str], str] | None, selected: str | None, target: str
) -> str:
    classes = ["wf-edge", f"state-{edge.state}"]
    if edge.back:
        classes.append("back-edge")
    if edge.in_cycle:
        classes.append("in-cycle")
    if selected == f"edge:{edge.id}":
        classes.append("is-selected")
    title = f"{edge.id}: {edge.source} → {edge.target}" + (f" ({edge.label})" if edge.label else "")
    link = _link(edge_url(edge.id) if edge_url else None, target, f"Edge {title}")
    label = ""
    if edge.label:
        label = (
            f'<text class="edge-label" x="{_number(edge.label_x)}" y="{_number(edge.label_y)}" '
            f'text-anchor="middle">{escape(_short(edge.label, EDGE_LABEL_CHARS))}</text>'
        )
    return (
        f'<g class="{" ".join(classes)}" data-testid="edge-{escape(edge.id)}" '
        f'data-edge-id="{escape(edge.id)}" '
        f'data-state="{edge.state}"{link}><title>{escape(title)}</title>'
        f'<path class="edge-hit" d="{edge.path}"/>'
        f'<path class="edge-line" d="{edge.path}" marker-end="url(#arrow-{edge.state})"/>{label}</g>'
    )


def _node_svg(node: NodeBox, node_url: Callable[[str], str] | None, selected: str | None, target: str) -> str:
    kind = node.node_type if node.node_type in NODE_TYPES else "unknown"
    classes = ["wf-node", f"node-{kind}", f"state-{node.state}"]
    if node.state == "error":
        classes.append("has-error")
    if node.in_cycle:
        classes.append("in-cycle")
    if selected == node.id:
        classes.append("is-selected")
    type_label = node.node_type.replace("_", " ") or "unknown type"
    title = "\n".join([f"{node.label or node.id} ({type_label}, id {node.id})", *node.messages])
    link = _link(node_url(node.id) if node_url else None, target, f"Node {node.label or node.id}")
    marker = ""
    if node.state != "ok":
        marker = (
            f'<circle class="finding-dot" cx="{NODE_WIDTH - 10}" cy="10" r="5"/>'
            if node.state == "warning"
            else f'<text class="finding-mark" x="{NODE_WIDTH - 10}" y="16" text-anchor="middle">!</text>'
        )
    return (
        f'<g class="{" ".join(classes)}" data-testid="node-{escape(node.id)}" '
        f'data-node-id="{escape(node.id)}" '
        f'data-state="{node.state}" transform="translate({_number(node.x)},{_number(node.y)})"{link}>'
        f"<title>{escape(title)}</title>"
        f'<rect width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8"/>'
        f'<text class="node-label" x="12" y="24">{escape(_short(node.label or node.id, LABEL_CHARS))}</text>'
        f'<text class="node-kind" x="12" y="42">{escape(_short(f"{type_label} · {node.id}", 30))}</text>'
        f"{marker}</g>"
    )
