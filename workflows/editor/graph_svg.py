"""The editor's graph as inline SVG, rendered server-side from a `drawing.Drawing`.

Every string from the document is escaped; nodes and edges carry the htmx attributes that
open them in the side panel. The same drawing always gives the same bytes. A node's label is
drawn on as many lines as `drawing` wrapped it into; a graph members may change has a port
under each node to drag a connection from (static/js/app.js does the dragging).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from workflows.dsl.models import NODE_TYPES
from workflows.editor.drawing import (
    LABEL_LEFT,
    NODE_WIDTH,
    Drawing,
    EdgeLine,
    NodeBox,
    coordinate,
    label_baseline,
)

EDGE_LABEL_CHARS = 26


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_svg(
    drawing: Drawing,
    *,
    node_url: Callable[[str], str] | None = None,
    edge_url: Callable[[str], str] | None = None,
    selected: str | None = None,
    target: str = "#side-panel",
    connectable: bool = False,
) -> SafeString:
    """The drawing as an `<svg>` element. With `node_url`/`edge_url`, clicking a node or an
    edge loads that URL into `target` (htmx); `selected` marks a node id or `edge:<id>`;
    `connectable` draws the ports that connections are dragged from."""
    connect = 'data-connectable="true" ' if connectable else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-graph" data-testid="workflow-graph" '
        f'{connect}width="{coordinate(drawing.width)}" height="{coordinate(drawing.height)}" '
        f'viewBox="0 0 {coordinate(drawing.width)} {coordinate(drawing.height)}" role="group" '
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
        parts.append(_node_svg(node, node_url, selected, target, connectable))
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
            f'<text class="edge-label" x="{coordinate(edge.label_x)}" y="{coordinate(edge.label_y)}" '
            f'text-anchor="middle">{escape(_short(edge.label, EDGE_LABEL_CHARS))}</text>'
        )
    return (
        f'<g class="{" ".join(classes)}" data-testid="edge-{escape(edge.id)}" '
        f'data-edge-id="{escape(edge.id)}" '
        f'data-state="{edge.state}"{link}><title>{escape(title)}</title>'
        f'<path class="edge-hit" d="{edge.path}"/>'
        f'<path class="edge-line" d="{edge.path}" marker-end="url(#arrow-{edge.state})"/>{label}</g>'
    )


def _node_svg(
    node: NodeBox, node_url: Callable[[str], str] | None, selected: str | None, target: str, connectable: bool
) -> str:
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
    if connectable:
        marker += (
            f'<circle class="connect-port" cx="{NODE_WIDTH // 2}" cy="{coordinate(node.height)}" r="6">'
            "<title>Drag to another node to connect them</title></circle>"
        )
    if node.state != "ok":
        marker = (
            f'<circle class="finding-dot" cx="{NODE_WIDTH - 10}" cy="10" r="5"/>'
            if node.state == "warning"
            else f'<text class="finding-mark" x="{NODE_WIDTH - 10}" y="16" text-anchor="middle">!</text>'
        )
    label = "".join(
        f'<tspan x="{LABEL_LEFT}" y="{coordinate(label_baseline(number))}">{escape(line)}</tspan>'
        for number, line in enumerate(node.lines)
    )
    return (
        f'<g class="{" ".join(classes)}" data-testid="node-{escape(node.id)}" '
        f'data-node-id="{escape(node.id)}" '
        f'data-state="{node.state}" transform="translate({coordinate(node.x)},{coordinate(node.y)})"{link}>'
        f"<title>{escape(title)}</title>"
        f'<rect width="{NODE_WIDTH}" height="{coordinate(node.height)}" rx="8"/>'
        f'<text class="node-label">{label}</text>'
        f'<text class="node-kind" x="{LABEL_LEFT}" y="{coordinate(node.kind_y)}">{escape(type_label)}</text>'
        f"{marker}</g>"
    )
