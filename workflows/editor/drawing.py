"""The editor's picture of a workflow: where each node and edge goes, drawn by `graph_svg`.

The layout reads the draft as stored, so it draws documents that do not validate too: it
skips what it cannot place (nodes without an id, edges to nodes that do not exist) and
still draws a graph with cycles. `layering` puts the nodes in layers, top to bottom, without
the edges that close cycles; those are drawn too, each in its own lane right of the graph.
Everything is ordered by document position, so the same document always gives the same
drawing.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.findings import CYCLIC_GRAPH, Finding
from workflows.dsl.json_values import JSONValue
from workflows.editor.editing import decision_branches
from workflows.editor.label_lines import wrap_label
from workflows.editor.layering import GraphEdge, GraphNode, back_edges, ordered_layers

NODE_WIDTH = 176
NODE_HEIGHT = 56  # with a one-line label; each more line adds LABEL_LINE_HEIGHT
LABEL_FONT_SIZE = 13
LABEL_LINE_HEIGHT = 16
LABEL_LEFT = 12
# The label's lines stop short of the box's right side, where a finding's mark sits.
LABEL_WIDTH = NODE_WIDTH - LABEL_LEFT - 22
MAX_LABEL_LINES = 10  # a longer label ends in "…" (the node's tooltip and panel show it all)
LAYER_GAP = 64  # room for an edge's label between two layers
NODE_GAP = 32  # between the nodes of a layer
MARGIN = 24
LANE_GAP = 26  # distance between the lanes of back edges right of the graph


@dataclass(frozen=True)
class NodeBox:
    """A node as drawn: its box, its label's lines and what its findings say about it."""

    id: str
    label: str
    node_type: str
    x: float
    y: float
    state: str  # "error", "warning" or "ok"
    in_cycle: bool
    messages: tuple[str, ...]
    lines: tuple[str, ...] = ()
    height: float = NODE_HEIGHT

    @property
    def kind_y(self) -> float:
        """The baseline of the line under the label (the node's type)."""
        return label_baseline(max(len(self.lines), 1) - 1) + 18


def label_baseline(line: int) -> float:
    """The baseline of the label's line number `line` (from 0), from the box's top."""
    return 24 + line * LABEL_LINE_HEIGHT


def label_lines(label: str) -> tuple[str, ...]:
    """The label wrapped to the box's width (at least one line, maybe empty)."""
    return wrap_label(label, width=LABEL_WIDTH, font_size=LABEL_FONT_SIZE, max_lines=MAX_LABEL_LINES) or ("",)


def box_height(lines: tuple[str, ...]) -> float:
    return NODE_HEIGHT + (max(len(lines), 1) - 1) * LABEL_LINE_HEIGHT


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


