"""A run's graph: the editor's drawing of the workflow, and a layer over it with each node's state.

The workflow is drawn exactly as the editor draws it (workflows.editor.drawing and
graph_svg, without links or findings). The states are a second SVG of the same size laid over
the first: one group per node, at the node's place, holding an outline and a label coloured
by the state. A live frame replaces the inside of one node's group (or, when the run ends, the
whole layer), so the drawing itself never changes while the run goes on.

Node ids may hold any text; the groups' element ids are digests of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from runs.models import Run, RunEvent
from workflows.editor.drawing import NODE_WIDTH, Drawing, box_height, coordinate, label_lines, layout
from workflows.editor.graph_svg import render_svg

STATE_LABELS = {
    "pending": "pending",
    "running": "running",
    "waiting": "waiting",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "skipped": "skipped",
}
PILL_WIDTH = 74
PILL_HEIGHT = 16
OUTLINE = 3  # how far the state's outline sits outside the node's box


def node_dom_id(node_id: str) -> str:
    """The element id of a node's group in the state layer (any node id gives a valid one)."""
    return "run-node-" + hashlib.sha256(node_id.encode()).hexdigest()[:16]


def recorded_states(events: Iterable[RunEvent]) -> dict[str, str]:
    """Node id -> the state its latest event left it in, for the run's own nodes (a subflow's
    nodes are recorded under the subflow node's path, and are not drawn)."""
    states: dict[str, str] = {}
    for event in events:
        if event.source or not event.node_id:
            continue
        state = event_state(event)
        if state:
            states[event.node_id] = state
    return states


def event_state(event: RunEvent) -> str:
    """The state a node event puts its node in ("" for an event that is not a node's)."""
    if event.kind in ("node_started", "node_retrying"):
        return "running"
    if event.kind == "node_waiting":
        return "waiting"
    if event.kind == "node_finished":
        return event.status if event.status in ("succeeded", "failed", "cancelled") else "failed"
    return ""


def shown_state(run: Run, recorded: str | None) -> str:
    """What a node is shown as: its recorded state while the run goes on; once the run has
    ended, a node that never started was skipped, and one still running or waiting (a run
    terminated, or stopped before it could say so) was cancelled."""
    if not run.is_finished:
        return recorded or "pending"
    if recorded is None:
        return "skipped"
    return "cancelled" if recorded in ("running", "waiting") else recorded


@dataclass(frozen=True)
class RunGraph:
    """The drawing and the state layer over it, both SVG elements of the same size."""

    drawing: SafeString
    states: SafeString
    empty: bool


def _document(run: Run) -> dict[str, Any]:
    return run.document if isinstance(run.document, dict) else {}


def run_graph(run: Run, recorded: Mapping[str, str]) -> RunGraph:
    """The run's workflow as the editor draws it, with every node's state over it."""
    drawing = layout(_document(run))
    return RunGraph(
        drawing=render_svg(drawing), states=state_layer(run, drawing, recorded), empty=not drawing.nodes
    )


def state_layer(run: Run, drawing: Drawing, recorded: Mapping[str, str], *, oob: bool = False) -> SafeString:
    """The `<svg id="run-states">` laid over the drawing; `oob` marks it as an out-of-band swap."""
    swap = ' hx-swap-oob="true"' if oob else ""
    width, height = coordinate(drawing.width), coordinate(drawing.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="run-states" class="run-states"{swap} '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="State of each node">'
    ]
    for box in drawing.nodes:
        state = shown_state(run, recorded.get(box.id))
        parts.append(
            f'<g id="{node_dom_id(box.id)}" transform="translate({coordinate(box.x)},{coordinate(box.y)})">'
            f"{node_state(box.id, box.label, box.height, state)}</g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # node_state escapes every document string


def node_state(node_id: str, label: str, height: float, state: str) -> str:
    """The inside of a node's group in the state layer: an outline and the state's name."""
    shown = STATE_LABELS.get(state, state)
    pill_x = NODE_WIDTH - PILL_WIDTH - 6
    pill_y = height - PILL_HEIGHT - 6
    return (
        f'<g class="run-node state-{escape(state)}" data-testid="run-node" data-node-id="{escape(node_id)}" '
        f'data-state="{escape(state)}"><title>{escape(label or node_id)}: {escape(shown)}</title>'
        f'<rect class="run-veil" width="{NODE_WIDTH}" height="{coordinate(height)}" rx="8"/>'
        f'<rect class="run-outline" x="{-OUTLINE}" y="{-OUTLINE}" width="{NODE_WIDTH + 2 * OUTLINE}" '
        f'height="{coordinate(height + 2 * OUTLINE)}" rx="10"/>'
        f'<g class="run-pill" transform="translate({pill_x},{coordinate(pill_y)})">'
        f'<rect width="{PILL_WIDTH}" height="{PILL_HEIGHT}" rx="8"/>'
        f'<text x="{PILL_WIDTH // 2}" y="12" text-anchor="middle">{escape(shown)}</text></g></g>'
    )


def node_state_swap(run: Run, node_id: str, recorded: str | None) -> str:
    """A frame's part that redraws one node's state ("" for a node the drawing lacks).

    The live socket swaps top-level elements only, and an SVG group read outside an `<svg>`
    would not be SVG: the group's new inside travels in an `<svg>` whose children replace
    the group's (innerHTML)."""
    node = _node(run, node_id)
    if node is None:
        return ""
    label = node.get("label")
    label = label if isinstance(label, str) else ""
    height = box_height(label_lines(label or node_id))
    inside = node_state(node_id, label, height, shown_state(run, recorded))
    swap = f"innerHTML:#{node_dom_id(node_id)}"
    return f'<svg xmlns="http://www.w3.org/2000/svg" hx-swap-oob="{swap}">{inside}</svg>'


def state_layer_swap(run: Run, recorded: Mapping[str, str]) -> str:
    """A frame's part that redraws every node's state (when the run ends: the skipped ones)."""
    return str(state_layer(run, layout(_document(run)), recorded, oob=True))


def _node(run: Run, node_id: str) -> dict[str, Any] | None:
    nodes = _document(run).get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("id") == node_id:
            return node
    return None


def node_labels(run: Run) -> dict[str, str]:
    """Node id -> label (the id when it has none), of the run's document."""
    labels: dict[str, str] = {}
    nodes = _document(run).get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and isinstance(node.get("id"), str) and node["id"] not in labels:
            label = node.get("label")
            labels[node["id"]] = label if isinstance(label, str) and label else node["id"]
    return labels