def _items(parent: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = parent.get(key)
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _read_nodes(document: WorkflowDocument) -> list[GraphNode]:
    nodes: list[GraphNode] = []
    seen: set[str] = set()
    for index, item in enumerate(_items(document, "nodes")):
        node_id = item.get("id")
        if not isinstance(node_id, str) or node_id in seen:
            continue  # reported by validation; a duplicate id cannot be told apart
        seen.add(node_id)
        nodes.append(GraphNode(node_id, _text(item.get("label")), _text(item.get("node_type")), index))
    return nodes


def _branch_labels(document: WorkflowDocument) -> dict[tuple[str, str], str]:
    """(decision node id, branch id) -> the branch's label, for edges that name a branch."""
    return {
        (node_id, branch_id): words
        for node_id, branches in decision_branches(document).items()
        for branch_id, words in branches
    }


def _edge_label(item: Mapping[str, Any], branch_labels: dict[tuple[str, str], str]) -> str:
    """What the edge says: its own words (a condition's label, a plain label), else its
    condition, else the name of the decision branch it takes."""
    condition = item.get("condition")
    condition = condition if isinstance(condition, Mapping) else {}
    label = _text(condition.get("label")) or _text(item.get("label")) or _text(condition.get("expression"))
    if label:
        return label
    handle = item.get("source_handle")
    if isinstance(handle, str) and handle:
        return branch_labels.get((_text(item.get("source")), handle), handle)
    return ""


def _read_edges(document: WorkflowDocument, node_ids: set[str]) -> list[GraphEdge]:
    branch_labels = _branch_labels(document)
    edges: list[GraphEdge] = []
    for index, item in enumerate(_items(document, "edges")):
        source, target = item.get("source"), item.get("target")
        if not (isinstance(source, str) and isinstance(target, str)):
            continue
        if source not in node_ids or target not in node_ids:
            continue
        edges.append(
            GraphEdge(_text(item.get("id")), index, source, target, _edge_label(item, branch_labels))
        )
    return edges


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


@dataclass(frozen=True)
class Place:
    """Where a node's box goes: its top left corner, its height, its layer and the bottom of
    the layer's tallest box."""

    x: float
    y: float
    height: float
    layer: int
    layer_bottom: float


def layout(
    document: JSONValue,
    findings: Iterable[Finding] = (),
    describe: Callable[[Finding], str] = lambda finding: finding.message,
) -> Drawing:
    """Place the document's nodes and edges; `findings` mark what is in error, and each
    node's tooltip lists what `describe` says of its findings.

    Takes any JSON value, as the draft is stored: one that is not an object draws nothing.
    Boxes never overlap: a box is as tall as its wrapped label, and each layer as tall as
    its tallest box.
    """
    drawn: WorkflowDocument = document if isinstance(document, dict) else {}
    nodes = _read_nodes(drawn)
    edges = _read_edges(drawn, {node.id for node in nodes})
    back = back_edges(nodes, edges)
    forward = [edge for edge in edges if edge.index not in back]
    layers = ordered_layers(nodes, forward)
    by_node, by_edge, cycle_nodes, cycle_links = _finding_marks(findings)
    lines = {node.id: label_lines(node.label or node.id) for node in nodes}
    heights = {node_id: box_height(node_lines) for node_id, node_lines in lines.items()}

    # Layers run top to bottom; a layer's nodes sit side by side, centred on the widest layer.
    widest = max((len(layer) for layer in layers), default=0)
    layer_width = widest * NODE_WIDTH + max(widest - 1, 0) * NODE_GAP
    places: dict[str, Place] = {}
    top: float = MARGIN
    for number, layer in enumerate(layers):
        offset = (layer_width - (len(layer) * NODE_WIDTH + (len(layer) - 1) * NODE_GAP)) / 2
        bottom = top + max(heights[node_id] for node_id in layer)
        for number_in_layer, node_id in enumerate(layer):
            x = MARGIN + offset + number_in_layer * (NODE_WIDTH + NODE_GAP)
            places[node_id] = Place(x, top, heights[node_id], number, bottom)
        top = bottom + LAYER_GAP

    boxes = []
    for node in nodes:
        place = places[node.id]
        marks = by_node.get(node.id, [])
        boxes.append(
            NodeBox(
                node.id,
                node.label,
                node.node_type,
                place.x,
                place.y,
                _state(marks),
                node.id in cycle_nodes,
                tuple(dict.fromkeys(describe(finding) for finding in marks)),
                lines[node.id],
                place.height,
            )
        )

    drawn_lines: list[EdgeLine] = []
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
        drawn_lines.append(
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

    height = max(top - LAYER_GAP, MARGIN + NODE_HEIGHT) + MARGIN
    width = max(lane - LANE_GAP + MARGIN, right + MARGIN, MARGIN * 2 + NODE_WIDTH)
    return Drawing(width, height, boxes, drawn_lines)


def coordinate(value: float) -> str:
    """A coordinate as the SVG is written: at most one decimal, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _forward_path(source: Place, target: Place) -> tuple[str, float, float]:
    """From the bottom of the source to the top of the target."""
    start_x, start_y = source.x + NODE_WIDTH / 2, source.y + source.height
    end_x, end_y = target.x + NODE_WIDTH / 2, target.y
    bend = max((end_y - start_y) / 2, 24)
    # An edge that skips layers bulges sideways, so it does not run through the nodes between.
    aside = NODE_WIDTH * 0.9 if target.layer - source.layer > 1 else 0.0
    path = (
        f"M{coordinate(start_x)},{coordinate(start_y)} "
        f"C{coordinate(start_x + aside)},{coordinate(start_y + bend)} "
        f"{coordinate(end_x + aside)},{coordinate(end_y - bend)} "
        f"{coordinate(end_x)},{coordinate(end_y)}"
    )
    if aside:  # the curve's midpoint (t = 1/2 of the cubic Bézier)
        return path, (start_x + end_x) / 2 + aside * 0.75, (start_y + end_y) / 2 + 4
    # Between two layers the label sits in the gap under the source's layer, clear of its boxes.
    return path, (start_x + end_x) / 2, (source.layer_bottom + end_y) / 2 + 4


def _back_path(source: Place, target: Place, lane: float) -> tuple[str, float, float]:
    """Out of the source's right side, up a lane right of the graph, into the target's."""
    start_x, start_y = source.x + NODE_WIDTH, source.y + source.height * 0.65
    end_x, end_y = target.x + NODE_WIDTH, target.y + target.height * 0.35
    if source == target:  # a self-loop: a small lane of its own beside the node
        lane = start_x + LANE_GAP
    path = (
        f"M{coordinate(start_x)},{coordinate(start_y)} L{coordinate(lane)},{coordinate(start_y)} "
        f"L{coordinate(lane)},{coordinate(end_y)} L{coordinate(end_x)},{coordinate(end_y)}"
    )
    return path, lane, (start_y + end_y) / 2 + 4
